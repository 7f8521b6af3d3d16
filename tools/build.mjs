#!/usr/bin/env node
// Builds ringlm three times from the same sources (`npm run build`):
//
//   native  : cmake -S . -B build/native -G Ninja           -> ringlm-cli, native GoogleTest tests
//   wasm    : emcmake cmake -S . -B build/wasm -G Ninja     -> build/wasm/ringlm.{mjs,wasm}, tests under Node;
//                                                              with it (CMake option RINGLM_RELAXED_SIMD, on by
//                                                              default) ringlm-relaxed.{mjs,wasm}, the opt-in
//                                                              relaxed-SIMD module (load option simd: 'relaxed')
//   wasm-mt : emcmake cmake ... -B build/wasm-mt -DRINGLM_THREADS=ON
//                                                           -> build/wasm-mt/ringlm-mt.{mjs,wasm,worker.js},
//                                                              the thread tests under Node; with it
//                                                              ringlm-relaxed-mt.{mjs,wasm,worker.js}, the
//                                                              relaxed-SIMD module with threads
//
// then copies both wasm modules into dist/, which is what the npm package ships and what
// wasm/ringlm.js imports (the threaded one where SharedArrayBuffer exists), with the Jinja engine
// for chat templates (@huggingface/jinja, one ES module with no imports) beside them as
// dist/jinja.mjs: a relative import that resolves the same in Node, a page and a Web Worker, with no
// bundler, import map or node_modules to serve. Incremental: a build directory is configured only
// when it has no build.ninja yet (after that, Ninja re-runs CMake itself when a CMakeLists.txt
// changes).
//
//   node tools/build.mjs [--native-only | --wasm-only] [--jobs N]

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WASM_BUILDS = [
  { dir: 'build/wasm', cmake: [], files: ['ringlm.mjs', 'ringlm.wasm', 'ringlm-relaxed.mjs', 'ringlm-relaxed.wasm'] },
  { dir: 'build/wasm-mt', cmake: ['-DRINGLM_THREADS=ON'], files: ['ringlm-mt.mjs', 'ringlm-mt.wasm', 'ringlm-mt.worker.js',
    'ringlm-relaxed-mt.mjs', 'ringlm-relaxed-mt.wasm', 'ringlm-relaxed-mt.worker.js'] },
];

class BuildError extends Error {}

function parseArgs(argv) {
  const options = { native: true, wasm: true, jobs: 2 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--native-only') options.wasm = false;
    else if (arg === '--wasm-only') options.native = false;
    else if (arg === '--jobs' || arg === '-j') options.jobs = Number(argv[++i]);
    else if (arg.startsWith('--jobs=')) options.jobs = Number(arg.slice('--jobs='.length));
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node tools/build.mjs [--native-only | --wasm-only] [--jobs N]');
      process.exit(0);
    } else throw new BuildError(`unknown argument: ${arg}`);
  }
  if (!options.native && !options.wasm) throw new BuildError('--native-only and --wasm-only exclude each other');
  if (!Number.isInteger(options.jobs) || options.jobs < 1) throw new BuildError('--jobs needs a positive integer');
  return options;
}

function run(command, args, { env } = {}) {
  console.log(`build: $ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error?.code === 'ENOENT') {
    throw new BuildError(`${command} not found: run \`npm run setup\` (tools/setup.sh) first`);
  }
  if (result.error) throw new BuildError(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.status}`;
    throw new BuildError(`${command} ${args[0] ?? ''} ${how}`);
  }
}

function configureOnce(buildDir, configure) {
  if (existsSync(path.join(ROOT, buildDir, 'build.ninja'))) return;
  configure();
}

function buildNative({ jobs }) {
  const dir = 'build/native';
  configureOnce(dir, () =>
    run('cmake', ['-S', '.', '-B', dir, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release']));
  run('cmake', ['--build', dir, '-j', String(jobs)]);
}

function buildWasm({ jobs }, { dir, cmake, files }) {
  // Debian's em++ runs its JS passes with Node, which finds acorn & co. only through NODE_PATH.
  const nodePath = ['/usr/share/nodejs', process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  const env = { NODE_PATH: nodePath };
  configureOnce(dir, () =>
    run('emcmake', [
      'cmake', '-S', '.', '-B', dir, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', ...cmake,
      // Emscripten's default test emulator passes a flag Node 20 rejects; Node's fetch() cannot
      // read file paths, so the test programs must use the fs fallback.
      `-DCMAKE_CROSSCOMPILING_EMULATOR=${process.execPath};--no-experimental-fetch`,
    ], { env }));
  // The repository's package.json says "type": "module", which would make Node load the test
  // programs Emscripten emits as *.js (CommonJS) as ES modules. This marker scopes that away.
  writeIfChanged(path.join(ROOT, dir, 'package.json'), '{ "type": "commonjs" }\n');
  run('cmake', ['--build', dir, '-j', String(jobs)], { env });

  mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
  for (const name of files) {
    const from = path.join(ROOT, dir, name);
    if (!existsSync(from)) throw new BuildError(`the wasm build did not produce ${path.relative(ROOT, from)}`);
    copyFileSync(from, path.join(ROOT, 'dist', name));
  }
  // The threads' Web Worker script (*.worker.js) is CommonJS under Node, as the test programs are.
  writeIfChanged(path.join(ROOT, 'dist', 'package.json'), '{ "type": "commonjs" }\n');
  console.log(`build: dist/ <- ${files.map((name) => `${dir}/${name}`).join(', ')}`);
  copyJinja();
}

/** dist/jinja.mjs: @huggingface/jinja's ES module build, under its license notice (MIT asks for it in copies). */
function copyJinja() {
  const require = createRequire(import.meta.url);
  let main;
  try {
    main = require.resolve('@huggingface/jinja');  // <package>/dist/index.cjs (its exports hide package.json)
  } catch {
    throw new BuildError('@huggingface/jinja is not installed: run npm ci');
  }
  const packageDir = path.dirname(path.dirname(main));
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const license = readFileSync(path.join(packageDir, 'LICENSE'), 'utf8').trim();
  const code = readFileSync(path.join(packageDir, 'dist', 'index.js'), 'utf8');
  writeIfChanged(path.join(ROOT, 'dist', 'jinja.mjs'), `/*! @huggingface/jinja ${version}\n\n${license}\n*/\n${code}`);
  console.log(`build: dist/jinja.mjs <- @huggingface/jinja ${version}`);
}

function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

try {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  if (options.native) buildNative(options);
  if (options.wasm) for (const variant of WASM_BUILDS) buildWasm(options, variant);
  const what = [options.native && 'native', options.wasm && 'wasm'].filter(Boolean).join(' + ');
  console.log(`build: ${what} ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  if (!(error instanceof BuildError)) throw error;
  console.error(`build: error: ${error.message}`);
  process.exit(1);
}
