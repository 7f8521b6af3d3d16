#!/usr/bin/env node
// ringlm — generate text from a GGUF model on the command line (`npx ringlm`).
//
//   ringlm -m model.gguf -p "Once upon a time" -n 128 --temp 0.8 --seed 1
//   ringlm experiment [-m model.gguf] [-p prompt] [-n 100]   the KV cache on and off, timed per token
//   ringlm pull URL [--sha256 HEX] | ringlm ls | ringlm rm URL|--all   downloaded models (RingLM.cache)
//   ringlm prefill -m model.gguf -f system.txt -o state.bin      a prompt run once, saved; then
//   ringlm -m model.gguf --state state.bin -p "more text"         generation continues after it
//   ringlm score -m model.gguf -f text.txt [--json]          each token's log-probability, the perplexity
//   ringlm chat [-m model.gguf] [--system TEXT]              an interactive chat (wasm/lib/cli-chat.js)
//
// Text streams to stdout; loading progress and timings go to stderr. Bad input ends the process
// with a one-line message and exit code 1 (2 for bad flags: an unknown one says which it resembles).
//
// This file only picks the subcommand; each lives in wasm/lib/cli-<name>.js, and what they share (UsageError,
// the flags parsed against the options schema) in wasm/lib/cli-common.js.
import { anyModule } from './lib/runtime.js';
import { UsageError } from './lib/cli-common.js';
import { generateCommand } from './lib/cli-generate.js';
import { experimentCommand } from './lib/cli-experiment.js';
import { cacheCommand } from './lib/cli-cache.js';
import { prefillCommand } from './lib/cli-prefill.js';
import { scoreCommand } from './lib/cli-score.js';
import { chatCommand } from './lib/cli-chat.js';

// The subcommands that run a model: each takes its arguments and the wasm module, and returns the exit code.
const MODEL_COMMANDS = { experiment: experimentCommand, prefill: prefillCommand, score: scoreCommand, chat: chatCommand };

/** The subcommand named by the first argument, else plain generation; returns the exit code. */
async function run(argv) {
  const [command, ...rest] = argv;
  if (['pull', 'ls', 'rm'].includes(command)) return cacheCommand(argv);  // the cache needs no wasm module
  const Module = await anyModule();
  if (Object.hasOwn(MODEL_COMMANDS, command)) return MODEL_COMMANDS[command](rest, Module);
  return generateCommand(argv, Module);
}

async function main() {
  try {
    return await run(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`ringlm: ${e.message}\n`);
    return 2;
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`ringlm: ${String(error.message ?? error).split('\n')[0]}\n`);
    process.exitCode = 1;
  });
