// Run by tests/relaxed-simd.test.mjs in a Node started with --experimental-wasm-relaxed-simd: the
// default build's and the relaxed-SIMD build's logits on the model files named on the command line
// (tests/browser/relaxed-simd.mjs), printed as JSON lines: first whether this Node validates
// dist/ringlm-relaxed.wasm, then one line per model.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingLM } from '../../wasm/ringlm.js';
import { compareBuilds } from '../browser/relaxed-simd.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const files = process.argv.slice(2);

// The file the relaxed build loads holds relaxed-SIMD instructions: this Node validates it (with
// the flag) where a Node without the flag does not (the test checks that side).
console.log(JSON.stringify({ validates: WebAssembly.validate(readFileSync(path.join(ROOT, 'dist/ringlm-relaxed.wasm'))) }));
const results = await compareBuilds(RingLM, files);
results.forEach((result, i) => console.log(JSON.stringify({ file: path.basename(files[i]), ...result })));
