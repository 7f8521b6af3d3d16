// Grammars (the `grammar` option), held to llama.cpp: greedy output under a GBNF grammar is node-llama-cpp's
// (llama.createGrammar, the same prompt ids, temperature 0, the same maxTokens) for a dozen grammars on random
// models with real vocabularies (Llama-2's SentencePiece with byte fallback, GPT-2's byte-level BPE, whose
// tokens often end inside a character) and on the built-in model. Sampled output, over many seeds, is checked
// by a matcher written here in JS (tests/reference/gbnf.mjs), not by ringlm's own. Bad grammars are errors
// with a line and column, and the model stays usable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { makeVocabModels } from '../tools/gguf/vocab-models.mjs';
import { disposeReferenceLlama, getReferenceLlama, llamaCppLogprobs } from './reference/llamacpp.mjs';
import { gbnfMatcher } from './reference/gbnf.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
makeVocabModels(path.join(ROOT, 'build/models'));
// How far ringlm's logits may stray from llama.cpp's (tests/llamacpp-compare.test.mjs, default-model.test.mjs):
// F32 files to ~1e-5, Q8_0 ones (the built-in model) up to 0.3 where llama.cpp quantizes activations.
const LOGIT_TOLERANCE = { 'llama-spm': 2e-3, gpt2: 2e-3, builtin: 0.3 };
const MODELS = {
  'llama-spm': path.join(ROOT, 'build/models/vocab-llama-spm.gguf'),
  gpt2: path.join(ROOT, 'build/models/vocab-gpt2.gguf'),
  builtin: path.join(ROOT, 'models/ringlm-kjv-3.7m.gguf'),
};

// The grammars: llama.cpp's own examples (written out again here) and ones for each feature.
const GRAMMARS = {
  json: readFileSync(path.join(ROOT, 'tests/reference/json.gbnf'), 'utf8'),
  arithmetic: String.raw`root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
`,
  list: String.raw`root ::= item+
# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
`,
  chess: String.raw`root   ::= (
    "1. " move " " move "\n"
    ([1-9] [0-9]? ". " move " " move "\n")+
)
move   ::= (pawn | nonpawn | castle) [+#]?
pawn   ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
castle ::= "O-O" "-O"?
`,
  ranges: String.raw`root ::= [A-Z]{2,4} "-" [0-9]{3} ("." [a-f0-9]{1,2}){0,3} "!"
`,
  classes: String.raw`root ::= word (" " word){2,}
word ::= [a-zA-Z] [a-z0-9_'-]*
`,
  negation: String.raw`root ::= "\"" [^"\n aeiou]{1,12} "\"" ([^x]{3,} ".")?
`,
  utf8: String.raw`root ::= greek " " kana " " (emoji | [à-ÿ])+
greek ::= [α-ω]{2,6}
kana  ::= [ぁ-ゟ]{1,4}
emoji ::= [\U0001F600-\U0001F64F]
`,
  choice: String.raw`root ::= ("yes" | "no" | "maybe, " ("yes" | "no")) "."
`,
  any: String.raw`root ::= .{3,40} "\n"
`,
  nested: String.raw`root ::= group{1,3}
group ::= "(" (group | [a-c]+)* ")"
`,
  escapes: String.raw`root ::= "\x41\u00e9\t" [\[\]\-]+ "\\" [\u0100-\u017f]*
`,
};

const PROMPT = 'Once upon a time, the answer was';
const MAX_TOKENS = 40;

const models = {};
before(async () => {
  for (const [name, file] of Object.entries(MODELS)) {
    assert.ok(existsSync(file), `${file} is missing`);
    models[name] = await RingLM.load(file, { contextSize: 256 });
  }
});
after(async () => {
  for (const lm of Object.values(models)) lm.dispose();
  await disposeReferenceLlama();
});

