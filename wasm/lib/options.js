// options.js — generate()'s options, checked against the schema the C++ core owns (src/generate/options.h,
// exported by wasm/bindings.cpp): names, types, ranges and defaults come from there. This file adds only
// the options JS handles itself (the AbortSignal, the progress callback, how a string prompt is tokenized)
// and the rules for values JS must shape (a stop string becomes a list, a seed is drawn when none is given).

import { tokenId } from './checks.js';

/** generate()'s options that never reach C++, described as the schema describes the rest. */
const JS_OPTIONS = [
  { name: 'signal', type: 'AbortSignal', rule: 'an AbortSignal', default: null, defaultText: 'none',
    doc: 'ends the iterator with an AbortError; the model stays usable' },
  { name: 'onPrefillProgress', type: 'function', rule: 'a function', default: null, defaultText: 'none',
    doc: 'called after each prefill step with { done, total } prompt tokens' },
  { name: 'addBos', type: 'boolean', rule: 'true or false', default: null, defaultText: 'as the model asks (never when continuing with keepCache)',
    doc: 'add BOS to a string prompt' },
  { name: 'parseSpecial', type: 'boolean', rule: 'true or false', default: false,
    doc: "parse special-token text (e.g. '<s>') in a string prompt as those tokens" },
  // JSON Schema (lib/json-output.js): translated to `grammar` before generation; the command line reads a file.
  { name: 'jsonSchema', flag: 'json-schema', type: 'json-schema', rule: 'a JSON Schema (an object or a boolean)', default: null,
    defaultText: 'none', doc: 'JSON Schema the output must be valid JSON for (a file on the command line); the result has the parsed value as json' },
];

const deepFreeze = (o) => {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
};

let schema = null;

/**
 * Every option generate() takes: [{ name, type, default, defaultText?, min?, max?, minExclusive?, values?, rule?,
 * flag?, doc }], the core's schema first, then JS's own. The same in every build, so read once.
 */
export function generateOptionSchema(Module) {
  schema ??= deepFreeze([...Module.generateOptionSchema(), ...JS_OPTIONS]);
  return schema;
}

/** Of `known`, the name `name` is most likely a typo of, or '' (src/generate/options.h: closest_name). */
export const closestName = (Module, name, known) => Module.closestName(String(name), known);

/** `name` is no option: say so, with the known name it is most likely a typo of. */
function unknownOption(Module, name, known, what) {
  const near = closestName(Module, name, known);
  return new TypeError(`${what}: unknown option '${name}'${near ? ` (did you mean '${near}'?)` : ''}`);
}

/**
 * The options of the calls other than generate(), which JS checks itself (their values are checked where they
 * are used). tests/options.test.mjs holds each list to its interface in ringlm.d.ts.
 */
export const CALL_OPTIONS = deepFreeze({
  LoadOptions: ['contextSize', 'memoryLimit', 'threads', 'onProgress', 'cache', 'sha256', 'simd'],
  PrefillOptions: ['allLogits'],
  TokenizeOptions: ['addBos', 'addEos', 'special'],
  DetokenizeOptions: ['special', 'stripLeadingSpace'],
  ChatTemplateOptions: ['addGenerationPrompt', 'template', 'variables', 'tools'],
  ScoreOptions: ['addBos', 'parseSpecial', 'stride'],
  RestoreStateOptions: ['chat'],
});

/**
 * A name in `options` that the call does not take is an error suggesting the name meant, as for generate():
 * `tokenize(text, {addBOS: true})` must not quietly tokenize without a BOS.
 */
