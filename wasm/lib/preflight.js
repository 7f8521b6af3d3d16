// preflight.js — before a model is downloaded, whether it can be loaded at all: the first bytes of each file
// (an HTTP Range request, grown until the GGUF header is all there) go to the core's preflight
// (src/model/preflight.h), which reads them with the loader's own code and sizes the load with the engine's
// own budget rule: file + KV ring at the context asked for (or the one it would pick) + scratch. A model that
// cannot fit, or a file the loader would refuse, is refused before its body is fetched, with what would fit.
// A server that ignores Range requests gives the size alone (Content-Length): then only the file's size is
// held to the limit, as a HEAD request would.

const FIRST_BYTES = 1 << 20;  // most headers fit; one with a large vocabulary takes a round or two more

const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * The first `bytes` bytes of `url` and the file's size: { head: Uint8Array, size }; { size } (size may be
 * null) when the server sent the whole file instead (no Range support: its body is not read); null when the
 * request fails, which the download itself will then report.
 */
async function firstBytes(url, bytes, signal) {
  let response;
  try {
    response = await fetch(url, { headers: { Range: `bytes=0-${bytes - 1}` }, signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    return null;
  }
  if (response.status === 206) {
    const m = /^bytes 0-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
    if (m) {
      let head;
      try {
        head = new Uint8Array(await response.arrayBuffer());
      } catch (e) {
        if (signal?.aborted) throw e;
        return null;  // cut short: the download will say what is wrong, if anything still is
      }
      if (head.length === Number(m[1]) + 1) return { head, size: Number(m[2]) };
    } else {
      await response.body?.cancel();
    }
    return { size: null };
  }
  await response.body?.cancel();
  if (!response.ok) return null;
  const length = Number(response.headers.get('content-length'));
  return { size: response.headers.get('content-encoding') || !(length >= 0) ? null : length };
}

/**
 * Throws, before anything is downloaded, if the model at `urls` (one file, or a split file's parts in order)
 * cannot be loaded with these options (those of RingLM.load; `limit`: memoryLimit or its default, in bytes).
 * Returns the core's verdict ({ contextSize, contextLimitedBy, totalBytes, ... }), or undefined when the headers
 * could not be read (no answer, no Range support).
 */
export async function checkBeforeDownload(Module, urls, { contextSize, memoryLimit, limit, pool, threads, signal }) {
  const parts = [];
  for (const url of urls) {
    const got = await firstBytes(url, FIRST_BYTES, signal);
    if (!got) return;  // no answer: the download says why
    parts.push({ url, ...got });
  }
  if (parts.some((p) => !p.head)) {
    // No Range support somewhere: the sizes alone, against the limit.
    if (parts.some((p) => p.size === null)) return;
    const size = parts.reduce((sum, p) => sum + p.size, 0);
    if (size > limit) {
      throw new Error(`RingLM.load: ${urls[0]} is ${mib(size)}, more than the memory limit of ${mib(limit)}: ` +
        'it was not downloaded (a smaller quantization of the model, or a larger memoryLimit, would fit)');
    }
    return;
  }
  for (;;) {
    const verdict = withHeaders(Module, parts, (headers) => Module.preflight(headers, contextSize, memoryLimit, pool, threads));
    if (verdict.error) {
      throw new Error(`RingLM.load: ${urls[0]}: ${verdict.error} (read from the file's first bytes: nothing was downloaded)`);
    }
    if (verdict.needPart === undefined) return verdict;
    const part = parts[verdict.needPart];
    const got = await firstBytes(part.url, verdict.needBytes, signal);
    if (!got?.head || got.size !== part.size) return;  // the server changed its mind: leave it to the download
    part.head = got.head;
  }
}

/** Copy each part's first bytes into wasm memory for one call: use([[address, bytes, file size, name], ...]). */
function withHeaders(Module, parts, use) {
  const placed = [];
  try {
    for (const p of parts) {
      const ptr = Module._malloc(Math.max(8, p.head.length)) >>> 0;
      if (ptr === 0) throw new Error(`RingLM.load: cannot allocate ${p.head.length} bytes in wasm memory`);
      placed.push([ptr, p.head.length, p.size, p.url]);
      Module.HEAPU8.set(p.head, ptr);  // HEAPU8 read after _malloc, which may have grown the memory
    }
    return use(placed);
  } finally {
    for (const [ptr] of placed) Module._free(ptr);
  }
}