/** llama.cpp's greedy tokens under the grammar: { tokens, ended } (ended: it chose an end-of-generation token). */
async function llamaCppGreedy(llama, model, context, promptIds, grammarText) {
  const { LlamaGrammar, LlamaGrammarEvaluationState } = await import('node-llama-cpp');
  const grammar = new LlamaGrammar(llama, { grammar: grammarText });
  const sequence = context.getSequence();
  try {
    const tokens = [];
    let ended = false;
    const state = new LlamaGrammarEvaluationState({ model, grammar });
    for await (const token of sequence.evaluate(promptIds, { temperature: 0, grammarEvaluationState: state, yieldEogToken: true })) {
      if (model.isEogToken(token)) {
        ended = true;
        break;
      }
      tokens.push(token);
      if (tokens.length >= MAX_TOKENS) break;
    }
    return { tokens, ended };
  } finally {
    sequence.dispose();
  }
}

describe('greedy output under a grammar is llama.cpp\'s', () => {
  for (const modelName of Object.keys(MODELS)) {
    test(modelName, async (t) => {
      const lm = models[modelName];
      const llama = await getReferenceLlama();
      const model = await llama.loadModel({ modelPath: MODELS[modelName], useMmap: false, gpuLayers: 0 });
      const context = await model.createContext({
        contextSize: 256, sequences: 1, threads: 1, flashAttention: false,
        experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
      });
      try {
        let nearTies = 0;
        for (const [name, grammar] of Object.entries(GRAMMARS)) {
          const promptIds = Array.from(lm.tokenize(PROMPT));
          const ours = await lm.complete(promptIds, { grammar, temperature: 0, maxTokens: MAX_TOKENS });
          const theirs = await llamaCppGreedy(llama, model, context, promptIds, grammar);
          const what = `${modelName} / ${name}: ours ${JSON.stringify(ours.tokens)} (${ours.finishReason}), llama.cpp's ${JSON.stringify(theirs.tokens)}${theirs.ended ? ' + end' : ''}`;
          const n = Math.min(ours.tokens.length, theirs.tokens.length);
          let same = 0;
          while (same < n && ours.tokens[same] === theirs.tokens[same]) same++;
          if (same === ours.tokens.length && same === theirs.tokens.length) {
            assert.equal(ours.finishReason === 'stop', theirs.ended, `${what}: both end, or neither`);
            assert.ok(ours.tokens.length > 0 || theirs.ended, what);
            continue;
          }
          // A different token: allowed only where both are allowed and the two implementations rank them differently
          // by their raw logits within the file's tolerance (a near-tie), which llama.cpp's own teacher-forced
          // distribution at that point shows; the grammar is not what parts them.
          assert.ok(same < n, `${what}: one stops where the other goes on`);
          const prefix = [...promptIds, ...ours.tokens.slice(0, same)];
          lm.reset();
          const logits = lm.prefill(prefix);
          lm.reset();
          const reference = await llamaCppLogprobs(MODELS[modelName], prefix, { from: prefix.length - 1 });
          const a = ours.tokens[same], b = theirs.tokens[same];
          const oursPrefers = logits[a] - logits[b], theirsPrefers = reference[b] - reference[a];
          assert.ok(oursPrefers >= 0 && theirsPrefers >= 0 && oursPrefers + theirsPrefers <= LOGIT_TOLERANCE[modelName],
            `${what}: they part at token ${same}: ringlm prefers ${a} by ${oursPrefers}, llama.cpp prefers ${b} by ${theirsPrefers}`);
          nearTies++;
        }
        t.diagnostic(`${modelName}: ${Object.keys(GRAMMARS).length - nearTies} grammars token for token, ${nearTies} parting at a near-tie`);
        assert.ok(nearTies <= 2, `${modelName}: ${nearTies} near-ties in ${Object.keys(GRAMMARS).length} grammars`);
      } finally {
        await context.dispose();
        await model.dispose();
      }
    });
  }
});

