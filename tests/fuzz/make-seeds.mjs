#!/usr/bin/env node
// Writes the fuzzers' seed corpora into tests/fuzz/corpus/<target>/ (checked in; deterministic).
//
//   node tests/fuzz/make-seeds.mjs
//
//   gguf/       tiny valid llama models (every weight type, v2, alignment 64, tied, no tokenizer): the
//               fuzzer mutates their headers, counts and offsets from a file that loads and runs
//   tokenizer/  a flags byte (vocabulary + options, see tokenizer_fuzz.cpp) and text: ASCII, accents, CJK,
//               emoji, spaces and newlines, control-token texts, invalid UTF-8
//   sampler/    vocabulary size, options and logits as little-endian bytes (see sampler_fuzz.cpp)
//   grammar/    GBNF grammars (good ones with a text to match after a 0x01 byte, and broken ones)

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRandomLlama } from '../../tools/gguf/random-llama.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function writeCorpus(name, seeds) {
  const dir = path.join(HERE, 'corpus', name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(path.join(dir, f));
  for (const [file, bytes] of Object.entries(seeds)) writeFileSync(path.join(dir, file), bytes);
  return Object.keys(seeds).length;
}

// --- gguf: the smallest models the random-llama generator makes (vocab 259: 3 specials + 256 bytes) ---
const tiny = { seed: 5, dim: 32, layers: 1, heads: 2, kvHeads: 1, ffn: 32, vocab: 259, ctx: 16 };
const gguf = {};
for (const type of ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q5_1']) {
  gguf[`tiny-${type.toLowerCase()}.gguf`] = makeRandomLlama({ ...tiny, type }).toBuffer();
}
// K-quants need rows of 256; ffn 96 makes ffn_down fall back to Q5_0 / Q8_0, as in a real Q4_K_M file.
gguf['tiny-q4_k_m.gguf'] = makeRandomLlama({ ...tiny, dim: 256, ffn: 96, type: 'Q4_K_M' }).toBuffer();
gguf['tiny-v2-align64.gguf'] = makeRandomLlama({ ...tiny, type: 'Q4_0', version: 2, alignment: 64 }).toBuffer();
gguf['tiny-tied.gguf'] = makeRandomLlama({ ...tiny, type: 'Q8_0', tiedOutput: true, layers: 2 }).toBuffer();
{
  const w = makeRandomLlama({ ...tiny, type: 'Q4_0' });
  for (const key of [...w.metadata.keys()]) if (key.startsWith('tokenizer.')) w.metadata.delete(key);
  gguf['tiny-no-tokenizer.gguf'] = w.toBuffer();
}

// --- tokenizer: flags byte + UTF-8 (or not) text ---
const texts = [
  'Hello world', ' leading space', 'trailing space ', 'two  spaces\tand\ttabs\n\nnewlines\r\n',
  'naïve café — “quotes” ’s', '日本語のテキスト、中文，한국어', 'emoji 🦙🚀👩‍👩‍👧 ok', "it's don't I'll we've 123 4567",
  '<s> </s> <unk> <|endoftext|> <|im_start|>user<|im_end|> <tool_call> <|eot_id|>', '\u2581already\u2581escaped',
  'a'.repeat(200), '   ', '', 'x=1; y = [2,3]; // code\n\tif (x) { return y; }',
];
const tokenizer = {};
let i = 0;
for (const text of texts) {
  for (const flags of [0, 1, 2, 3, 16 | 3, 4 | 8 | 32 | 1]) {
    tokenizer[`text-${String(i++).padStart(3, '0')}`] = Buffer.concat([Buffer.from([flags]), Buffer.from(text, 'utf8')]);
  }
}
const invalid = [[0xff, 0xfe, 0x41], [0xc3], [0xe2, 0x96], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x80, 0x80, 0x61]];
for (const bytes of invalid) {
  for (const flags of [0, 1, 2, 3, 128]) tokenizer[`bytes-${String(i++).padStart(3, '0')}`] = Buffer.from([flags, ...bytes]);
}

// --- sampler: u16 vocab, f32 temperature, i32 topK, f32 topP, f32 minP, f32 repeat, f32 presence,
//     f32 frequency, i16 lastN, u64 seed, then f32 logits ---
function samplerSeed({ vocab, temperature, topK, topP, minP, repeat = 1, presence = 0, frequency = 0, lastN = 64, seed = 1n, logits }) {
  const b = Buffer.alloc(2 + 4 * 7 + 2 + 8 + 4 * logits.length);
  let o = 0;
  o = b.writeUInt16LE(vocab, o); o = b.writeFloatLE(temperature, o); o = b.writeInt32LE(topK, o);
  o = b.writeFloatLE(topP, o); o = b.writeFloatLE(minP, o); o = b.writeFloatLE(repeat, o);
  o = b.writeFloatLE(presence, o); o = b.writeFloatLE(frequency, o); o = b.writeInt16LE(lastN, o);
  o = b.writeBigUInt64LE(seed, o);
  for (const l of logits) o = b.writeFloatLE(l, o);
  return b;
}
const ramp = (n) => Array.from({ length: n }, (_, k) => Math.sin(k) * 5);
const sampler = {
  'default': samplerSeed({ vocab: 32, temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, logits: ramp(32) }),
  'greedy': samplerSeed({ vocab: 100, temperature: 0, topK: 0, topP: 1, minP: 0, logits: ramp(100) }),
  'penalties': samplerSeed({ vocab: 16, temperature: 1, topK: 0, topP: 1, minP: 0, repeat: 1.3, presence: 0.5, frequency: 0.2, lastN: 8, logits: ramp(16) }),
  'nan-inf': samplerSeed({ vocab: 8, temperature: 1, topK: 3, topP: 0.5, minP: 0.1, logits: [NaN, Infinity, -Infinity, 1e38, -1e38, 1e-45, 0, NaN] }),
  'all-neg-inf': samplerSeed({ vocab: 4, temperature: 2, topK: 0, topP: 0.9, minP: 0.2, logits: [-Infinity, -Infinity, -Infinity, -Infinity] }),
  'all-nan': samplerSeed({ vocab: 5, temperature: 0.5, topK: 2, topP: 0.1, minP: 0.9, logits: [NaN, NaN, NaN, NaN, NaN] }),
  'bad-options': samplerSeed({ vocab: 10, temperature: NaN, topK: -5, topP: 2, minP: -1, repeat: 0, logits: ramp(10) }),
  'tiny-temp': samplerSeed({ vocab: 64, temperature: 1e-30, topK: 1, topP: 0, minP: 1, logits: ramp(64) }),
};

