// offline.js — registers the page's service worker (sw.js), which keeps copies of the page's files so that it
// opens and runs with no network; the models themselves are kept by the download cache. Then hands it the
// files this visit fetched before it was in control (the page's and its Web Worker's), so that even the first
// visit is enough to come back offline.

/**
 * Registers sw.js (scope '/' where the server allows it, else the page's folder) and, once it is active, has
 * it keep `moreUrls()` (a Promise of URLs) with what the page fetched. Resolves to the scope in use, or null
 * where there are no service workers (an insecure origin, some private windows).
 */
export async function keepPageOffline(moreUrls) {
  if (!('serviceWorker' in navigator)) return null;
  const script = new URL('./sw.js', import.meta.url);
  let registration;
  try {
    registration = await navigator.serviceWorker.register(script, { scope: '/', type: 'classic' });
  } catch {
    try {
      registration = await navigator.serviceWorker.register(script, { type: 'classic' });
    } catch {
      return null;
    }
  }
  const worker = (await navigator.serviceWorker.ready).active;
  const urls = new Set(performance.getEntriesByType('resource').map((entry) => entry.name));
  urls.add(location.href);
  for (const url of await moreUrls().catch(() => [])) urls.add(url);
  const kept = new Promise((resolve) => {
    const onMessage = (event) => {
      if (event.data?.type !== 'kept') return;
      navigator.serviceWorker.removeEventListener('message', onMessage);
      resolve();
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
  });
  worker.postMessage({ type: 'keep', urls: [...urls] });
  await kept;
  return registration.scope;
}
