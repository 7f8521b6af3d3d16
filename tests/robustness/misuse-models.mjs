// The two models the misuse cases (tests/browser/misuse.mjs) run on: the same shapes and metadata, different
// weights, so that only the file's fingerprint tells a snapshot of one from the other. Written into
// build/models/, which the dev server serves to the browsers.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeRandomLlama } from '../../tools/gguf/random-llama.mjs';

const SHAPE = { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 512, type: 'Q8_0' };

/** Writes them under `root`; returns their file paths and their URL paths on the dev server. */
export function writeMisuseModels(root) {
  mkdirSync(path.join(root, 'build/models'), { recursive: true });
  const write = (name, seed) => {
    // Written aside, then renamed: test files running at once may write it while another reads it.
    const file = path.join(root, 'build/models', name);
    writeFileSync(`${file}.${process.pid}.tmp`, makeRandomLlama({ ...SHAPE, seed }).toBuffer());
    renameSync(`${file}.${process.pid}.tmp`, file);
    return { file, url: `/build/models/${name}` };
  };
  const model = write('misuse-a.gguf', 9);
  const twin = write('misuse-b.gguf', 12);
  return { files: { model: model.file, twin: twin.file }, urls: { model: model.url, twin: twin.url } };
}
