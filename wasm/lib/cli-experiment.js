// cli-experiment.js — `ringlm experiment`: greedy generation with the KV cache and without it, timed per token
// (wasm/lib/experiment.js runs it), its report on stdout and, with --svg, its chart in a file.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RingLM } from '../ringlm.js';
import { experimentChart, experimentReport, runExperiment } from './experiment.js';
import { STANDALONE_STYLE, toSvgText } from './chart.js';
import { DEFAULT_MODEL, SIMD_HELP, UsageError, parseCommandFlags, simdOption } from './cli-common.js';

const EXPERIMENT_FLAGS = {
  '-m': ['model', 'string'], '--model': ['model', 'string'], '-p': ['prompt', 'string'], '--prompt': ['prompt', 'string'],
  '-n': ['maxTokens', 'positive'], '--max-tokens': ['maxTokens', 'positive'], '--prompt-tokens': ['promptTokens', 'positive'],
  '--ctx': ['contextSize', 'non-negative'], '--svg': ['svg', 'string'], '--simd': ['simd', 'string'],
  '-h': ['help', 'yes'], '--help': ['help', 'yes'],
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
${SIMD_HELP}`;

export async function experimentCommand(argv, Module) {
  const { help, model = DEFAULT_MODEL, contextSize = 0, svg, simd: simdFlag, ...options } = parseCommandFlags(argv, Module, 'experiment', EXPERIMENT_FLAGS);
  if (help) {
    process.stdout.write(EXPERIMENT_HELP);
    return 0;
  }
  if (!existsSync(model)) throw new Error(model === DEFAULT_MODEL ? 'no -m MODEL given and the built-in model is not installed' : `model file not found: ${model}`);
  const simd = simdOption(simdFlag);
  const lm = await RingLM.load(model, { contextSize, simd });
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