export function checkOptionNames(Module, options, kind, what) {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object`);
  const known = CALL_OPTIONS[kind];
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw unknownOption(Module, name, known, what);
  }
}

/** One option's value checked against its entry in the schema; returns it in the form C++ reads. */
function checkValue(spec, v, what) {
  const shown = typeof v === 'string' ? `'${v}'` : String(v);
  const bad = (ErrorType, withValue = true) =>
    new ErrorType(`${what}: ${spec.name} must be ${spec.rule}${withValue ? ` (got ${shown})` : ''}`);
  switch (spec.type) {
    case 'integer':
    case 'number': {
      if (typeof v !== 'number') throw bad(TypeError);
      const above = spec.minExclusive ? v > spec.min : v >= spec.min;
      if (!(above && v <= spec.max) || (spec.type === 'integer' && !Number.isInteger(v))) throw bad(RangeError);
      return v;
    }
    case 'boolean':
      if (typeof v !== 'boolean') throw bad(TypeError);
      return v;
    case 'choice':
      if (!spec.values.includes(v)) throw bad(RangeError);
      return v;
    case 'strings': {
      const list = typeof v === 'string' ? [v] : v != null && typeof v[Symbol.iterator] === 'function' ? Array.from(v) : null;
      if (list === null || !list.every((s) => typeof s === 'string')) throw bad(TypeError, false);
      return list;
    }
    case 'text':
      if (typeof v !== 'string') throw bad(TypeError, false);
      return v;
    case 'token-ids':
      if (v == null || typeof v === 'string' || typeof v[Symbol.iterator] !== 'function') throw bad(TypeError, false);
      return Array.from(v, (id) => tokenId(id, `${what}: ${spec.name}`));
    case 'token-bias':
      return tokenBiasPairs(v, spec, what);
    case 'AbortSignal':
      if (typeof v?.aborted !== 'boolean') throw bad(TypeError, false);
      return v;
    case 'function':
      if (typeof v !== 'function') throw bad(TypeError, false);
      return v;
    case 'json-schema':
      if (typeof v !== 'boolean' && (v === null || typeof v !== 'object' || Array.isArray(v))) throw bad(TypeError, false);
      return v;
    default:
      throw new Error(`${what}: option ${spec.name} has a type this version does not know (${spec.type})`);
  }
}

/**
 * A logitBias map ({ 15043: -Infinity } or a Map of id -> bias) as [[id, bias], ...] for C++, which checks the ids
 * against the vocabulary. Ids are whole numbers >= 0 (an object's keys are strings: '15043' is read as 15043); a
 * bias is a number that is not NaN or +Infinity.
 */
function tokenBiasPairs(v, spec, what) {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new TypeError(`${what}: ${spec.name} must be ${spec.rule}`);
  }
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return entries.map(([key, bias]) => {
    const id = typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
    if (!Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1) {
      throw new TypeError(`${what}: ${spec.name}: token ids must be whole numbers >= 0 (got ${typeof key === 'string' ? `'${key}'` : String(key)})`);
    }
    if (typeof bias !== 'number' || Number.isNaN(bias) || bias === Infinity) {
      throw new RangeError(`${what}: ${spec.name}: the bias of token ${id} must be a finite number or -Infinity (to ban it) (got ${typeof bias === 'string' ? `'${bias}'` : String(bias)})`);
    }
    return [id, bias];
  });
}

/**
 * Check generate() options (`also`: more names the caller handles, e.g. chat()'s template); throws a
 * TypeError/RangeError naming the option. Returns them with a seed (drawn when none is given) and
 * `reseed`: whether a keepCache continuation restarts the sampler from the seed (only when one is given).
 * Options left out are left out: C++ fills in the schema's defaults, and the model's context policy.
 */
export function checkGenerateOptions(Module, options, what, also = []) {
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object`);
  const specs = generateOptionSchema(Module);
  const known = [...specs.map((s) => s.name), ...also];
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw unknownOption(Module, name, known, what);
  }
  const o = { ...options };
  for (const spec of specs) {
    if (o[spec.name] !== undefined) o[spec.name] = checkValue(spec, o[spec.name], what);
  }
  o.seed ??= Math.floor(Math.random() * 2 ** 32);
  // A continuation goes on with the sampler's random stream unless a seed is given.
  o.reseed = !o.keepCache || options.seed !== undefined;
  return o;
}
