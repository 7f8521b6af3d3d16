// sw.js — the page's service worker: it keeps a copy of the page's own files (HTML, JS, CSS, the wasm
// modules) so that the page opens, and runs the built-in model or any model in the download cache, with no
// network at all. Models are not its business: .gguf files go straight to the network and into the download
// cache (wasm/lib/cache.js, OPFS), which resumes downloads and checks sizes; this worker never sees them.
//
// Network first: while the server answers, the page gets the files it serves (a new version shows at once)
// and the copies are refreshed; only when a fetch fails (offline, the server down) is the copy used. A
// response the server refuses (404) is passed on as it is, never masked by an old copy.
//
// Scope: '/' where the server allows it (tools/serve.mjs sends Service-Worker-Allowed: /), so that the
// threaded build's own workers (/dist/ringlm-mt.worker.js) are covered too; else '/web/' (offline.js).
// The files the page fetched before this worker was there are handed to it once ('keep', offline.js).

const CACHE = 'ringlm-page-v1';

// No clients.claim(): the visit that installs this worker runs without it (the files it fetched are handed over
// with 'keep'); pages opened from then on are its clients from their start. (Claiming a running page's Web
// Workers, the threaded build's among them, made Firefox hang the page's next navigation.)
self.addEventListener('install', () => self.skipWaiting());

/** The cache key: the URL without its query (?test-hooks and the like name the same file). */
const keyOf = (url) => {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  return u.href;
};

/** Whether this worker handles `request`: same-origin GETs of the page's files, whole (no Range). */
function handles(request) {
  const url = new URL(request.url);
  return request.method === 'GET' && url.origin === self.location.origin && !url.pathname.endsWith('.gguf') &&
    !request.headers.has('range');
}

async function keepCopy(key, response) {
  if (response.status !== 200 || response.type !== 'basic') return;
  const cache = await caches.open(CACHE);
  await cache.put(key, response);
}

/** The server's answer, or when there is none the copy. The copy is refreshed after the answer is on its way. */
async function networkFirst(event) {
  const key = keyOf(event.request.url);
  let response;
  try {
    response = await fetch(event.request);
  } catch (error) {
    const copy = await caches.match(key, { cacheName: CACHE });
    if (copy) return copy;
    throw error;
  }
  event.waitUntil(keepCopy(key, response.clone()).catch(() => {}));  // a full quota costs the copy, not the page
  return response;
}

self.addEventListener('fetch', (event) => {
  if (handles(event.request)) event.respondWith(networkFirst(event));
});

// { type: 'keep', urls }: copies of files fetched before this worker controlled the page.
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'keep') return;
  const urls = event.data.urls.filter((url) => handles(new Request(url)));
  event.waitUntil(Promise.all(urls.map(async (url) => {
    try {
      await keepCopy(keyOf(url), await fetch(url, { cache: 'no-store' }));
    } catch {
      // Gone or offline: kept the next time the page fetches it.
    }
  })).then(() => event.source?.postMessage({ type: 'kept', urls: urls.length })));
});