/** A generation's text as the grammar saw it: raw pieces, control tokens as their text. */
function grammarText(lm, ids) {
  const decoder = lm.createTextDecoder({ special: true, stripLeadingSpace: false });
  let text = '';
  for (const id of ids) text += decoder.push(id);
  return text + decoder.flush();
}

describe('sampled output always matches the grammar (checked by an independent matcher)', () => {
  for (const modelName of ['llama-spm', 'gpt2', 'builtin']) {
    test(modelName, async () => {
      const lm = models[modelName];
      let complete = 0, total = 0;
      for (const [name, grammar] of Object.entries(GRAMMARS)) {
        const matcher = gbnfMatcher(grammar);
        for (let seed = 1; seed <= 12; seed++) {
          // Hot and wide (every allowed token in play), and the default chain.
          const options = seed % 2 ? { temperature: 1.5, topK: 0, topP: 1, minP: 0 } : {};
          const r = await lm.complete(PROMPT, { grammar, seed, maxTokens: 48, ...options });
          let text = grammarText(lm, r.tokens);
          const what = `${modelName} / ${name} / seed ${seed}: ${JSON.stringify(text)} (${r.finishReason})`;
          total++;
          if (r.finishReason === 'stop') {
            complete++;
            assert.ok(matcher.matches(text), `${what}: a complete match`);
          } else {
            assert.equal(r.finishReason, 'length', what);
            if (text.endsWith('\uFFFD')) text = text.slice(0, -1);  // cut inside a character
            assert.ok(matcher.isPrefix(text), `${what}: the beginning of a match`);
          }
        }
      }
      assert.ok(complete > 0, `${modelName}: some generations completed (${complete} of ${total})`);
    });
  }
});

describe('grammar triggers (a lazy grammar): free text until a trigger, then a match from its first character', () => {
  // Triggers a text written by these models meets early and often: a letter, and two-character ones that are often
  // written across two tokens. The independent matcher judges the text from the first trigger on.
  const CASES = [
    { triggers: ['e'], grammar: String.raw`root ::= "e" [a-z]* (" " [a-z]+){0,5} "."
` },
    { triggers: ['th', ' a'], grammar: String.raw`root ::= ("th" | " a") [a-z ]{0,30} [.!]
` },
  ];
  for (const modelName of ['llama-spm', 'gpt2', 'builtin']) {
    test(modelName, async () => {
      const lm = models[modelName];
      let triggered = 0, freeBefore = 0, complete = 0;
      for (const { triggers, grammar } of CASES) {
        const matcher = gbnfMatcher(grammar);
        for (let seed = 1; seed <= 12; seed++) {
          const options = seed % 2 ? { temperature: 1.5, topK: 0, topP: 1, minP: 0 } : {};
          const r = await lm.complete(PROMPT, { grammar, grammarTriggers: triggers, seed, maxTokens: 40, ...options });
          let text = grammarText(lm, r.tokens);
          const what = `${modelName} / ${triggers} / seed ${seed}: ${JSON.stringify(text)} (${r.finishReason})`;
          const at = Math.min(...triggers.map((t) => text.indexOf(t)).filter((i) => i >= 0));
          if (!Number.isFinite(at)) continue;  // no trigger written: free text all through
          triggered++;
          if (at > 0) freeBefore++;
          let rest = text.slice(at);
          if (r.finishReason === 'stop') {
            complete++;
            assert.ok(matcher.matches(rest), `${what}: from the trigger, a complete match`);
          } else {
            assert.equal(r.finishReason, 'length', what);
            if (rest.endsWith('\uFFFD')) rest = rest.slice(0, -1);
            assert.ok(matcher.isPrefix(rest), `${what}: from the trigger, the beginning of a match`);
          }
        }
      }
      assert.ok(triggered >= 6, `${modelName}: ${triggered} of 24 generations wrote a trigger`);
      assert.ok(freeBefore > 0, `${modelName}: some wrote free text before the trigger`);
      assert.ok(complete > 0, `${modelName}: some completed the grammar after the trigger`);
    });
  }

  test('without a trigger in the output, the grammar never holds; errors for triggers without a grammar, empty ones, with jsonSchema', async () => {
    const lm = models.builtin;
    const free = await lm.complete(PROMPT, { seed: 3, maxTokens: 24, temperature: 0 });
    const lazy = await lm.complete(PROMPT, { grammar: 'root ::= "never"\n', grammarTriggers: ['\u00e9\u00e9\u00e9'], seed: 3, maxTokens: 24, temperature: 0 });
    assert.deepEqual(lazy.tokens, free.tokens, 'a trigger never written leaves the greedy output as it is');
    await assert.rejects(lm.complete('hi', { grammarTriggers: ['a'], maxTokens: 2 }), /grammarTriggers switch a grammar on: give the grammar too/);
    await assert.rejects(lm.complete('hi', { grammar: 'root ::= "a"\n', grammarTriggers: ['a', ''], maxTokens: 2 }), /grammarTriggers\[1\] is empty/);
    await assert.rejects(lm.complete('hi', { jsonSchema: { type: 'object' }, grammarTriggers: ['{'], maxTokens: 2 }), /grammarTriggers .* do not combine with jsonSchema/);
    await assert.rejects(lm.complete('hi', { grammar: 'root ::= "a"\n', grammarTriggers: [1], maxTokens: 2 }), { name: 'TypeError', message: /grammarTriggers/ });
    assert.equal((await lm.complete('hi', { maxTokens: 3, temperature: 0 })).tokens.length, 3, 'still usable');
  });
});

