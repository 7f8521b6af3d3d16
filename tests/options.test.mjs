// generate()'s options against the core's schema (src/generate/options.h): ringlm.d.ts documents every
// option of the schema with the same default and range, and nothing else; unknown names are errors that
// suggest the name meant (in generate(), chat() and both command lines); out-of-range values name the
// option and its range; options JS handles itself still work; the model decides the context policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { CALL_OPTIONS } from '../wasm/lib/options.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = (name) => {
  const p = path.join(ROOT, 'build/models', name);
  assert.ok(existsSync(p), `${p} is missing: run node tools/make-test-models.mjs`);
  return p;
};
const NATIVE = path.join(path.resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');

/** The members of `interface name` in the .d.ts: { name: { type, doc } }, doc being its comment on one line. */
function interfaceMembers(source, name) {
  const start = source.indexOf(`export interface ${name} {`);
  assert.ok(start >= 0, `ringlm.d.ts has no interface ${name}`);
  const body = `${source.slice(source.indexOf('{', start) + 1, source.indexOf('\n}', start))}\n`;
  const members = {};
  for (const m of body.matchAll(/(\/\*\*[\s\S]*?\*\/)\s*(\w+)\?: ([^\n]+);\n/g)) {
    const doc = m[1].replace(/^\/\*\*|\*\/$/g, '').split('\n').map((line) => line.replace(/^\s*\*?\s?/, '')).join(' ')
      .replace(/\s+/g, ' ').trim();
    members[m[2]] = { doc, type: m[3].trim() };
  }
  return members;
}

/** The TypeScript type each schema type is declared with. */
const TS_TYPES = {
  integer: 'number', number: 'number', boolean: 'boolean', choice: 'ContextPolicy', strings: 'string | string[]',
  'token-ids': 'ArrayLike<number>', AbortSignal: 'AbortSignal', text: 'string',
  'token-bias': 'Record<number, number> | Map<number, number>', 'json-schema': 'JsonSchema',
};

test('ringlm.d.ts documents exactly the schema\'s options, with its defaults, types and ranges', async () => {
  const schema = await RingLM.generateOptionSchema();
  const dts = readFileSync(path.join(ROOT, 'wasm/ringlm.d.ts'), 'utf8');
  const members = interfaceMembers(dts, 'GenerateOptions');
  assert.deepEqual(Object.keys(members).sort(), schema.map((s) => s.name).sort(), 'the same option names');
  const policies = /export type ContextPolicy = ([^;]+);/.exec(dts)[1].split('|').map((v) => v.trim().replace(/'/g, ''));
  for (const spec of schema) {
    const { doc, type } = members[spec.name];
    const defaults = doc.match(/\bDefault\b:? ?/g) ?? [];
    assert.equal(defaults.length, 1, `${spec.name}: one default in "${doc}"`);
    const stated = spec.default === null ? `Default: ${spec.defaultText}` : `Default ${Array.isArray(spec.default) ? 'none' : spec.default}`;
    assert.match(doc, new RegExp(`${stated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.]\\w)`), `${spec.name}: "${doc}"`);
    if (spec.type === 'function') assert.match(type, /^\(.*\) => void$/, spec.name);
    else assert.equal(type, TS_TYPES[spec.type], `${spec.name}'s type`);
    if (spec.type === 'choice') assert.deepEqual(policies.sort(), [...spec.values].sort(), 'ContextPolicy');
    if (spec.type === 'integer' || spec.type === 'number') {
      const range = spec.rule.slice(spec.rule.indexOf(' in ') + 4);
      assert.ok(doc.includes(range), `${spec.name}: the range ${range} in "${doc}"`);
    }
  }
});

test('the schema: types, defaults within their ranges, a flag and a doc for each of the core\'s options', async () => {
  const schema = await RingLM.generateOptionSchema();
  assert.ok(Object.isFrozen(schema) && Object.isFrozen(schema[0]));
  const byName = Object.fromEntries(schema.map((s) => [s.name, s]));
  // llama.cpp's sampling defaults (common/common.h: common_params_sampling), which ringlm follows.
  assert.deepEqual([byName.temperature.default, byName.topK.default, byName.topP.default, byName.minP.default,
    byName.repeatPenalty.default, byName.penaltyLastN.default], [0.8, 40, 0.95, 0.05, 1, 64]);
  for (const spec of schema) {
    assert.equal(typeof spec.doc, 'string', spec.name);
    assert.ok(spec.default !== null || typeof spec.defaultText === 'string', `${spec.name}: a default or what stands for it`);
    if (spec.type === 'integer' || spec.type === 'number') {
      assert.ok(spec.min < spec.max, spec.name);
      if (spec.default !== null) assert.ok(spec.default >= spec.min && spec.default <= spec.max, `${spec.name}'s default in its range`);
    }
    if (!['AbortSignal', 'function'].includes(spec.type) && !['addBos', 'parseSpecial', 'keepCache'].includes(spec.name)) {
      assert.match(spec.flag, /^[a-z][a-z-]*$/, `${spec.name} has a command-line flag`);
    }
  }
});

test('an unknown option is an error that suggests the name meant', async () => {
  const lm = await RingLM.load(model('gqa-q8_0.gguf'));
  const cases = [
    [{ maxToken: 5 }, "RingLM.generate: unknown option 'maxToken' (did you mean 'maxTokens'?)"],
    [{ maxTokens: 5, temprature: 0 }, "RingLM.generate: unknown option 'temprature' (did you mean 'temperature'?)"],
    [{ top_p: 0.5 }, "RingLM.generate: unknown option 'top_p' (did you mean 'topP'?)"],
    [{ onToken: () => {} }, "RingLM.generate: unknown option 'onToken'"],
    [{ contextSize: 64 }, "RingLM.generate: unknown option 'contextSize'"],  // a load option
  ];
  for (const [options, message] of cases) {
    await assert.rejects(lm.complete('hi', options), (e) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.equal(e.message, message);
      return true;
    });
  }
  const chat = lm.chat([{ role: 'user', content: 'hi' }], { templte: '{{ messages[0].content }}' });
  await assert.rejects(chat.next(), { name: 'TypeError', message: "RingLM.chat: unknown option 'templte' (did you mean 'template'?)" });
  // The error comes before anything runs: the cache is untouched and the model still generates.
  assert.equal(lm.position, 0);
  assert.equal((await lm.complete('hi', { maxTokens: 3, temperature: 0 })).tokens.length, 3);
  lm.dispose();
});

test('the other calls\' options: ringlm.d.ts lists exactly the names each takes, and any other name is an error', async () => {
  const dts = readFileSync(path.join(ROOT, 'wasm/ringlm.d.ts'), 'utf8');
  for (const [kind, names] of Object.entries(CALL_OPTIONS)) {
    assert.deepEqual(Object.keys(interfaceMembers(dts, kind)).sort(), [...names].sort(), kind);
  }
  await assert.rejects(RingLM.load(model('gqa-q8_0.gguf'), { contextsize: 64 }),
    { name: 'TypeError', message: "RingLM.load: unknown option 'contextsize' (did you mean 'contextSize'?)" });
  const lm = await RingLM.load(model('gqa-q8_0.gguf'));
  const cases = [
    [() => lm.tokenize('hi', { addBOS: true }), "RingLM.tokenize: unknown option 'addBOS' (did you mean 'addBos'?)"],
    [() => lm.detokenize([1, 2], { specal: true }), "RingLM.detokenize: unknown option 'specal' (did you mean 'special'?)"],
    [() => lm.createTextDecoder({ stripLeadingSpaces: false }),
      "RingLM.createTextDecoder: unknown option 'stripLeadingSpaces' (did you mean 'stripLeadingSpace'?)"],
    [() => lm.prefill([1, 2], { allLogit: true }), "RingLM.prefill: unknown option 'allLogit' (did you mean 'allLogits'?)"],
    [() => lm.applyChatTemplate([{ role: 'user', content: 'hi' }], { templat: '{{ 1 }}' }),
      "RingLM.applyChatTemplate: unknown option 'templat' (did you mean 'template'?)"],
    [() => lm.tokenize('hi', null), 'RingLM.tokenize: options must be an object'],
  ];
  for (const [call, message] of cases) assert.throws(call, { name: 'TypeError', message });
  // Nothing ran: the cache is empty, and the known names still work.
  assert.equal(lm.position, 0);
  assert.equal(lm.tokenize('hi', { addBos: false, addEos: false, special: false }).length > 0, true);
  assert.equal(lm.prefill(lm.tokenize('hi'), { allLogits: false }).length, lm.info.vocabSize);
  lm.dispose();
});

test('values out of range name the option and the range', async () => {
  const lm = await RingLM.load(model('gqa-q8_0.gguf'));
  const cases = [
    [{ topP: 2 }, RangeError, 'RingLM.generate: topP must be a number in [0, 1] (got 2)'],
    [{ repeatPenalty: 0 }, RangeError, 'RingLM.generate: repeatPenalty must be a number in (0, 1000000] (got 0)'],
    [{ prefillChunk: 1e6 }, RangeError, 'RingLM.generate: prefillChunk must be an integer in [1, 65536] (got 1000000)'],
    [{ seed: 2 ** 53 }, RangeError, 'RingLM.generate: seed must be an integer in [0, 9007199254740991] (got 9007199254740992)'],
    [{ contextPolicy: 'sink' }, RangeError, "RingLM.generate: contextPolicy must be one of 'stop', 'shift', 'sinks' (got 'sink')"],
    [{ keepCache: 1 }, TypeError, 'RingLM.generate: keepCache must be true or false (got 1)'],
    [{ stopTokens: [1.5] }, TypeError, 'RingLM.generate: stopTokens: token ids must be integers (got 1.5)'],
  ];
  for (const [options, type, message] of cases) {
    await assert.rejects(lm.complete('hi', options), (e) => {
      assert.ok(e instanceof type, `${JSON.stringify(options)}: ${e}`);
      assert.equal(e.message, message);
      return true;
    });
  }
  lm.dispose();
});

test('options JS handles itself are still taken: signal, onPrefillProgress, addBos, parseSpecial, a chat template', async () => {
  const lm = await RingLM.load(model('gqa-q8_0.gguf'));
  const progress = [];
  const r = await lm.complete('hello there', {
    maxTokens: 2, temperature: 0, signal: new AbortController().signal, addBos: false, parseSpecial: true,
    onPrefillProgress: (p) => progress.push(p), stop: 'zzz', stopTokens: [], special: false, prefillChunk: 2,
  });
  assert.equal(r.tokens.length, 2);
  assert.equal(r.timings.promptTokens, lm.tokenize('hello there', { addBos: false }).length);
  assert.ok(progress.length >= 2, 'prefill in chunks of 2, each reported');
  let text = '';
  for await (const t of lm.chat([{ role: 'user', content: 'hi' }],
    { template: '{{ messages[0].content }}', variables: {}, maxTokens: 2, temperature: 0 })) text += t.text;
  assert.equal(typeof text, 'string');
  lm.dispose();
});

test('the context policy a generation starts with is the model\'s (learned positions: shift)', async () => {
  for (const [file, policies, fallback] of [['gpt2-f32.gguf', ['stop', 'shift'], 'shift'],
    ['gqa-q8_0.gguf', ['stop', 'shift', 'sinks'], 'sinks']]) {
    const lm = await RingLM.load(model(file), { contextSize: 24 });
    assert.deepEqual(lm.info.contextPolicies, policies, file);
    assert.equal(lm.info.defaultContextPolicy, fallback, file);
    // No policy given: generation runs past the full ring under the model's policy.
    const r = await lm.complete([1, 40, 41, 42], { maxTokens: 40, temperature: 0, stopTokens: [] });
    assert.ok(lm.cacheState.dropped > 0, `${file}: the ring wrapped`);
    assert.ok(r.tokens.length > 20, file);
    if (fallback === 'shift') {
      await assert.rejects(lm.complete([1, 2], { contextPolicy: 'sinks' }), /'sinks' needs rotary positions/);
    }
    lm.dispose();
  }
});

test('the command lines: unknown flags suggest the one meant, out-of-range values name the flag and the range', () => {
  const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  let r = cli('-m', model('gqa-q8_0.gguf'), '--temprature', '0');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, "ringlm: unknown option '--temprature' (did you mean '--temp'?)\n");
  r = cli('--top-p', '2');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'ringlm: --top-p must be a number in [0, 1] (got 2)\n');
  r = cli('--context-policy', 'sink');
  assert.equal(r.stderr, "ringlm: --context-policy must be one of 'stop', 'shift', 'sinks' (got 'sink')\n");
  r = cli('--help');
  assert.equal(r.status, 0);
  for (const spec of [['--temp X', '(default 0.8)'], ['--top-k N', '(default 40)'], ['--seed N', '(default random)'],
    ['--stop TEXT', '(default none)'], ['--prefill-chunk N', '(default 64)'], ['--special', '(default false)']]) {
    assert.match(r.stdout, new RegExp(`${spec[0]}\\s.*${spec[1].replace(/[()]/g, '\\$&')}`), spec[0]);
  }
  // Every generation flag of the schema is offered, and works: a greedy run with a few of them.
  r = cli('-m', model('gqa-q8_0.gguf'), '-p', 'hi', '-n', '3', '--temp', '0', '--sink-tokens', '2', '--prefill-chunk', '1',
    '--stop-tokens', '0');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 prompt tokens|\d+ prompt tokens/);

  assert.ok(existsSync(NATIVE), `${NATIVE} is missing: build the native CLI`);
  const native = (...args) => spawnSync(NATIVE, ['generate', '-m', model('gqa-q8_0.gguf'), '--tokens', '1,2', ...args], { encoding: 'utf8' });
  r = native('--temprature', '0');
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "ringlm-cli: unknown option '--temprature' (did you mean '--temp'?)\n");
  r = native('--top-p', '2');
  assert.equal(r.stderr, 'ringlm-cli: --top-p: topP must be a number in [0, 1] (got 2)\n');
  r = native('--top-k', '1.5');
  assert.equal(r.stderr, 'ringlm-cli: --top-k: topK must be an integer in [0, 2147483647] (got 1.5)\n');
  r = native('--temp', '0', '-n', '4', '--context-policy', 'stop', '--seed', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split(/\s+/).length, 4);
});
