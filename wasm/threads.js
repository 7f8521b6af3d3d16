// Emscripten --post-js of the threaded builds (ringlm-mt.mjs and the threaded test programs).
//
// Why: each thread of the pool runs in a Web Worker that Emscripten starts with the module
// (-sPTHREAD_POOL_SIZE). Under Node a Worker keeps the process alive for as long as it exists,
// even while its thread sleeps waiting for work, so a program that loaded a model could never end
// by itself. Unreferenced Workers let Node exit once nothing else is pending; while the main thread
// computes, it is busy, so nothing is cut short. Browsers need nothing of this.

if (typeof ENVIRONMENT_IS_NODE != 'undefined' && ENVIRONMENT_IS_NODE && typeof PThread == 'object') {
  (function () {
    // Once the Worker has loaded the module: until then its messages are what the runtime waits
    // for, and an unreferenced Worker would let Node exit before the module is ready.
    var loadWasmModuleToWorker = PThread.loadWasmModuleToWorker;
    PThread.loadWasmModuleToWorker = function (worker, onFinishedLoading) {
      loadWasmModuleToWorker(worker, function (loaded) {
        if (typeof worker.unref == 'function') worker.unref();
        if (onFinishedLoading) onFinishedLoading(loaded);
      });
    };
  })();
}
