// runtime.js — the wasm modules: which build a model runs in, how many threads it gets, and one instance of
// each build per JS realm, shared by every model loaded with it.
//
// Two builds of the same C++ ship in dist/: ringlm-mt.mjs shares each token's work among threads
// (Web Workers on SharedArrayBuffer memory), ringlm.mjs runs on one. Browsers give
// SharedArrayBuffer only to cross-origin-isolated pages (served with COOP/COEP headers), so a model
// loads into the threaded build there and in Node, and into the single-threaded one elsewhere.
// Both compute the same bits. The relaxed-SIMD builds, ringlm-relaxed.mjs and ringlm-relaxed-mt.mjs,
// are opt-in (the `simd: 'relaxed'` load option, picked between by threads as above): Q4_0's and the
// K-quants' decode kernels on relaxed SIMD's byte dot product, for engines that run relaxed SIMD;
// they compute the same bits too.

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
let relaxedModule = null;   // Promise<Module>
let relaxedThreadedModule = null;  // Promise<{ Module, pool }>

/** Whether this engine runs relaxed SIMD (Chromium; Node 20 only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported() {
  // (func (param v128 v128) (result v128) local.get 0 local.get 1 i16x8.relaxed_dot_i8x16_i7x16_s)
  return WebAssembly.validate(new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7b, 0x7b, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00, 0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0x92, 0x02, 0x0b,
  ]));
}

/** The `simd` load option checked against the engine: 'relaxed' (the relaxed-SIMD builds) or 'default'. */
export function simdBuild(simd) {
  if (simd === undefined || simd === 'default') return 'default';
  if (simd !== 'relaxed') {
    throw new TypeError(`RingLM.load: simd must be 'default' or 'relaxed' (got ${typeof simd === 'string' ? `'${simd}'` : String(simd)})`);
  }
  if (!relaxedSimdSupported()) {
    throw new Error("RingLM.load: simd: 'relaxed' needs a WebAssembly engine with relaxed SIMD, and this one cannot " +
      'validate it (Node 20: run node with --experimental-wasm-relaxed-simd); leave simd unset for the default build');
  }
  return 'relaxed';
}

/**
 * The module a model with `threads` threads and the `simd` build runs in, and the thread pool it
 * uses (null on one thread). A threaded module starts its threads' Workers with itself, so their
 * number is fixed then: the first threaded load of that build decides it (at least the default
 * count); later loads get at most that many. The threaded default and relaxed builds each have
 * their own Workers.
 */
export async function getModule(threads, simd = 'default') {
  // (Each import names its file whole, so that bundlers see every module the package may load.)
  if (simd === 'relaxed' && threads <= 1) {
    relaxedModule ??= import('../../dist/ringlm-relaxed.mjs').then((m) => m.default());
    return { Module: await relaxedModule, pool: null };
  }
  if (simd === 'relaxed') {
    relaxedThreadedModule ??= startThreaded(threads, import('../../dist/ringlm-relaxed-mt.mjs'));
    return relaxedThreadedModule;
  }
  if (threads <= 1) {
    singleModule ??= import('../../dist/ringlm.mjs').then((m) => m.default());
    return { Module: await singleModule, pool: null };
  }
  threadedModule ??= startThreaded(threads, import('../../dist/ringlm-mt.mjs'));
  return threadedModule;
}

/** A threaded build's module (its ES module being imported) with its Workers, and the pool over them. */
async function startThreaded(threads, imported) {
  const size = Math.max(threads, await defaultThreads());
  const { default: create } = await imported;
  const Module = await create({ ringlmWorkers: size - 1 });
  return { Module, pool: new Module.ThreadPool(size) };
}

/** A module for what does not depend on the build (the options' schema): one already there, else the default. */
export async function anyModule() {
  const found = await (threadedModule ?? singleModule ?? relaxedModule ?? relaxedThreadedModule);
  if (!found) return (await getModule(await threadCount(undefined))).Module;
  return found.Module ?? found;
}

/** Memory of the builds in use (at first, the one a load with default options would use). */
export async function memoryUsage() {
  if (!singleModule && !threadedModule && !relaxedModule && !relaxedThreadedModule) await getModule(await threadCount(undefined));
  const usage = { heapBytesInUse: 0, memoryBytes: 0 };
  for (const promise of [singleModule, threadedModule, relaxedModule, relaxedThreadedModule]) {
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
