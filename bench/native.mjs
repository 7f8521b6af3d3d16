// ringlm native's side of the benchmark: `ringlm-cli bench` (tools/cli/main.cpp), one thread unless
// asked. One process per repetition, so repetitions interleave with the other implementations'.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Runs `ringlm-cli bench` once; returns its JSON (arrays with one entry per requested experiment). */
export function runNative(cli, modelPath, only, { contextSize = 256, threads = 1 } = {}) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const out = execFileSync(cli, ['bench', '-m', modelPath, '--ctx', String(contextSize), '--reps', '1', '--only', only,
    '--threads', String(threads)], {
    encoding: 'utf8', maxBuffer: 1 << 20,
  });
  return JSON.parse(out);
}
