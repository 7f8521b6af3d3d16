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
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingLM } from './ringlm.js';
import { anyModule } from './lib/runtime.js';
import { closestName, generateOptionSchema } from './lib/options.js';
import { experimentChart, experimentReport, runExperiment } from './lib/experiment.js';
import { STANDALONE_STYLE, toSvgText } from './lib/chart.js';
import { parseLogitBias, logprobsReport, score } from './lib/cli-logprobs.js';
import { chatCommand } from './lib/cli-chat.js';
import { splitParts } from './lib/source.js';

const DEFAULT_MODEL = fileURLToPath(RingLM.defaultModelUrl);

// The command's own flags: flag -> [name, kind]. The generation options' flags come from the core's
// schema (src/generate/options.h, through RingLM.generateOptionSchema()), with -n for --max-tokens.
const OWN_FLAGS = {
  '-m': ['model', 'string'], '--model': ['model', 'string'],
  '-p': ['prompt', 'string'], '--prompt': ['prompt', 'string'],
  '-f': ['file', 'string'], '--file': ['file', 'string'],
  '--ctx': ['contextSize', 'integer'], '--system': ['system', 'string'],
  '--state': ['state', 'string'],
  '--grammar-file': ['grammarFile', 'string'],
  '--no-bos': ['addBos', 'no'], '--chat': ['chat', 'yes'], '-h': ['help', 'yes'], '--help': ['help', 'yes'],
};
const SHORT_FLAGS = { '-n': '--max-tokens' };

const OWN_HELP = `usage: ringlm [options]
       ringlm experiment [options]   the KV cache on and off, timed (ringlm experiment --help)
       ringlm pull URL [--sha256 HEX]   download a model into the cache (resumes an interrupted one)
       ringlm ls                     the cached models, with their sizes
       ringlm rm URL | --all         remove a cached model, or all of them
       ringlm prefill -m MODEL (-p TEXT | -f FILE) -o STATE [--ctx N] [--no-bos]
                                     run a prompt and save the session (restores in any build)
       ringlm score [options]        how likely a text is: per-token log-probabilities (ringlm score --help)
       ringlm chat [options]         an interactive chat through the model's template (ringlm chat --help)

  -m, --model FILE|URL     GGUF model (default: the built-in model, if installed); a URL loads
                           through the cache (downloaded once, then offline: see ringlm ls)
  -p, --prompt TEXT        prompt (default: "")
  -f, --file FILE          read the prompt from a file
      --ctx N              KV cache capacity in tokens (default: the trained context, or the largest that fits memory)
      --no-bos             do not add the BOS token
      --chat               the prompt is a user's message: the model answers it through its chat template
      --system TEXT        with --chat: a system message first
      --state FILE         start from a saved session (ringlm prefill, saveState()): the prompt
                           continues it, as keepCache does
      --grammar-file FILE  read --grammar's GBNF text from a file
  -h, --help               this text

generation (-n is --max-tokens; --stop and --logit-bias may be repeated; --logprobs writes a table to stderr):
`;

/** The generation flags' lines of --help, from the schema. */
function generationHelp(schema) {
  return schema.filter((spec) => spec.flag).map((spec) => {
    const value = { integer: ' N', number: ' X', choice: ' P', strings: ' TEXT', 'token-ids': ' ID,...', text: ' TEXT', 'token-bias': ' ID=BIAS', 'json-schema': ' FILE' }[spec.type] ?? '';
    const values = spec.values ? ` (${spec.values.join(' | ')})` : '';
    const fallback = spec.defaultText ?? (Array.isArray(spec.default) ? 'none' : String(spec.default));
    return `      ${`--${spec.flag}${value}`.padEnd(20)} ${spec.doc}${values} (default ${fallback})\n`;
  }).join('');
}

class UsageError extends Error {}

