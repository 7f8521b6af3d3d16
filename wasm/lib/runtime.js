// runtime.js — the wasm modules: which build a model runs in, how many threads it gets, and one instance of
// each build per JS realm, shared by every model loaded with it.
//
// Two builds of the same C++ ship in dist/: ringlm-mt.mjs shares each token's work among threads
// (Web Workers on SharedArrayBuffer memory), ringlm.mjs runs on one. Browsers give
// SharedArrayBuffer only to cross-origin-isolated pages (served with COOP/COEP headers), so a model
// loads into the threaded build there and in Node, and into the single-threaded one elsewhere.
// Both compute the same bits.

export const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

/** Most threads one model may use. Past a handful, a small model's loops are too short to share. */
const MAX_THREADS = 64;
const MAX_DEFAULT_THREADS = 8;

/** Whether this realm can run the threaded build. */
const threadsAvailable = () =>
  typeof SharedArrayBuffer === 'function' && (isNode || globalThis.crossOriginIsolated === true);

/** The default thread count: the cores this process may use, at most MAX_DEFAULT_THREADS. */
async function defaultThreads() {
  let cores = globalThis.navigator?.hardwareConcurrency;
  if (isNode) {
    const os = await import('node:os');
    cores = os.availableParallelism?.() ?? os.cpus().length;
  }
  return Math.max(1, Math.min(Number(cores) || 1, MAX_DEFAULT_THREADS));
}

/** The `threads` load option as a count the realm can run: 1 where threads are not available. */
export async function threadCount(threads) {
  if (threads === undefined) return threadsAvailable() ? defaultThreads() : 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`RingLM.load: threads must be an integer in [1, ${MAX_THREADS}] (got ${threads})`);
  }
  return threadsAvailable() ? threads : 1;
}

let singleModule = null;    // Promise<Module>
let threadedModule = null;  // Promise<{ Module, pool }>

/**
 * The module a model with `threads` threads runs in, and the thread pool it uses (null on one
 * thread). The threaded module starts its threads' Workers with itself, so their number is fixed
 * then: the first threaded load decides it (at least the default count); later loads get at most
 * that many.
 */
export async function getModule(threads) {
  if (threads <= 1) {
    singleModule ??= import('../../dist/ringlm.mjs').then((m) => m.default());
    return { Module: await singleModule, pool: null };
  }
  threadedModule ??= (async () => {
    const size = Math.max(threads, await defaultThreads());
    const { default: create } = await import('../../dist/ringlm-mt.mjs');
    const Module = await create({ ringlmWorkers: size - 1 });
    return { Module, pool: new Module.ThreadPool(size) };
  })();
  return threadedModule;
}

/** A module for what does not depend on the build (the options' schema): one already there, else the default. */
export async function anyModule() {
  if (!singleModule && !threadedModule) return (await getModule(await threadCount(undefined))).Module;
  const found = await (threadedModule ?? singleModule);
  return found.Module ?? found;
}

/** Memory of the builds in use (at first, the one a load with default options would use). */
export async function memoryUsage() {
  if (!singleModule && !threadedModule) await getModule(await threadCount(undefined));
  const usage = { heapBytesInUse: 0, memoryBytes: 0 };
  for (const promise of [singleModule, threadedModule]) {
    if (!promise) continue;
    const found = await promise;
    const M = found.Module ?? found;
    usage.heapBytesInUse += M.heapBytesInUse();
    usage.memoryBytes += M.HEAPU8.length;
  }
  return usage;
}

/** Resolves on a later turn of the event loop, so timers, messages and AbortSignals get to run. */
export const nextTurn = typeof setImmediate === 'function'
  ? () => new Promise((resolve) => setImmediate(resolve))
  : () => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
