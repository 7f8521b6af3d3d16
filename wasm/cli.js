#!/usr/bin/env node
// ringlm — generate text from a GGUF model on the command line (`npx ringlm`).
//
//   ringlm -m model.gguf -p "Once upon a time" -n 128 --temp 0.8 --seed 1
//
// Text streams to stdout; loading progress and timings go to stderr. Bad input ends the process
// with a one-line message and exit code 1 (2 for bad flags).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RingLM } from './ringlm.js';

const DEFAULT_MODEL = fileURLToPath(RingLM.defaultModelUrl);

const HELP = `usage: ringlm [options]

  -m, --model FILE         GGUF model (default: the built-in model, if installed)
  -p, --prompt TEXT        prompt (default: "")
  -f, --file FILE          read the prompt from a file
  -n, --max-tokens N       tokens to generate (default 256)
      --temp X             temperature; 0 = greedy (default 0.8)
      --top-k N            (default 40; 0 = off)
      --top-p X            (default 0.95; 1 = off)
      --min-p X            (default 0.05; 0 = off)
      --repeat-penalty X   (default 1 = off)
      --presence-penalty X (default 0)
      --frequency-penalty X (default 0)
      --penalty-last-n N   (default 64)
      --seed N             (default: random, printed with the timings)
      --ctx N              KV cache capacity in tokens (default: min(model, 2048))
      --context-policy P   sinks | shift | stop: what happens when the cache is full (default sinks)
      --stop TEXT          stop string (repeatable)
      --no-bos             do not add the BOS token
      --chat               the prompt is a user's message: the model answers it through its chat template
      --system TEXT        with --chat: a system message first
  -h, --help               this text
`;

// flag -> [option name, kind]
const FLAGS = {
  '-m': ['model', 'string'], '--model': ['model', 'string'],
  '-p': ['prompt', 'string'], '--prompt': ['prompt', 'string'],
  '-f': ['file', 'string'], '--file': ['file', 'string'],
  '-n': ['maxTokens', 'int'], '--max-tokens': ['maxTokens', 'int'],
  '--temp': ['temperature', 'number'], '--top-k': ['topK', 'int'], '--top-p': ['topP', 'number'],
  '--min-p': ['minP', 'number'], '--repeat-penalty': ['repeatPenalty', 'number'],
  '--presence-penalty': ['presencePenalty', 'number'], '--frequency-penalty': ['frequencyPenalty', 'number'],
  '--penalty-last-n': ['penaltyLastN', 'int'], '--seed': ['seed', 'int'], '--ctx': ['contextSize', 'int'],
  '--context-policy': ['contextPolicy', 'string'], '--stop': ['stop', 'list'], '--system': ['system', 'string'],
};

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { stop: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '--no-bos') { o.addBos = false; continue; }
    if (arg === '--chat') { o.chat = true; continue; }
    const flag = FLAGS[arg];
    if (!flag) throw new UsageError(`unknown option '${arg}' (see --help)`);
    const [name, kind] = flag;
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    if (kind === 'string') o[name] = value;
    else if (kind === 'list') o[name].push(value);
    else {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
        throw new UsageError(`${arg} needs ${kind === 'int' ? 'an integer' : 'a number'}, got '${value}'`);
      }
      o[name] = n;
    }
  }
  return o;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`ringlm: ${e.message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { model = DEFAULT_MODEL, file, contextSize = 0, chat = false, system, ...gen } = args;
  if (system !== undefined && !chat) {
    process.stderr.write('ringlm: --system needs --chat\n');
    return 2;
  }
  if (!existsSync(model)) {
    throw new Error(args.model ? `model file not found: ${model}` : 'no -m MODEL given and the built-in model is not installed');
  }
  let prompt = gen.prompt ?? '';
  delete gen.prompt;
  if (file) prompt = (await import('node:fs')).readFileSync(file, 'utf8');

  const tty = process.stderr.isTTY;
  const lm = await RingLM.load(model, {
    contextSize,
    onProgress: ({ loaded, total }) => {
      if (tty) process.stderr.write(`\rloading ${model}: ${Math.round((100 * loaded) / total)}% of ${(total / 1e6).toFixed(1)} MB`);
    },
  });
  if (tty) process.stderr.write('\n');
  try {
    let iterator;
    if (chat) {
      const messages = [...(system === undefined ? [] : [{ role: 'system', content: system }]), { role: 'user', content: prompt }];
      iterator = lm.chat(messages, gen);
    } else {
      process.stdout.write(prompt);
      iterator = lm.generate(prompt, gen);
    }
    let result;
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) {
        result = value;
        break;
      }
      process.stdout.write(value.text);
    }
    process.stdout.write('\n');
    const t = result.timings;
    process.stderr.write(
      `ringlm: ${t.promptTokens} prompt tokens in ${t.prefillMs.toFixed(1)} ms (${t.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
      `${t.generatedTokens} generated at ${t.decodeTokensPerSecond.toFixed(1)} tok/s; finish: ${result.finishReason}; seed ${result.seed}\n`);
  } finally {
    lm.dispose();
  }
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`ringlm: ${String(error.message ?? error).split('\n')[0]}\n`);
    process.exitCode = 1;
  });