/** A flag's value as the option's type wants it; a UsageError names the flag and what it allows. */
function flagValue(arg, spec, value) {
  if (spec.type === 'integer' || spec.type === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (spec.type === 'integer' && !Number.isInteger(n))) {
      throw new UsageError(`${arg} needs ${spec.type === 'integer' ? 'an integer' : 'a number'}, got '${value}'`);
    }
    if (!((spec.minExclusive ? n > spec.min : n >= spec.min) && n <= spec.max)) throw new UsageError(`${arg} must be ${spec.rule} (got ${n})`);
    return n;
  }
  if (spec.type === 'choice' && !spec.values.includes(value)) throw new UsageError(`${arg} must be ${spec.rule} (got '${value}')`);
  if (spec.type === 'token-ids') {
    const ids = value.split(',').map(Number);
    if (!ids.every((id) => Number.isInteger(id) && id >= 0)) throw new UsageError(`${arg} needs comma-separated token ids, got '${value}'`);
    return ids;
  }
  return value;
}

function parseArgs(argv, Module, schema) {
  const byFlag = new Map(schema.filter((spec) => spec.flag).map((spec) => [`--${spec.flag}`, spec]));
  const o = { stop: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = SHORT_FLAGS[argv[i]] ?? argv[i];
    const own = OWN_FLAGS[arg];
    const spec = byFlag.get(arg);
    if (!own && !spec) {
      const near = closestName(Module, argv[i], [...Object.keys(OWN_FLAGS), ...Object.keys(SHORT_FLAGS), ...byFlag.keys()]);
      throw new UsageError(`unknown option '${argv[i]}' (${near ? `did you mean '${near}'?` : 'see --help'})`);
    }
    const [name, kind] = own ?? [spec.name, spec.type];
    if (kind === 'yes') { o[name] = true; continue; }
    if (kind === 'boolean') { o[name] = !spec.default; continue; }  // the flag turns the default around (--no-kv-cache)
    if (kind === 'no') { o[name] = false; continue; }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${argv[i - 1]} needs a value`);
    if (kind === 'strings') o[name].push(value);
    else if (kind === 'token-bias') o[name] = parseLogitBias(argv[i - 1], value, o[name], UsageError);
    else o[name] = flagValue(argv[i - 1], spec ?? { type: kind, min: 0, max: 2 ** 31 - 1, rule: 'an integer in [0, 2147483647]' }, value);
  }
  return o;
}

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

async function experiment(argv, Module) {
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

const CACHE_HELP = `usage: ringlm pull URL [--sha256 HEX] | ringlm ls | ringlm rm URL | ringlm rm --all
The cache is ${'$'}RINGLM_CACHE_DIR, else ${'$'}XDG_CACHE_HOME/ringlm/models, else ~/.cache/ringlm/models.
`;

const megabytes = (n) => `${(n / 1e6).toFixed(1)} MB`;

/** ringlm pull / ls / rm: the download cache (wasm/lib/cache.js), as RingLM.cache and load({cache}) use it. */
async function cacheCommand([command, ...argv]) {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(CACHE_HELP);
    return 0;
  }
  if (command === 'ls') {
    if (argv.length) throw new UsageError(`ls takes no arguments (got '${argv[0]}')`);
    const entries = await RingLM.cache.list();
    for (const e of entries) {
      const state = e.complete ? '' : `  (partial: ${e.expectedSize ? `${Math.floor((100 * e.size) / e.expectedSize)}%` : 'size unknown'}; pull resumes it)`;
      process.stdout.write(`${megabytes(e.size).padStart(10)}  ${e.url}${state}\n`);
    }
    const total = entries.reduce((sum, e) => sum + e.size, 0);
    process.stdout.write(`${entries.length} model${entries.length === 1 ? '' : 's'}, ${megabytes(total)} in ${await RingLM.cache.location()}\n`);
    return 0;
  }
  if (command === 'rm') {
    if (argv.length !== 1) throw new UsageError('rm takes one URL, or --all');
    if (argv[0] === '--all') {
      const { entries, bytes } = await RingLM.cache.clear();
      process.stdout.write(`removed ${entries} model${entries === 1 ? '' : 's'}, ${megabytes(bytes)}\n`);
      return 0;
    }
    if (!(await RingLM.cache.delete(argv[0]))) throw new Error(`${argv[0]} is not in the cache (see ringlm ls)`);
    process.stdout.write(`removed ${argv[0]}\n`);
    return 0;
  }
  // pull: a load through the cache, which leaves the file stored; the model is checked by loading it.
  let url, sha256;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sha256') {
      sha256 = argv[++i];
      if (sha256 === undefined) throw new UsageError('--sha256 needs a value');
    } else if (!argv[i].startsWith('-') && url === undefined) {
      url = argv[i];
    } else {
      throw new UsageError(`pull: unexpected '${argv[i]}' (usage: ringlm pull URL [--sha256 HEX])`);
    }
  }
  if (!url || !/^https?:/i.test(url)) throw new UsageError('pull needs an http(s) URL');
  const tty = process.stderr.isTTY;
  const lm = await RingLM.load(url, {
    cache: true, sha256, contextSize: 16,
    onProgress: ({ phase, loaded, total }) => {
      if (tty) process.stderr.write(`\r${phase === 'download' ? 'downloading' : 'checking'}: ${total ? `${Math.round((100 * loaded) / total)}% of ` : ''}${megabytes(total || loaded)}   `);
    },
  });
  if (tty) process.stderr.write('\n');
  const { architecture, parameters } = lm.info;
  lm.dispose();
  // A split file's first part brings the others (RingLM.load finds them by name): count every part kept.
  const parts = new Set(splitParts(url).map((u) => new URL(u).href));
  const kept = (await RingLM.cache.list()).filter((e) => parts.has(e.url));
  const size = kept.reduce((sum, e) => sum + e.size, 0);
  process.stdout.write(`${url}: ${megabytes(size)}${parts.size > 1 ? ` in ${kept.length} parts` : ''}, ${architecture}${parameters ? `, ${(parameters / 1e6).toFixed(1)}M parameters` : ''}, cached\n`);
  return 0;
}

/** ringlm prefill: run a prompt into the cache and save the session (RingLM.saveState) to a file. */
async function prefillCommand(argv, Module, schema) {
  const args = parseArgs(argv.filter((a, i) => !(a === '-o' || argv[i - 1] === '-o')), Module, schema);
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

async function main() {
  if (process.argv[2] === 'prefill') {
    const Module = await anyModule();
    try {
      return await prefillCommand(process.argv.slice(3), Module, generateOptionSchema(Module));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`ringlm: ${e.message}\n`);
      return 2;
    }
  }
  if (['pull', 'ls', 'rm'].includes(process.argv[2])) {
    try {
      return await cacheCommand(process.argv.slice(2));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`ringlm: ${e.message}\n`);
      return 2;
    }
  }
  const Module = await anyModule();
  if (process.argv[2] === 'experiment' || process.argv[2] === 'score') {
    try {
      if (process.argv[2] === 'score') return await score(process.argv.slice(3), Module, { DEFAULT_MODEL, UsageError });
      return await experiment(process.argv.slice(3), Module);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`ringlm: ${e.message}\n`);
      return 2;
    }
  }
  if (process.argv[2] === 'chat') {  // the interactive chat: wasm/lib/cli-chat.js
    const chatSchema = generateOptionSchema(Module);
    try {
      return await chatCommand(process.argv.slice(3), {
        parseArgs: (argv) => parseArgs(argv, Module, chatSchema), generationHelp: () => generationHelp(chatSchema),
        describeModel, DEFAULT_MODEL, UsageError, Module,
      });
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`ringlm: ${e.message}\n`);
      return 2;
    }
  }
  const schema = generateOptionSchema(Module);
  let args;
  try {
    args = parseArgs(process.argv.slice(2), Module, schema);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`ringlm: ${e.message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(OWN_HELP + generationHelp(schema));
    return 0;
  }
  const { model = DEFAULT_MODEL, file, contextSize = 0, chat = false, system, state, ...gen } = args;
  if (state !== undefined && chat) {
    process.stderr.write('ringlm: --state continues a saved session as plain text; it does not combine with --chat\n');
    return 2;
  }
  if (system !== undefined && !chat) {
    process.stderr.write('ringlm: --system needs --chat\n');
    return 2;
  }
  const remote = /^https?:/i.test(model);
  if (!remote && !existsSync(model)) {
    throw new Error(args.model ? `model file not found: ${model}` : 'no -m MODEL given and the built-in model is not installed');
  }
  if (gen.grammarFile !== undefined) {  // --grammar-file: the grammar's text from a file
    if (gen.grammar !== undefined) {
      process.stderr.write('ringlm: give --grammar or --grammar-file, not both\n');
      return 2;
    }
    gen.grammar = (await import('node:fs')).readFileSync(gen.grammarFile, 'utf8');
    delete gen.grammarFile;
  }
  if (gen.jsonSchema !== undefined) {  // --json-schema FILE: the schema, as JSON (the jsonSchema option)
    const file = gen.jsonSchema;
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    try {
      gen.jsonSchema = JSON.parse(text);
    } catch (e) {
      process.stderr.write(`ringlm: --json-schema ${file}: not JSON (${e.message})\n`);
      return 2;
    }
  }
  let prompt = gen.prompt ?? '';
  delete gen.prompt;
  if (file) prompt = (await import('node:fs')).readFileSync(file, 'utf8');

  const tty = process.stderr.isTTY;
  const lm = await RingLM.load(model, {
    contextSize, cache: remote,
    onProgress: ({ phase, loaded, total }) => {
      const verb = phase === 'download' ? 'downloading' : 'loading';
      if (tty) process.stderr.write(`\r${verb} ${model}: ${total ? `${Math.round((100 * loaded) / total)}% of ` : ''}${megabytes(total || loaded)}   `);
    },
  });
  if (tty) process.stderr.write('\n');
  process.stderr.write(`ringlm: ${describeModel(lm.info)}\n`);
  try {
    let iterator;
    if (chat) {
      const messages = [...(system === undefined ? [] : [{ role: 'system', content: system }]), { role: 'user', content: prompt }];
      iterator = lm.chat(messages, gen);
    } else {
      if (state !== undefined) {
        await lm.restoreState(state);
        gen.keepCache = true;
      }
      process.stdout.write(prompt);
      iterator = lm.generate(prompt, gen);
    }
    let result;
    const logprobs = [];
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) {
        result = value;
        break;
      }
      process.stdout.write(value.text);
      if (value.logprobs) logprobs.push(value.logprobs);
    }
    process.stdout.write('\n');
    if (gen.logprobs !== undefined) process.stderr.write(logprobsReport(logprobs));
    const t = result.timings;
    process.stderr.write(
      `ringlm: ${t.promptTokens} prompt tokens in ${t.prefillMs.toFixed(1)} ms (${t.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
      `${t.generatedTokens} generated at ${t.decodeTokensPerSecond.toFixed(1)} tok/s; finish: ${result.finishReason}; seed ${result.seed}\n`);
  } finally {
    lm.dispose();
  }
  return 0;
}

/** One line on what was loaded: the family, the architecture, the size, the context and what limited it. */
function describeModel(info) {
  const family = info.family === info.architecture ? info.architecture : `${info.family} (${info.architecture})`;
  const parameters = info.parameters >= 1e9 ? `${(info.parameters / 1e9).toFixed(1)}B` : `${(info.parameters / 1e6).toFixed(1)}M`;
  const limited = { option: '--ctx', trained: 'the trained context', memory: `trained ${info.trainedContextSize}; the largest that fits memory` };
  return `${family}, ${parameters} parameters, ${info.tensorTypes.join('/')}, context ${info.contextSize} tokens ` +
    `(${limited[info.contextLimitedBy]})`;
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`ringlm: ${String(error.message ?? error).split('\n')[0]}\n`);
    process.exitCode = 1;
  });
