// cli-score.js — `ringlm score` (issue 17): each token's log-probability given the ones before it, their sum
// and the perplexity, as a table or as JSON.

import { existsSync, readFileSync } from 'node:fs';
import { RingLM } from '../ringlm.js';
import { shown } from './cli-logprobs.js';
import { DEFAULT_MODEL, SIMD_HELP, UsageError, parseCommandFlags, simdOption } from './cli-common.js';

const SCORE_FLAGS = {
  '-m': ['model', 'string'], '--model': ['model', 'string'], '-p': ['prompt', 'string'], '--prompt': ['prompt', 'string'],
  '-f': ['file', 'string'], '--file': ['file', 'string'], '--ctx': ['contextSize', 'non-negative'],
  '--stride': ['stride', 'positive'], '--no-bos': ['noBos', 'yes'], '--json': ['json', 'yes'], '--simd': ['simd', 'string'],
  '-h': ['help', 'yes'], '--help': ['help', 'yes'],
};

export const SCORE_HELP = `usage: ringlm score [options]

Each token's log-probability given the tokens before it (the model's softmax over its raw logits), their sum
and the perplexity exp(-sum / tokens). The first token (BOS, unless --no-bos) is context only. A text longer
than --ctx is scored in windows of --ctx tokens, each from an empty cache, the next --stride tokens later;
every token is scored once, with at least ctx - stride tokens before it.

  -m, --model FILE         GGUF model (default: the built-in model)
  -p, --prompt TEXT        the text
  -f, --file FILE          read the text from a file
      --ctx N              KV cache capacity, the window (default: min(model, 2048))
      --stride N           tokens between windows (default: half of --ctx)
      --no-bos             do not add the BOS token
      --json               one JSON object: { tokens: [{ token, id, logprob, bytes }], ids, logprobSum, perplexity, windows }
${SIMD_HELP}
Output: one line per scored token (index, id, log-probability, the token's text as JSON), then the totals.
`;

/** `ringlm score`: returns the exit code. */
export async function scoreCommand(argv, Module) {
  const { help, model = DEFAULT_MODEL, prompt, file, contextSize = 0, stride, noBos, json, simd: simdFlag } = parseCommandFlags(argv, Module, 'score', SCORE_FLAGS);
  if (help) {
    process.stdout.write(SCORE_HELP);
    return 0;
  }
  if ((prompt === undefined) === (file === undefined)) throw new UsageError('score needs the text: one of -p TEXT and -f FILE');
  if (!existsSync(model)) throw new Error(model === DEFAULT_MODEL ? 'no -m MODEL given and the built-in model is not installed' : `model file not found: ${model}`);
  const simd = simdOption(simdFlag);
  const text = file === undefined ? prompt : readFileSync(file, 'utf8');
  const lm = await RingLM.load(model, { contextSize, simd });
  try {
    const r = lm.score(text, { stride, ...(noBos ? { addBos: false } : {}) });
    if (json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    r.tokens.forEach((t, i) => {
      process.stdout.write(`${String(i + 1).padStart(6)}  ${String(t.id).padStart(6)}  ${t.logprob.toFixed(6).padStart(11)}  ${shown(t.token)}\n`);
    });
    process.stdout.write(`tokens ${r.tokens.length}  logprob sum ${r.logprobSum.toFixed(6)}  perplexity ${r.perplexity.toFixed(6)}  windows ${r.windows}\n`);
    return 0;
  } finally {
    lm.dispose();
  }
}
