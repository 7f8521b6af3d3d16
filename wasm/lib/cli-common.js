// cli-common.js — what the `ringlm` command's subcommands share: the default model, UsageError (bad flags: exit
// code 2), the generation flags parsed against the core's options schema and their lines of --help, and the
// lines a command prints about a model it loads.

import { fileURLToPath } from 'node:url';
import { RingLM } from '../ringlm.js';
import { closestName } from './options.js';
import { parseLogitBias } from './cli-logprobs.js';
import { relaxedSimdSupported } from './runtime.js';

export const DEFAULT_MODEL = fileURLToPath(RingLM.defaultModelUrl);

/** Bad flags or arguments: the command prints the message and exits with code 2 (other errors: 1). */
export class UsageError extends Error {}

// The command's own flags: flag -> [name, kind]. The generation options' flags come from the core's
// schema (src/generate/options.h, through RingLM.generateOptionSchema()), with -n for --max-tokens.
const OWN_FLAGS = {
  '-m': ['model', 'string'], '--model': ['model', 'string'],
  '-p': ['prompt', 'string'], '--prompt': ['prompt', 'string'],
  '-f': ['file', 'string'], '--file': ['file', 'string'],
  '--ctx': ['contextSize', 'integer'], '--system': ['system', 'string'],
  '--state': ['state', 'string'], '--simd': ['simd', 'string'],
  '--grammar-file': ['grammarFile', 'string'],
  '--no-bos': ['addBos', 'no'], '--chat': ['chat', 'yes'], '-h': ['help', 'yes'], '--help': ['help', 'yes'],
};
const SHORT_FLAGS = { '-n': '--max-tokens' };

/** The generation flags' lines of --help, from the schema. */
export function generationHelp(schema) {
  return schema.filter((spec) => spec.flag).map((spec) => {
    const value = { integer: ' N', number: ' X', choice: ' P', strings: ' TEXT', 'token-ids': ' ID,...', text: ' TEXT', 'token-bias': ' ID=BIAS', 'json-schema': ' FILE' }[spec.type] ?? '';
    const values = spec.values ? ` (${spec.values.join(' | ')})` : '';
    const fallback = spec.defaultText ?? (Array.isArray(spec.default) ? 'none' : String(spec.default));
    return `      ${`--${spec.flag}${value}`.padEnd(20)} ${spec.doc}${values} (default ${fallback})\n`;
  }).join('');
}


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

export function parseArgs(argv, Module, schema) {
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
    if (kind === 'strings') (o[name] ??= []).push(value);
    else if (kind === 'token-bias') o[name] = parseLogitBias(argv[i - 1], value, o[name], UsageError);
    else o[name] = flagValue(argv[i - 1], spec ?? { type: kind, min: 0, max: 2 ** 31 - 1, rule: 'an integer in [0, 2147483647]' }, value);
  }
  return o;
}

/**
 * A subcommand's own flags (`ringlm score`, `ringlm experiment`), parsed by a table: flags[flag] = [name, kind],
 * kind 'yes' (no value), 'string', 'positive' or 'non-negative' (an integer up to 2^31 - 1).
 */
export function parseCommandFlags(argv, Module, command, flags) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const [name, kind] = flags[argv[i]] ?? [];
    if (!name) {
      const near = closestName(Module, argv[i], Object.keys(flags));
      throw new UsageError(`${command}: unknown option '${argv[i]}' (${near ? `did you mean '${near}'?` : 'see --help'})`);
    }
    if (kind === 'yes') { o[name] = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${argv[i - 1]} needs a value`);
    if (kind === 'string') { o[name] = value; continue; }
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < (kind === 'non-negative' ? 0 : 1) || n > 2 ** 31 - 1) {
      throw new UsageError(`${argv[i - 1]} needs a ${kind} integer, got '${value}'`);
    }
    o[name] = n;
  }
  return o;
}

/** --simd's help line, for every command that loads a model. */
export const SIMD_HELP = `      --simd BUILD         default | relaxed: the opt-in relaxed-SIMD build (same results; Node 20 needs
                           node --experimental-wasm-relaxed-simd, Chromium runs it as is)
`;

/**
 * --simd's value as RingLM.load's simd option: a bad value is a UsageError; 'relaxed' in a Node that cannot
 * validate relaxed SIMD an Error that says how to run it (the V8 flag is not allowed in NODE_OPTIONS).
 */
export function simdOption(value) {
  if (value === undefined || value === 'default') return 'default';
  if (value !== 'relaxed') throw new UsageError(`--simd must be default or relaxed (got '${value}')`);
  if (!relaxedSimdSupported()) {
    throw new Error('--simd relaxed: this Node cannot validate relaxed SIMD; Node 20 runs it with the V8 flag: ' +
      'node --experimental-wasm-relaxed-simd "$(command -v ringlm)" ...');
  }
  return 'relaxed';
}

/** A size in bytes as the command shows it. */
export const megabytes = (n) => `${(n / 1e6).toFixed(1)} MB`;

/** One line on what was loaded: the family, the architecture, the size, the context and what limited it. */
export function describeModel(info) {
  const family = info.family === info.architecture ? info.architecture : `${info.family} (${info.architecture})`;
  const parameters = info.parameters >= 1e9 ? `${(info.parameters / 1e9).toFixed(1)}B` : `${(info.parameters / 1e6).toFixed(1)}M`;
  const limited = { option: '--ctx', trained: 'the trained context', memory: `trained ${info.trainedContextSize}; the largest that fits memory` };
  return `${family}, ${parameters} parameters, ${info.tensorTypes.join('/')}, context ${info.contextSize} tokens ` +
    `(${limited[info.contextLimitedBy]})`;
}