describe('bad grammars', () => {
  test('an error with line and column, before anything runs; the model stays usable', async () => {
    const lm = models['llama-spm'];
    lm.reset();
    const cases = [
      ['root ::= "a"\nitem ::= [a-z\n', 'RingLM.generate: grammar: line 2, column 10: unterminated character class: no closing \']\''],
      ['root ::= item\n', "RingLM.generate: grammar: line 1, column 10: rule 'item' is used but never defined"],
      ['root ::= root "x"\n', /line 1, column 1: rule 'root' is left-recursive/],
      ['root ::= "x" root\n', /the grammar accepts no string/],
      ['item ::= "x"\n', /no rule named 'root'/],
      [`root ::= ${'('.repeat(5000)}"a"${')'.repeat(5000)}\n`, /groups nested more than 200 deep/],
    ];
    for (const [grammar, message] of cases) {
      await assert.rejects(lm.complete('hi', { grammar, maxTokens: 4 }), (e) => {
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      });
      assert.equal(lm.position, 0, 'nothing ran');
    }
    await assert.rejects(lm.complete('hi', { grammar: 42 }), { name: 'TypeError', message: 'RingLM.generate: grammar must be a string' });
    const chat = lm.chat([{ role: 'user', content: 'hi' }], { grammar: 'root ::= "a" |\n| ]', template: '{{ messages[0].content }}' });
    await assert.rejects(chat.next(), /grammar: line 2, column 3: expected a newline or the end of the grammar after rule 'root', found '\]'/);
    // Still usable, with and without a grammar.
    const r = await lm.complete('hi', { grammar: 'root ::= "ok"\n', temperature: 0, maxTokens: 8 });
    assert.equal(grammarText(lm, r.tokens), 'ok');
    assert.equal((await lm.complete('hi', { maxTokens: 3, temperature: 0 })).tokens.length, 3);
  });
});

