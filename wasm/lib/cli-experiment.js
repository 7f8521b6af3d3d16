// cli-experiment.js — `ringlm experiment`: greedy generation with the KV cache and without it, timed per token
// (wasm/lib/experiment.js runs it), its report on stdout and, with --svg, its chart in a file.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RingLM } from '../ringlm.js';
import { closestName } from './options.js';
import { experimentChart, experimentReport, runExperiment } from './experiment.js';
import { STANDALONE_STYLE, toSvgText } from './chart.js';
import { DEFAULT_MODEL, UsageError } from './cli-common.js';

const EXPERIMENT_FLAGS = {
  '-m': 'model', '--model': 'model', '-p': 'prompt', '--prompt': 'prompt', '-n': 'maxTokens', '--max-tokens': 'maxTokens',
  '--prompt-tokens': 'promptTokens', '--ctx': 'contextSize', '--svg': 'svg', '-h': 'help', '--help': 'help',
};

const EXPERIMENT_HELP = `usage: ringlm experiment [options]

Greedy generation with the KV cache and without it (every token re-runs the whole sequence): a table of
both runs, the speed-up, a sparkline of ms per token against position for each, and whether the texts agree.

  -m, --model FILE         GGUF model (default: the built-in model)
  -p, --prompt TEXT        prompt (default: the first --prompt-tokens tokens of a fixed passage)
      --prompt-tokens N    length of the default prompt (default 29)
  -n, --max-tokens N       new tokens (default 100)
      --ctx N              KV cache capacity (default: the trained context, or the largest that fits memory); must hold prompt + new tokens
      --svg FILE           also write the chart of ms per token against position to FILE
`;

function parseExperimentArgs(argv, Module) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const name = EXPERIMENT_FLAGS[argv[i]];
    if (!name) {
      const near = closestName(Module, argv[i], Object.keys(EXPERIMENT_FLAGS));
      throw new UsageError(`experiment: unknown option '${argv[i]}' (${near ? `did you mean '${near}'?` : 'see --help'})`);
    }
    if (name === 'help') { o.help = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${argv[i - 1]} needs a value`);
    if (name === 'model' || name === 'prompt' || name === 'svg') { o[name] = value; continue; }
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < (name === 'contextSize' ? 0 : 1) || n > 2 ** 31 - 1) {
      throw new UsageError(`${argv[i - 1]} needs a ${name === 'contextSize' ? 'non-negative' : 'positive'} integer, got '${value}'`);
    }
    o[name] = n;
  }
  return o;
}

export async function experimentCommand(argv, Module) {
  const { help, model = DEFAULT_MODEL, contextSize = 0, svg, ...options } = parseExperimentArgs(argv, Module);
  if (help) {
    process.stdout.write(EXPERIMENT_HELP);
    return 0;
  }
  if (!existsSync(model)) throw new Error(model === DEFAULT_MODEL ? 'no -m MODEL given and the built-in model is not installed' : `model file not found: ${model}`);
  const lm = await RingLM.load(model, { contextSize });
  try {
    const result = await runExperiment(lm, options);
    process.stdout.write(`${model}: ${result.promptTokens} prompt tokens, greedy, ${options.maxTokens ?? 100} new tokens\n\n`);
    process.stdout.write(experimentReport(result));
    if (svg) {
      const title = `${path.basename(model)}: ${result.promptTokens} prompt tokens, greedy; the KV cache ${result.speedup.toFixed(1)}x faster`;
      writeFileSync(svg, toSvgText(experimentChart(result, title), STANDALONE_STYLE));
    }
    return result.textsEqual ? 0 : 1;
  } finally {
    lm.dispose();
  }
}
