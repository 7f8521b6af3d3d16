// cache.js — model files downloaded once and kept on this machine: loads that work offline, downloads that
// resume where a dropped connection left them, sizes and checksums verified.
//
// Where: in a browser, the origin private file system (OPFS, `navigator.storage.getDirectory()`), folder
// `ringlm-models`. OPFS over Cache Storage because a download must be resumable (a Cache Storage entry is
// one whole Response: nothing can be appended to it) and because both write and read stream, so a 2 GB file
// is never held whole in JS memory. In Node, a folder: $RINGLM_CACHE_DIR, else $XDG_CACHE_HOME/ringlm/models,
// else ~/.cache/ringlm/models.
//
// Each entry is two files named from the URL: `<key>.gguf` (the bytes, possibly a prefix of them) and
// `<key>.json` ({url, size, etag, lastModified, sha256, complete, storedAt}). A download writes the JSON
// first, so an interrupted one leaves a prefix and what is needed to resume it: the next attempt asks for
// the rest with an HTTP Range request guarded by If-Range (the server's ETag or Last-Modified), and starts
// over if the file changed meanwhile. A stored file is checked with one HEAD request when the network is
// there (a changed ETag or size downloads it again); without network the stored copy is used as it is.

import { isNode } from './runtime.js';
import { Sha256, sha256Hasher } from './sha256.js';

const RETRIES = 3;  // automatic resumptions of one download after the connection drops

// ---------------------------------------------------------------------------------------------------
// Stores: the same small interface over a folder (Node) and over OPFS (browsers).