describe('the command lines', () => {
  test('--grammar and --grammar-file (ringlm and ringlm-cli); a bad grammar exits with its line and column', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const grammar = 'root ::= " unto " [a-z]+ ("," | ".")\n';
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ringlm-grammar-')), 'g.gbnf');
    writeFileSync(file, grammar);
    const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), '-m', MODELS.builtin, '-p', 'And God said',
      '-n', '30', '--temp', '0', ...args], { encoding: 'utf8', timeout: 60_000 });
    const matcher = gbnfMatcher(grammar);
    for (const args of [['--grammar', grammar], ['--grammar-file', file]]) {
      const r = cli(...args);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith('And God said'), r.stdout);
      assert.ok(matcher.matches(r.stdout.slice('And God said'.length).replace(/\n$/, '')), r.stdout);
      assert.match(r.stderr, /finish: stop/);
    }
    const bad = cli('--grammar', 'root ::= [a-z');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /grammar: line 1, column 10: unterminated character class/);
    // The native twin: the same greedy ids as the package.
    const native = path.join(path.resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');
    const lm = models.builtin;
    const prompt = Array.from(lm.tokenize('And God said'));
    const ours = await lm.complete(prompt, { grammar, temperature: 0, maxTokens: 30 });
    const r = spawnSync(native, ['generate', '-m', MODELS.builtin, '--tokens', prompt.join(','), '--temp', '0', '-n', '30', '--grammar-file', file],
      { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split(/\s+/).map(Number), ours.tokens);
    const nativeBad = spawnSync(native, ['generate', '-m', MODELS.builtin, '--tokens', '1', '--grammar', 'root ::= x\n'], { encoding: 'utf8' });
    assert.equal(nativeBad.stderr, "ringlm-cli: grammar: line 1, column 10: rule 'x' is used but never defined\n");
    // --grammar-trigger (repeatable): free text, then the grammar from the first trigger; the native twin agrees.
    const lazyGrammar = 'root ::= ("th" | "e") [a-z]* ("," | ".")\n';
    const lazyArgs = ['--grammar', lazyGrammar, '--grammar-trigger', 'th', '--grammar-trigger', 'e'];
    const lazy = cli(...lazyArgs);
    assert.equal(lazy.status, 0, lazy.stderr);
    const written = lazy.stdout.slice('And God said'.length).replace(/\n$/, '');
    const at = Math.min(...['th', 'e'].map((t) => written.indexOf(t)).filter((i) => i >= 0));
    assert.ok(at > 0 && gbnfMatcher(lazyGrammar).matches(written.slice(at)), lazy.stdout);
    const lazyOurs = await lm.complete(prompt, { grammar: lazyGrammar, grammarTriggers: ['th', 'e'], temperature: 0, maxTokens: 30 });
    const lazyNative = spawnSync(native, ['generate', '-m', MODELS.builtin, '--tokens', prompt.join(','), '--temp', '0', '-n', '30', ...lazyArgs],
      { encoding: 'utf8' });
    assert.equal(lazyNative.status, 0, lazyNative.stderr);
    assert.deepEqual(lazyNative.stdout.trim().split(/\s+/).map(Number), lazyOurs.tokens);
  });
});

describe('chat', () => {
  test('a chat reply under a grammar ends at the end-of-turn token once the grammar can stop', async () => {
    const { makeChatModels } = await import('../tools/gguf/chat-models.mjs');
    const lm = await RingLM.load(makeChatModels(path.join(ROOT, 'build/models')).chatml);
    try {
      const messages = [{ role: 'user', content: 'Hi there' }];
      let free = '';
      for await (const t of lm.chat(messages, { maxTokens: 16, temperature: 0 })) free += t.text;
      assert.ok(free.startsWith('Hello') && free.length > 'Hello'.length, free);  // the model's own answer runs past "Hello"
      let reply = '';
      for await (const t of lm.chat(messages, { maxTokens: 16, temperature: 0, grammar: 'root ::= "Hi" | "Hello"\n' })) reply += t.text;
      assert.equal(reply, 'Hello');
      assert.equal(lm.lastResult.finishReason, 'stop');
    } finally {
      lm.dispose();
    }
  });
});
