// cli-score.js — `ringlm score` (issue 17): each token's log-probability given the ones before it, their sum
// and the perplexity, as a table or as JSON.

import { existsSync, readFileSync } from 'node:fs';
import { RingLM } from '../ringlm.js';
import { closestName } from './options.js';
import { shown } from './cli-logprobs.js';
import { DEFAULT_MODEL, UsageError } from './cli-common.js';

const SCORE_FLAGS = {
  '-m': 'model', '--model': 'model', '-p': 'prompt', '--prompt': 'prompt', '-f': 'file', '--file': 'file',
  '--ctx': 'contextSize', '--stride': 'stride', '--no-bos': 'noBos', '--json': 'json', '-h': 'help', '--help': 'help',
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

Output: one line per scored token (index, id, log-probability, the token's text as JSON), then the totals.
`;

function parseScoreArgs(argv, Module) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const name = SCORE_FLAGS[argv[i]];
    if (!name) {
      const near = closestName(Module, argv[i], Object.keys(SCORE_FLAGS));
      throw new UsageError(`score: unknown option '${argv[i]}' (${near ? `did you mean '${near}'?` : 'see --help'})`);
    }
    if (name === 'help' || name === 'noBos' || name === 'json') { o[name] = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${argv[i - 1]} needs a value`);
    if (name === 'model' || name === 'prompt' || name === 'file') { o[name] = value; continue; }
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < (name === 'contextSize' ? 0 : 1) || n > 2 ** 31 - 1) {
      throw new UsageError(`${argv[i - 1]} needs a ${name === 'contextSize' ? 'non-negative' : 'positive'} integer, got '${value}'`);
    }
    o[name] = n;
  }
  return o;
}

/** `ringlm score`: returns the exit code. */
export async function scoreCommand(argv, Module) {
  const { help, model = DEFAULT_MODEL, prompt, file, contextSize = 0, stride, noBos, json } = parseScoreArgs(argv, Module);
  if (help) {
    process.stdout.write(SCORE_HELP);
    return 0;
  }
  if ((prompt === undefined) === (file === undefined)) throw new UsageError('score needs the text: one of -p TEXT and -f FILE');
  if (!existsSync(model)) throw new Error(model === DEFAULT_MODEL ? 'no -m MODEL given and the built-in model is not installed' : `model file not found: ${model}`);
  const text = file === undefined ? prompt : readFileSync(file, 'utf8');
  const lm = await RingLM.load(model, { contextSize });
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