// --- grammar: GBNF text, 0x01, then a text for the matcher (see grammar_fuzz.cpp) ---
const grammarSeed = (grammar, text = '') => Buffer.concat([Buffer.from(grammar), Buffer.from([1]), Buffer.from(text)]);
const grammar = {
  'json': grammarSeed(`root ::= value
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws (string ":" ws value ("," ws string ":" ws value)*)? "}" ws
array ::= "[" ws (value ("," ws value)*)? "]" ws
string ::= "\"" ([^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}))* "\"" ws
number ::= "-"? ([0-9] | [1-9] [0-9]{0,15}) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? ws
ws ::= | " " | "\n" [ \t]{0,20}
`, '{"a": [1, -2.5e3, "x\\n\\u00e9", true, null], "b": {}}'),
  'arithmetic': grammarSeed('root ::= (expr "=" ws term "\n")+\nexpr ::= term ([-+*/] term)*\nterm ::= [a-z]+ ws | [0-9]+ ws | "(" ws expr ")" ws\nws ::= [ \t]*\n', '(a+1)*2 = x\n'),
  'utf8': grammarSeed('root ::= [α-ω]{2,6} " " [ぁ-ゟ]+ [\\U0001F600-\\U0001F64F]? .\n', 'αβγ ぁあ😀\xff'),
  'repetition': grammarSeed('root ::= ("ab"{2} [0-9]{1,3} [^\\n]?)* "!"{0,2}\n# comment\n', 'abab12xabab!'),
  'nested': grammarSeed('root ::= group+\ngroup ::= "(" (group | [a-c])* ")"\n', '((a)(b(c)))'),
  'ambiguous': grammarSeed('root ::= (a | a a | a a a)*\na ::= "x" | "x" | [x-y]\n', 'xxxxxxxxxxxxxxxxyx'),
  'crlf': grammarSeed('root ::= (\r\n "a" |\r\n "b"\r\n)\r\n', 'b'),
  'escapes': grammarSeed('root ::= "\\x41\\u00e9\\U0001F600\\t\\r\\n\\\\\\"" [\\[\\]\\-a-]\n', 'Aé😀\t\r\n\\"-'),
  'left-recursion': grammarSeed('root ::= expr\nexpr ::= opt expr "+" | "1"\nopt ::= "x"?\n'),
  'undefined': grammarSeed('root ::= item\nitem ::= "a" | tiem\n'),
  'no-string': grammarSeed('root ::= "a" root\n'),
  'deep': grammarSeed(`root ::= ${'('.repeat(300)}"a"${')'.repeat(300)}\n`),
  'unterminated': grammarSeed('root ::= "abc\n'),
  'bad-escape': grammarSeed('root ::= "\\q" [\\x4]\n'),
  'tokens': grammarSeed('root ::= <[12]> !<think>\n'),
  'big-repeat': grammarSeed('root ::= ("abcdefgh"{2000}){2000}\n'),
};

const counts = { gguf: writeCorpus('gguf', gguf), tokenizer: writeCorpus('tokenizer', tokenizer), sampler: writeCorpus('sampler', sampler),
  grammar: writeCorpus('grammar', grammar) };
console.log(`seed corpora in ${path.join(HERE, 'corpus')}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);

// --- state: saveState() snapshots of tiny-q4_0.gguf at contextSize 16 (the model state_fuzz loads), taken
//     through the wasm build: empty, mid-context, full under stop, wrapped under shift and sinks ---
try {
  const { RingLM } = await import('../../wasm/ringlm.js');
  const lm = await RingLM.load(path.join(HERE, 'corpus/gguf/tiny-q4_0.gguf'), { contextSize: 16 });
  const state = {};
  state['empty'] = lm.saveState();
  lm.prefill([1, 2, 3, 4, 5]);
  state['prefill-5'] = lm.saveState();
  lm.reset();
  await lm.complete([1, 2, 3], { maxTokens: 30, contextPolicy: 'stop', seed: 1, keepCache: true });
  state['stop-full'] = lm.saveState();
  await lm.complete([1, 7, 8], { maxTokens: 40, contextPolicy: 'shift', keepTokens: 2, seed: 2, repeatPenalty: 1.2 });
  state['shift-wrapped'] = lm.saveState();
  await lm.complete([1, 9], { maxTokens: 40, contextPolicy: 'sinks', sinkTokens: 4, seed: 3, penaltyLastN: 8, presencePenalty: 0.5 });
  state['sinks-wrapped'] = lm.saveState();
  lm.dispose();
  console.log(`state ${writeCorpus('state', state)}`);
} catch (e) {
  console.log(`state: not written (${e.message}); build the wasm module first`);
}
