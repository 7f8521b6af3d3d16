// Emscripten --pre-js: runs inside the module factory, after `Module` exists and before the runtime
// looks at its environment or loads the .wasm.
//
// Why: Emscripten 3.1.6's ES-module output (-sMODULARIZE -sEXPORT_ES6) still assumes CommonJS under
// Node (it calls `require` and reads `__dirname`) and locates the .wasm as a file: URL that Node's
// fetch() cannot load. Under Node this file supplies `require` and `__dirname` and hands the runtime
// the bytes of the .wasm that sits beside the .mjs. In a page or a Web Worker there is no `process`
// and it does nothing.
//
// Never write the ES-module meta property here (it breaks Emscripten's JS optimizer when
// MAXIMUM_MEMORY=4GB): `_scriptDir` already holds the module's URL.

var require, __dirname;

if (typeof process == 'object' && typeof process.versions == 'object' &&
    typeof process.versions.node == 'string' &&
    typeof _scriptDir == 'string' && _scriptDir.startsWith('file:')) {
  (function () {
    var scriptUrl = _scriptDir.replace(/[?#].*$/, '');
    var hasBuiltins = typeof process.getBuiltinModule == 'function';
    if (hasBuiltins) {
      require = process.getBuiltinModule('module').createRequire(scriptUrl);
      __dirname = require('path').dirname(require('url').fileURLToPath(scriptUrl));
    } else {
      // Node < 20.16 has no synchronous way to reach a builtin from an ES module. The runtime reads
      // `__dirname` at once but needs `require` only to read files, which the asynchronous
      // instantiateWasm below makes unnecessary.
      __dirname = decodeURIComponent(new URL('.', scriptUrl).pathname).replace(/\/$/, '');
      require = function (name) {
        throw new Error('require("' + name + '") needs Node >= 20.16 (process.getBuiltinModule)');
      };
    }

    if (Module['wasmBinary'] || Module['instantiateWasm']) return;

    // ringlm.mjs -> ringlm.wasm, beside it; a locateFile returning a path or a file: URL is
    // honoured, one returning an http(s) URL is left to the runtime's fetch().
    var wasmFile = new URL(scriptUrl.replace(/\.[cm]?js$/, '') + '.wasm');
    if (Module['locateFile']) {
      var wasmName = decodeURIComponent(wasmFile.pathname.replace(/^.*\//, ''));
      var located = String(Module['locateFile'](wasmName, __dirname + '/'));
      if (/^https?:/.test(located)) return;
      wasmFile = located.startsWith('file:') ? new URL(located) : located;
    }

    if (hasBuiltins) {
      Module['wasmBinary'] = require('fs').readFileSync(wasmFile);
      return;
    }
    Module['instantiateWasm'] = function (imports, receiveInstance) {
      import('node:fs')
        .then(function (fs) { return fs.promises.readFile(wasmFile); })
        .then(function (bytes) { return WebAssembly.instantiate(bytes, imports); })
        .then(function (result) { receiveInstance(result.instance, result.module); })
        .catch(readyPromiseReject);
      return {};
    };
  })();
}
