// cli-prefill.js — `ringlm prefill`: run a prompt once and save the session to a state file, which
// `ringlm --state FILE`, lm.restoreState() and the other builds continue from.

import { writeFileSync } from 'node:fs';
import { RingLM } from '../ringlm.js';
import { generateOptionSchema } from './options.js';
import { DEFAULT_MODEL, UsageError, parseArgs } from './cli-common.js';

/** ringlm prefill: run a prompt into the cache and save the session (RingLM.saveState) to a file. */
export async function prefillCommand(argv, Module) {
  const args = parseArgs(argv.filter((a, i) => !(a === '-o' || argv[i - 1] === '-o')), Module, generateOptionSchema(Module));
  const out = argv[argv.indexOf('-o') + 1];
  if (!argv.includes('-o') || !out) throw new UsageError('prefill needs -o STATE (the file to write)');
  const { model = DEFAULT_MODEL, file, contextSize = 0, addBos, help, ...rest } = args;
  if (help) {
    process.stdout.write('usage: ringlm prefill -m MODEL (-p TEXT | -f FILE) -o STATE [--ctx N] [--no-bos]\n');
    return 0;
  }
  const extra = Object.keys(rest).filter((k) => k !== 'prompt' && !(k === 'stop' && rest.stop.length === 0));
  if (extra.length) throw new UsageError(`prefill takes -m, -p/-f, -o, --ctx and --no-bos (not ${extra.join(', ')})`);
  const prompt = file ? (await import('node:fs')).readFileSync(file, 'utf8') : rest.prompt;
  if (!prompt) throw new UsageError('prefill needs a prompt: -p TEXT or -f FILE');
  const lm = await RingLM.load(model, { contextSize, cache: /^https?:/i.test(model) });
  try {
    const ids = lm.tokenize(prompt, addBos === undefined ? {} : { addBos });
    lm.prefill(ids);
    const state = lm.saveState();
    writeFileSync(out, state);
    process.stderr.write(`ringlm: ${ids.length} tokens run; state (${(state.length / 1e6).toFixed(1)} MB, context ${lm.info.contextSize}) written to ${out}\n`);
  } finally {
    lm.dispose();
  }
  return 0;
}