class NodeStore {
  #dir;
  constructor(dir) { this.#dir = dir; }
  get where() { return this.#dir; }

  async #fs() {
    const fs = await import('node:fs/promises');
    await fs.mkdir(this.#dir, { recursive: true });
    return fs;
  }
  async #path(name) { return (await import('node:path')).join(this.#dir, name); }

  async names() {
    const fs = await this.#fs();
    return fs.readdir(this.#dir);
  }
  async readText(name) {
    const fs = await this.#fs();
    return fs.readFile(await this.#path(name), 'utf8').catch(() => null);
  }
  async writeText(name, text) {  // whole or not at all: write aside, then rename
    const fs = await this.#fs();
    const file = await this.#path(name);
    await fs.writeFile(`${file}.tmp`, text);
    await fs.rename(`${file}.tmp`, file);
  }
  async size(name) {
    const fs = await this.#fs();
    return (await fs.stat(await this.#path(name)).catch(() => null))?.size ?? 0;
  }
  async remove(name) {
    const fs = await this.#fs();
    await fs.rm(await this.#path(name), { force: true });
  }
  /** A writer of the bytes from `offset` on (what lies beyond is cut). */
  async writer(name, offset) {
    const fs = await this.#fs();
    const handle = await fs.open(await this.#path(name), offset > 0 ? 'r+' : 'w');
    await handle.truncate(offset);
    let at = offset;
    return {
      write: async (chunk) => {
        for (let done = 0; done < chunk.length;) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, at);
          done += bytesWritten;
          at += bytesWritten;
        }
      },
      close: () => handle.close(),
    };
  }
  /** The chunks of the first `size` bytes (to hash a stored prefix). */
  async *read(name, size) {
    const { createReadStream } = await import('node:fs');
    if (size === 0) return;
    yield* createReadStream(await this.#path(name), { start: 0, end: size - 1 });
  }
  /** What RingLM.load reads the stored file from: its path. */
  async source(name) { return this.#path(name); }
}

class OpfsStore {
  #dir = null;
  get where() { return 'the origin private file system, folder ringlm-models'; }

  async #folder() {
    this.#dir ??= await (await navigator.storage.getDirectory()).getDirectoryHandle('ringlm-models', { create: true });
    return this.#dir;
  }
  async #file(name, create = false) {
    return (await this.#folder()).getFileHandle(name, { create }).catch((e) => {
      if (!create && e.name === 'NotFoundError') return null;
      throw e;
    });
  }

  async names() {
    const names = [];
    for await (const name of (await this.#folder()).keys()) names.push(name);
    return names;
  }
  async readText(name) {
    const handle = await this.#file(name);
    return handle ? (await handle.getFile()).text() : null;
  }
  async writeText(name, text) {
    const writable = await (await this.#file(name, true)).createWritable();
    await writable.write(text);
    await writable.close();  // OPFS commits a writable's data whole, on close
  }
  async size(name) {
    const handle = await this.#file(name);
    return handle ? (await handle.getFile()).size : 0;
  }
  async remove(name) {
    await (await this.#folder()).removeEntry(name).catch((e) => {
      if (e.name !== 'NotFoundError') throw e;
    });
  }
  async writer(name, offset) {
    // keepExistingData copies the prefix into the writable's scratch file once; the bytes written reach the
    // file when close() commits them, which the download does on success and on failure alike.
    const writable = await (await this.#file(name, true)).createWritable({ keepExistingData: offset > 0 });
    await writable.truncate(offset);
    await writable.seek(offset);
    return { write: (chunk) => writable.write(chunk), close: () => writable.close() };
  }
  async *read(name, size) {
    const handle = await this.#file(name);
    if (!handle || size === 0) return;
    const reader = (await handle.getFile()).slice(0, size).stream().getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  /** What RingLM.load reads the stored file from: a File (a Blob, streamed, never read whole). */
  async source(name) { return (await this.#file(name)).getFile(); }
}

let defaultStore = null;

/** This realm's store, or null where there is none (no OPFS: an opaque origin, some private windows). */
async function storeHere() {
  if (defaultStore) return defaultStore;
  if (isNode) {
    const path = await import('node:path');
    const os = await import('node:os');
    const dir = process.env.RINGLM_CACHE_DIR ||
      path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'ringlm', 'models');
    defaultStore = new NodeStore(dir);
  } else if (globalThis.navigator?.storage?.getDirectory) {
    try {
      const store = new OpfsStore();
      await store.names();  // throws where OPFS is there but not usable
      defaultStore = store;
    } catch {
      return null;
    }
  }
  return defaultStore;
}

// ---------------------------------------------------------------------------------------------------
// Entries.

/** A file name for a URL: a hash of the whole URL (unique) and its last path segment (readable). */
function keyOf(url) {
  const hash = new Sha256().update(new TextEncoder().encode(url)).hex().slice(0, 16);
  const base = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'model')
    .replace(/\.gguf$/i, '').replace(/[^\w.-]+/g, '_').slice(0, 60);
  return `${hash}-${base}`;
}

async function readMeta(store, key) {
  const text = await store.readText(`${key}.json`);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;  // a torn entry: treated as absent and replaced
  }
}

async function hashStored(store, key, size) {
  const h = await sha256Hasher();
  for await (const chunk of store.read(`${key}.gguf`, size)) h.update(chunk);
  return h.hex();
}

const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** What a HEAD request says of the file now, or null without network (or a server that refuses HEAD). */
async function probe(url, signal) {
  let response;
  try {
    response = await fetch(url, { method: 'HEAD', signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    return null;
  }
  if (!response.ok) return { status: response.status };
  const length = Number(response.headers.get('content-length'));
  return {
    status: response.status,
    size: response.headers.get('content-encoding') || !(length >= 0) ? null : length,
    etag: response.headers.get('etag'),
    lastModified: response.headers.get('last-modified'),
  };
}

/** One download attempt into the store, from where the stored prefix ends; returns the finished meta. */
async function downloadOnce(store, key, url, { sha256, onProgress, signal }) {
  const previous = await readMeta(store, key);
  let have = 0;
  const validator = previous?.etag ?? previous?.lastModified;
  if (previous && !previous.complete && previous.url === url && validator) have = await store.size(`${key}.gguf`);
  const headers = have > 0 ? { Range: `bytes=${have}-`, 'If-Range': validator } : {};
  let response;
  try {
    response = await fetch(url, { headers, signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new Error(`RingLM.load: fetching ${url} failed (${e.message}); it is not in the cache${have > 0 ? ' whole' : ''}`, { cause: e });
  }
  let total;
  if (response.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {  // not the part asked for: start over
      await response.body?.cancel();
      await store.remove(`${key}.json`);
      return downloadOnce(store, key, url, { sha256, onProgress, signal });
    }
    total = Number(m[3]);
  } else if (response.ok) {
    have = 0;  // the whole file (the server ignored the range, or the file changed)
    const length = Number(response.headers.get('content-length'));
    total = response.headers.get('content-encoding') || !(length >= 0) ? null : length;
  } else {
    await response.body?.cancel();
    throw new Error(`RingLM.load: fetching ${url} failed: HTTP ${response.status}`);
  }
  const meta = {
    url, size: total, etag: response.headers.get('etag'), lastModified: response.headers.get('last-modified'),
    sha256: null, complete: false, storedAt: new Date().toISOString(),
  };
  await store.writeText(`${key}.json`, JSON.stringify(meta));

  const hash = sha256 ? await sha256Hasher() : null;
  if (hash && have > 0) for await (const chunk of store.read(`${key}.gguf`, have)) hash.update(chunk);
  const writer = await store.writer(`${key}.gguf`, have);
  let loaded = have;
  const reader = response.body.getReader();
  try {
    onProgress?.({ phase: 'download', loaded, total: total ?? 0 });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await writer.write(value);
      hash?.update(value);
      loaded += value.length;
      if (total !== null && loaded > total) throw new Error(`RingLM.load: ${url} is larger than its announced ${total} bytes`);
      onProgress?.({ phase: 'download', loaded, total: total ?? 0 });
    }
  } catch (e) {
    throw Object.assign(new Error(`RingLM.load: downloading ${url} stopped after ${loaded} of ${total ?? '?'} bytes: ${e.message}`,
      { cause: e }), { resumable: !signal?.aborted && !(e instanceof Error && e.message.startsWith('RingLM.load')), loaded });
  } finally {
    await writer.close();  // keep what arrived: the next attempt resumes after it
  }
  if (total !== null && loaded !== total) {
    throw Object.assign(new Error(`RingLM.load: downloading ${url} stopped after ${loaded} of ${total} bytes`), { resumable: true, loaded });
  }
  if (sha256) {
    const got = hash.hex();
    if (got !== sha256) {
      await removeEntry(store, key);
      throw new Error(`RingLM.load: ${url} has SHA-256 ${got}, not the ${sha256} asked for (the download was discarded)`);
    }
  }
  Object.assign(meta, { size: loaded, sha256: sha256 ?? null, complete: true, storedAt: new Date().toISOString() });
  await store.writeText(`${key}.json`, JSON.stringify(meta));
  return meta;
}

async function removeEntry(store, key) {
  await store.remove(`${key}.json`);
  await store.remove(`${key}.gguf`);
}

/**
 * The stored copy of `url`, downloaded first if it is not stored (or changed on the server, or is only partly
 * there): what RingLM.load reads instead of the URL (a path in Node, a File in a browser). Null when this
 * realm has no store. `limit`: bytes the file may have at most (checked from a HEAD request before anything
 * is downloaded). `sha256`: 64 hex digits the file must hash to.
 */
export async function cachedSource(url, { sha256, limit, onProgress, signal } = {}) {
  const store = await storeHere();
  if (!store) return null;
  sha256 = sha256?.toLowerCase();  // checked to be 64 hex digits by RingLM.load
  const key = keyOf(url);
  const stored = await readMeta(store, key);
  const now = await probe(url, signal);
  if (now?.size != null && limit && now.size > limit) {
    throw new Error(`RingLM.load: ${url} is ${mib(now.size)}, more than the memory limit of ${mib(limit)}: ` +
      'it was not downloaded (a smaller quantization of the model, or a larger memoryLimit, would fit)');
  }
  if (stored?.complete && stored.url === url && (await store.size(`${key}.gguf`)) === stored.size) {
    const changed = now?.status >= 200 && now.status < 300 &&
      ((now.size != null && now.size !== stored.size) || (now.etag && stored.etag && now.etag !== stored.etag));
    let intact = true;
    if (sha256 && stored.sha256 !== sha256) {
      const got = await hashStored(store, key, stored.size);
      intact = got === sha256;
      if (intact) await store.writeText(`${key}.json`, JSON.stringify({ ...stored, sha256 }));
      // The copy still hashes to what it was checked against when stored, and the server has not changed it: the
      // hash asked for is what is wrong, and fetching the same bytes again would only lose a good copy.
      else if (!changed && stored.sha256 && got === stored.sha256) {
        throw new Error(`RingLM.load: the cached copy of ${url} has SHA-256 ${got}, not the ${sha256} asked for; ` +
          'it was verified when stored and the server has not changed it, so it was kept (check the hash, or remove ' +
          'the copy with RingLM.cache.delete(url))');
      }
    }
    if (!changed && intact) return store.source(`${key}.gguf`);
    await removeEntry(store, key);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await downloadOnce(store, key, url, { sha256, onProgress, signal });
      return store.source(`${key}.gguf`);
    } catch (e) {
      if (!e.resumable || attempt >= RETRIES) throw e;
    }
  }
}

/** Whether a whole, finished copy of `url` is stored (what cachedSource then reads, after a HEAD check). */
export async function isStored(url) {
  const store = await storeHere();
  if (!store) return false;
  const key = keyOf(url);
  const meta = await readMeta(store, key);
  return Boolean(meta?.complete && meta.url === url && (await store.size(`${key}.gguf`)) === meta.size);
}

/** RingLM.cache: what is stored, and removing it. */
export const modelCache = Object.freeze({
  /** Where the files are kept (a folder in Node; OPFS in a browser), or null where nothing can be. */
  async location() {
    return (await storeHere())?.where ?? null;
  },
  /** Every stored entry: {url, size (bytes stored), complete, sha256, storedAt}. */
  async list() {
    const store = await storeHere();
    if (!store) return [];
    const entries = [];
    for (const name of await store.names()) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -'.json'.length);
      const meta = await readMeta(store, key);
      if (!meta) continue;
      entries.push({ url: meta.url, size: await store.size(`${key}.gguf`), expectedSize: meta.size, complete: meta.complete,
        sha256: meta.sha256, storedAt: meta.storedAt });
    }
    return entries.sort((a, b) => a.url.localeCompare(b.url));
  },
  /** Remove the stored copy of `url` (finished or partial); true if there was one. */
  async delete(url) {
    const store = await storeHere();
    if (!store) return false;
    const key = keyOf(String(url instanceof URL ? url.href : url));
    const there = (await readMeta(store, key)) !== null || (await store.size(`${key}.gguf`)) > 0;
    await removeEntry(store, key);
    return there;
  },
  /** Remove every stored model; returns how many entries and bytes were freed. */
  async clear() {
    const store = await storeHere();
    if (!store) return { entries: 0, bytes: 0 };
    let entries = 0, bytes = 0;
    for (const name of await store.names()) {
      if (name.endsWith('.gguf')) bytes += await store.size(name);
      if (name.endsWith('.json')) entries++;
      await store.remove(name);
    }
    return { entries, bytes };
  },
});
