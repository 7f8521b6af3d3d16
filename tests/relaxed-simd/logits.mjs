// Run by tests/relaxed-simd.test.mjs in a Node started with --experimental-wasm-relaxed-simd: the
// default build's and the relaxed-SIMD build's logits on the model files named on the command line
// (tests/browser/relaxed-simd.mjs), on one thread or, after --threads N, on N, printed as JSON lines:
// first whether this Node validates dist/ringlm-relaxed.wasm and dist/ringlm-relaxed-mt.wasm, then
// one line per model.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingLM } from '../../wasm/ringlm.js';
import { compareBuilds } from '../browser/relaxed-simd.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const threads = args[0] === '--threads' ? Number(args[1]) : 1;
const files = args[0] === '--threads' ? args.slice(2) : args;

// The file the relaxed build loads holds relaxed-SIMD instructions: this Node validates it (with
// the flag) where a Node without the flag does not (the test checks that side).
const validates = (file) => WebAssembly.validate(readFileSync(path.join(ROOT, 'dist', file)));
console.log(JSON.stringify({ validates: validates('ringlm-relaxed.wasm'), validatesThreaded: validates('ringlm-relaxed-mt.wasm') }));
const results = await compareBuilds(RingLM, files, { threads });
results.forEach((result, i) => console.log(JSON.stringify({ file: path.basename(files[i]), ...result })));
