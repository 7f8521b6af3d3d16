// Tokenizers against llama.cpp, on the real Llama-2 and GPT-2 vocabularies.
//
//   node --test tests/tokenizer.test.mjs
//
// tools/gguf/vocab-models.mjs writes tiny models carrying real vocabularies (Llama-2's SentencePiece one, also
// with Gemma's settings (add_space_prefix false);
// GPT-2's byte-level BPE one under the gpt-2, llama-bpe, qwen2, qwen35, smollm, falcon, deepseek-llm,
// deepseek-coder, gpt-4o and default pre-tokenizers). For every string of tests/reference/tokenizer-strings.mjs, with
// special tokens as text and parsed:
//   - ringlm's ids (wasm, and the native CLI) equal llama.cpp's (node-llama-cpp `model.tokenize(text, special)`);
//   - they equal the JS reference packages' (llama-tokenizer-js, gpt-tokenizer's r50k) where those apply;
//   - detokenize gives the text back (llama: modulo the space llama.cpp puts after a parsed special token; where
//     llama.cpp cleans up spaces before punctuation, the text so cleaned) and equals llama.cpp's detokenize, on
//     those ids and on random id sequences rich in " ?", " '", " 's" and the like;
//   - streaming (one id at a time) gives the raw pieces: the one-shot text before clean-up, and never a U+FFFD
//     the text does not have.
// Invalid UTF-8 cannot travel in a JS string; those cases go in as bytes and are checked against ids that
// llama.cpp's libllama produced from the same bytes (GOLDEN_BYTE_IDS). Throughput is measured and asserted.
// A missing ringlm build fails its tests; nothing is skipped.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import llamaTokenizer from 'llama-tokenizer-js';
import { decode as gpt2Decode, encode as gpt2Encode } from 'gpt-tokenizer/encoding/r50k_base';

import { RingLM } from '../wasm/ringlm.js';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';
import { makeVocabModels } from '../tools/gguf/vocab-models.mjs';
import { disposeReferenceLlama, getReferenceLlama } from './reference/llamacpp.mjs';
import { BYTE_CASES, TEXT_CASES } from './reference/tokenizer-strings.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS_DIR = join(ROOT, 'build', 'models');
const NATIVE_CLI = join(resolve(ROOT, process.env.RINGLM_NATIVE_BUILD ?? 'build/native'), 'ringlm-cli');

/** English throughput floor (MB of text per CPU second) in wasm. */
const MIN_ENGLISH_MB_PER_S = 1;
/** 100 KB of one character repeated: CPU seconds allowed. */
const MAX_RUN_SECONDS = 1;

// ids llama.cpp gives BYTE_CASES (in order), tokenized with add_special = false. Produced once by a small
// program linked against node-llama-cpp 3.21.1's prebuilt libllama (llama_tokenize on the raw bytes), with
// parse_special false and true alike.
const GOLDEN_BYTE_IDS = {
  'vocab-llama-spm.gguf': [
    '29871,131', '263,258,101', '29871,257,107,104,111,417', '921,198', '921,231,187', '921,243,162,155',
    '633,231,187,102,29881', '29871,195,131,29920', '29871,227,131,178', '29871,240,163,131,29871,240,194,194',
    '29871,251,139,131,131,131', '274,2142,236,229,153,132,1056,242,121,104', '29871,131,132,133,194',
    '259,258,229,153,132,198', '29871,243,162,155,131,258,243,162,155,131',
    '29871,131,132,133,134,135,136,137,138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153,154,155,156,157,158,159,160,161,162,163,164,165,166,167,168,169,170,171,172,173,174,175,176,177,178,179,180,181,182,183,184,185,186,187,188,189,190,191,192,193,194,195,196,197,198,199,200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255,256,257,258',
  ],
  // Gemma's settings on the same vocabulary: no space before the text.
  'vocab-gemma-spm.gguf': [
    '131', '29874,258,101', '257,107,104,111,417', '29916,198', '29916,231,187', '29916,243,162,155',
    '370,231,187,102,29881', '195,131,29920', '227,131,178', '240,163,131,29871,240,194,194', '251,139,131,131,131',
    '1113,29888,236,229,153,132,1056,242,121,104', '131,132,133,194', '29871,258,229,153,132,198',
    '243,162,155,131,258,243,162,155,131',
    '131,132,133,134,135,136,137,138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153,154,155,156,157,158,159,160,161,162,163,164,165,166,167,168,169,170,171,172,173,174,175,176,177,178,179,180,181,182,183,184,185,186,187,188,189,190,191,192,193,194,195,196,197,198,199,200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255,256,257,258',
  ],
  'vocab-gpt2.gguf': [
    '4210', '64,4210,65', '4210,31373', '87,4210', '87,6353', '87,48585', '397,6353,10210', '188,89', '14',
    '169,254,222,220,169,123,123', '12100,4210', '66,1878,4210,12385,4210,303', '12100', '20543,20543',
    '47249,222,4210,47249,222',
    '12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100,12100',
  ],
};

// The same program gave, for the GPT-2 vocabulary under pre "llama-bpe", "qwen2", "qwen35", "falcon", "deepseek-llm",
// "deepseek-coder" and "gpt-4o", the ids it gave under "gpt-2" (on these bytes the words differ at most where BPE
// then gives the same tokens).
for (const file of ['vocab-llama-bpe.gguf', 'vocab-qwen2.gguf', 'vocab-qwen35.gguf', 'vocab-falcon.gguf',
  'vocab-deepseek-llm.gguf', 'vocab-deepseek-coder.gguf', 'vocab-gpt4o.gguf']) {
  GOLDEN_BYTE_IDS[file] = GOLDEN_BYTE_IDS['vocab-gpt2.gguf'];
}
// The byte cases hold no digits, where StarCoder's split (digits first) equals GPT-2's: llama.cpp's ids for
// the GPT-2 vocabulary are its ids for the same vocabulary under pre "smollm".
GOLDEN_BYTE_IDS['vocab-smollm.gguf'] = GOLDEN_BYTE_IDS['vocab-gpt2.gguf'];
// llama.cpp's default split (no tokenizer.ggml.pre) differs from GPT-2's only around punctuation and numbers;
// these cases hold neither, apart from U+FFFD, which is a symbol (So), not punctuation.
GOLDEN_BYTE_IDS['vocab-gpt2-nopre.gguf'] = GOLDEN_BYTE_IDS['vocab-gpt2.gguf'];

// ---- llama.cpp's clean_up_tokenization_spaces (llama_detokenize, most gpt2 vocabularies) ------------------
// A second, independent reading of llama.cpp's three passes, for the round-trip checks below.

function cleanUpSpaces(text) {
  const pass = (a, step) => {
    const out = a.length ? [a[0]] : [];
    for (let i = 1; i < a.length; i++) i = step(a, i, out);
    return out;
  };
  let a = [...text];
  a = pass(a, (s, i, out) => {  // " ?" " !" " ." " ," lose the space
    if (s[i - 1] === ' ' && '?!.,'.includes(s[i])) out.pop();
    out.push(s[i]);
    return i;
  });
  a = pass(a, (s, i, out) => {  // " ' " becomes "'"
    const x = s[i];
    if (x === "'" && i + 1 < s.length && s[i - 1] === ' ' && s[i + 1] === ' ') {
      out.pop();
      s[i + 1] = '\0';
      out.push(x);
      return i + 1;
    }
    out.push(x);
    return i;
  });
  a = pass(a, (s, i, out) => {  // " 's" " 'm" " 're" " 've" lose the space
    const x = s[i];
    if (s[i - 1] === ' ' && x === "'" && i + 1 < s.length) {
      const x1 = s[i + 1];
      if (x1 === 's' || x1 === 'm') out.pop();
      else if (x1 !== 't' && x1 !== 'd' && i + 2 < s.length) {
        const x2 = s[i + 2];
        if ((x1 === 'r' && x2 === 'e') || (x1 === 'v' && x2 === 'e')) out.pop();
      }
    }
    out.push(x);
    return i;
  });
  return a.join('');
}

// ---- helpers ------------------------------------------------------------------------------------------

/**
 * The bytes a llama (SentencePiece) tokenizer's tokens of `bytes` stand for. Spaces become '▁' before the text is
 * cut into characters by their lead bytes; a character that is no valid UTF-8 falls back to its bytes, and so a
 * '▁' it swallowed comes back as the three bytes of '▁', not as a space. With `prefix`, a '▁' goes before the text
 * and its space is dropped again.
 */
function spmRecode(bytes, prefix) {
  const mark = [0xe2, 0x96, 0x81];
  const escaped = [...(prefix ? mark : []), ...Array.from(bytes).flatMap((b) => (b === 0x20 ? mark : [b]))];
  const out = [];
  for (let i = 0; i < escaped.length;) {
    const n = Math.min([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][escaped[i] >> 4], escaped.length - i);
    const char = escaped.slice(i, i + n);
    i += n;
    if (char.join() === mark.join()) out.push(0x20);
    else out.push(...char);
  }
  return Uint8Array.from(prefix ? out.slice(1) : out);
}

/**
 * Bytes as llama.cpp's gpt2 tokenizers read them: a lead byte followed by enough continuation bytes is taken
 * whatever it encodes (an overlong form becomes the shorter one; a surrogate stays), anything else is U+FFFD,
 * one byte at a time. Returns the UTF-8 of the codepoints read.
 */
function lenientRecode(bytes) {
  const out = [];
  const cont = (i) => i < bytes.length && (bytes[i] & 0xc0) === 0x80;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    let cp = 0xfffd;
    let n = 1;
    if (b < 0x80) cp = b;
    else if ((b & 0xe0) === 0xc0 && cont(i + 1)) [cp, n] = [((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f), 2];
    else if ((b & 0xf0) === 0xe0 && cont(i + 1) && cont(i + 2)) {
      [cp, n] = [((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f), 3];
    } else if ((b & 0xf8) === 0xf0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      cp = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
      n = 4;
      if (cp > 0x10ffff) cp = 0xfffd;
    }
    i += n;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

// The text a JS string stands for as UTF-8 (lone surrogates become U+FFFD; a leading BOM stays).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const wellFormed = (text) => utf8.decode(new TextEncoder().encode(text));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const ids = (array) => Array.from(array).join(',');
const show = (text) => JSON.stringify(text.length > 50 ? `${text.slice(0, 50)}...(${text.length})` : text);

/** Runs the native CLI on a batch file of lines; returns its output lines. */
function cli(args, lines, dir) {
  const batch = join(dir, 'batch.txt');
  writeFileSync(batch, lines.join('\n') + '\n');
  const r = spawnSync(NATIVE_CLI, [...args, '--batch', batch], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) throw new Error(`ringlm-cli ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\n').slice(0, lines.length);
}

/** Text pieces between special tokens (longest text first), for building references of parsed text. */
function splitSpecial(text, specials) {
  let parts = [text];
  for (const s of [...specials].sort((a, b) => b.length - a.length)) {
    parts = parts.flatMap((p) => (typeof p !== 'string' ? [p] : p.split(s).flatMap((q, i) => (i ? [{ special: s }, q] : [q]))));
  }
  return parts.filter((p) => p !== '');
}

// The JS reference packages, for the two vocabularies they cover.
const JS_REFERENCES = {
  // llama-tokenizer-js: SentencePiece with a space before the text. It encodes lone surrogates itself, so it is
  // given the well-formed string (what the UTF-8 encoders of ringlm and node-llama-cpp make of it).
  'vocab-llama-spm.gguf': {
    specials: { '<unk>': 0, '<s>': 1, '</s>': 2 },
    encode: (text) => (text === '' ? [] : llamaTokenizer.encode(wellFormed(text), false, true)),
    decode: null,
  },
  // The same without the space before the text (its third argument), as Gemma's files ask.
  'vocab-gemma-spm.gguf': {
    specials: { '<unk>': 0, '<s>': 1, '</s>': 2, '<start_of_turn>': 32000, '<end_of_turn>': 32001 },
    encode: (text) => (text === '' ? [] : llamaTokenizer.encode(wellFormed(text), false, false)),
    decode: null,
  },
  // gpt-tokenizer's r50k_base is GPT-2's tokenizer (its own special-token parsing is not used: it misses
  // <|endoftext|> after other text, so parsed text is built piece by piece).
  'vocab-gpt2.gguf': {
    specials: { '<|endoftext|>': 50256 },
    encode: (text) => gpt2Encode(text, { disallowedSpecial: new Set() }),
    decode: (tokens) => gpt2Decode(tokens),
  },
};

// ---- the models ---------------------------------------------------------------------------------------

const PATHS = makeVocabModels(MODELS_DIR);
const MODELS = [
  { file: 'vocab-llama-spm.gguf', cleanSpaces: false },
  { file: 'vocab-gemma-spm.gguf', cleanSpaces: false },
  { file: 'vocab-gpt2.gguf', cleanSpaces: true },
  { file: 'vocab-llama-bpe.gguf', cleanSpaces: true },
  { file: 'vocab-qwen2.gguf', cleanSpaces: false },
  { file: 'vocab-gpt2-nopre.gguf', cleanSpaces: true },
  { file: 'vocab-smollm.gguf', cleanSpaces: false },
  { file: 'vocab-qwen35.gguf', cleanSpaces: false },
  { file: 'vocab-falcon.gguf', cleanSpaces: true },
  { file: 'vocab-deepseek-llm.gguf', cleanSpaces: false },
  { file: 'vocab-deepseek-coder.gguf', cleanSpaces: false },
  { file: 'vocab-gpt4o.gguf', cleanSpaces: false },
];

let llama;
let workDir;
before(async () => {
  llama = await getReferenceLlama();
  workDir = mkdtempSync(join(tmpdir(), 'ringlm-tokenizer-'));
});
after(async () => {
  await disposeReferenceLlama();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

for (const { file, cleanSpaces } of MODELS) {
  const spm = file.endsWith('-spm.gguf');         // SentencePiece-style ("llama") vocabularies
  const prefix = file === 'vocab-llama-spm.gguf';  // ... that put a space before the text (not Gemma's)
  describe(file, () => {
    let lm;
    let reference;  // node-llama-cpp's model
    before(async () => {
      lm = await RingLM.load(PATHS[file]);
      reference = await llama.loadModel({ modelPath: PATHS[file], vocabOnly: true });
    });
    after(async () => {
      lm?.dispose();
      await reference?.dispose();
    });

    for (const special of [false, true]) {
      test(`${TEXT_CASES.length} strings give llama.cpp's ids (special tokens ${special ? 'parsed' : 'as text'})`, () => {
        const mismatches = [];
        for (const { category, text } of TEXT_CASES) {
          const want = ids(reference.tokenize(text, special));
          const got = ids(lm.tokenize(text, { addBos: false, addEos: false, special }));
          if (got !== want) mismatches.push(`${category} ${show(text)}\n  llama.cpp ${want.slice(0, 120)}\n  ringlm    ${got.slice(0, 120)}`);
        }
        assert.deepEqual(mismatches, [], mismatches.slice(0, 5).join('\n'));
      });
    }

    test('invalid UTF-8 (as bytes) gives the ids llama.cpp gives the same bytes', () => {
      const golden = GOLDEN_BYTE_IDS[file];
      BYTE_CASES.forEach(({ name, bytes }, i) => {
        for (const special of [false, true]) {
          assert.equal(ids(lm.tokenize(bytes, { addBos: false, special })), golden[i], `${name} (special ${special})`);
        }
      });
    });

    test('codepoints above U+10FFFF read as U+FFFD (llama.cpp throws on them in gpt2 vocabularies)', () => {
      const bytes = Uint8Array.of(0x61, 0xf7, 0xbf, 0xbf, 0xbf, 0x62);
      const got = ids(lm.tokenize(bytes, { addBos: false }));
      if (spm) {  // bytes fall back one by one, as llama.cpp does
        assert.equal(got, prefix ? '263,250,194,194,194,29890' : '29874,250,194,194,194,29890');
      } else {
        assert.equal(got, ids(lm.tokenize('a\ufffdb', { addBos: false })));
      }
    });

    const js = JS_REFERENCES[file];
    if (js) {
      test('ids equal the JS reference package\'s', () => {
        const mismatches = [];
        for (const special of [false, true]) {
          for (const { category, text } of TEXT_CASES) {
            let want;
            if (!special) {
              want = js.encode(text);
            } else {  // parsed special tokens: the pieces between them, encoded on their own
              want = splitSpecial(text, Object.keys(js.specials)).flatMap((p) => (typeof p === 'string' ? js.encode(p) : [js.specials[p.special]]));
            }
            const got = ids(lm.tokenize(text, { addBos: false, special }));
            if (got !== ids(want)) mismatches.push(`${category} ${show(text)} (special ${special})\n  js     ${ids(want).slice(0, 120)}\n  ringlm ${got.slice(0, 120)}`);
          }
        }
        assert.deepEqual(mismatches, [], mismatches.slice(0, 5).join('\n'));
      });
    }

    test('detokenize gives the text back', () => {
      // llama vocabularies spell ' ' as '▁', so a '▁' in the text comes back as ' ' (as in llama.cpp).
      // Where llama.cpp cleans up spaces (" ," -> ","), the text comes back so cleaned.
      const cleaned = (text) => (cleanSpaces ? cleanUpSpaces(text) : text);
      const normalised = (text) => cleaned(spm ? wellFormed(text).replaceAll('\u2581', ' ') : wellFormed(text));
      for (const { category, text } of TEXT_CASES) {
        const tokens = lm.tokenize(text, { addBos: false });
        assert.equal(lm.detokenize(tokens), normalised(text), `${category} ${show(text)}`);
        // With special tokens parsed and rendered: exact, unless the tokenizer puts a space after each special
        // token (llama with add_space_prefix), where the check is against llama.cpp (next test).
        if (!prefix) {
          const parsed = lm.tokenize(text, { addBos: false, special: true });
          assert.equal(lm.detokenize(parsed, { special: true }), normalised(text), `${category} ${show(text)} (special)`);
        }
      }
      // BOS first (rendered as nothing): the space still goes from the start of the text. (llama.cpp's
      // detokenize would keep it here, dropping a space only from the very first token.)
      assert.equal(lm.detokenize(lm.tokenize('Hello world', { addBos: true, addEos: true })), 'Hello world');
      assert.equal(lm.detokenize(lm.tokenize(' Hello', { addBos: true })), ' Hello');
    });

    test(`detokenize equals llama.cpp's${cleanSpaces ? ' (spaces before punctuation cleaned up)' : ''}`, () => {
      const mismatches = [];
      for (const special of [false, true]) {
        for (const { category, text } of TEXT_CASES) {
          const tokens = lm.tokenize(text, { addBos: false, special });
          const want = reference.detokenize(Array.from(tokens), special);
          const got = lm.detokenize(tokens, { special });
          if (got !== want) mismatches.push(`${category} ${show(text)} (special ${special})\n  llama.cpp ${show(want)}\n  ringlm    ${show(got)}`);
        }
      }
      assert.deepEqual(mismatches, [], mismatches.slice(0, 5).join('\n'));
      if (js?.decode) {  // the package does not clean up spaces
        for (const { text } of TEXT_CASES) {
          const tokens = lm.tokenize(text, { addBos: false });
          assert.equal(lm.detokenize(tokens), cleanUpSpaces(js.decode(Array.from(tokens))), show(text));
        }
      }
    });

    test('detokenize equals llama.cpp\'s on random id sequences rich in spaces, punctuation and apostrophes', () => {
      // Tokens whose joins the clean-up looks at (" ?", " '", "'s", "'re", ...), any token, and special ones.
      const pool = [' ', ' ?', ' !', ' .', ' ,', ' \'', '\'', '\'s', '\'m', '\'t', '\'d', '\'ll', '\'re', '\'ve', 's', 're',
        've', 'll', '?', '.', ' a', 'x', '\n', ' \' ']
        .flatMap((text) => Array.from(lm.tokenize(text, { addBos: false })).slice(0, 1));
      let seed = 12345;
      const random = (n) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const t = lm.tokenizer;
      const specials = [t.bos, t.eos].filter((id) => id !== null);
      const mismatches = [];
      for (let k = 0; k < 2000; k++) {
        const ids = Array.from({ length: 1 + random(12) }, () => {
          const r = random(10);
          if (r < 7) return pool[random(pool.length)];
          if (r < 9) return random(t.tokenCount);
          return specials[random(specials.length)];
        });
        // llama vocabularies: llama.cpp drops the prefix space from the very first token only, even one that
        // renders as nothing (a documented difference, see src/text/tokenizer.h): start with a plain token.
        if (prefix) ids[0] = pool[random(pool.length)];
        for (const special of [false, true]) {
          const want = reference.detokenize(ids, special);
          const got = lm.detokenize(ids, { special });
          if (got !== want) mismatches.push(`[${ids}] (special ${special})\n  llama.cpp ${show(want)}\n  ringlm    ${show(got)}`);
        }
      }
      assert.deepEqual(mismatches, [], mismatches.slice(0, 5).join('\n'));
      if (file === 'vocab-gpt2.gguf') {  // the example of issue #15
        assert.equal(lm.detokenize([15496, 5633]), 'Hello?');
        assert.equal(reference.detokenize([15496, 5633]), 'Hello?');
      }
    });

    test('invalid UTF-8 round-trips as the WHATWG decoder reads it', () => {
      for (const { name, bytes } of BYTE_CASES) {
        const text = lm.detokenize(lm.tokenize(bytes, { addBos: false }));
        // As llama.cpp's detokenize gives it (node-llama-cpp's string conversion reads invalid UTF-8 the
        // WHATWG way too).
        assert.equal(text, reference.detokenize(Array.from(lm.tokenize(bytes, { addBos: false })), false), name);
        if (spm) {
          // Byte fallback keeps every byte; detokenize decodes them as TextDecoder would.
          assert.equal(text, utf8.decode(spmRecode(bytes, prefix)), name);
        } else {
          // gpt2 vocabularies read the bytes as llama.cpp does (see lenientRecode) before merging.
          assert.equal(text, new TextDecoder().decode(lenientRecode(bytes)), name);
        }
      }
    });

    test('streaming one id at a time gives the raw one-shot text, with no U+FFFD mid-stream', () => {
      for (const options of [{}, { special: true }, { stripLeadingSpace: false }]) {
        const cases = [...TEXT_CASES.map((c) => c.text), ...BYTE_CASES.map((c) => c.bytes)];
        for (const input of cases) {
          const tokens = lm.tokenize(input, { addBos: true, special: Boolean(options.special) });
          const decoder = lm.createTextDecoder(options);
          let streamed = '';
          for (const id of tokens) {
            const piece = decoder.push(id);
            if (typeof input === 'string' && !wellFormed(input).includes('\ufffd')) {
              assert.ok(!piece.includes('\ufffd'), `U+FFFD mid-stream in ${show(input)}`);
            }
            streamed += piece;
          }
          streamed += decoder.flush();
          // The stream gives each piece as it is; detokenize() then cleans up spaces where llama.cpp does.
          const oneShot = lm.detokenize(tokens, options);
          const where = `${typeof input === 'string' ? show(input) : hex(input)} ${JSON.stringify(options)}`;
          assert.equal(cleanSpaces ? cleanUpSpaces(streamed) : streamed, oneShot, where);
          if (typeof input === 'string' && !options.special && options.stripLeadingSpace !== false && !spm) {
            assert.equal(streamed, wellFormed(input), where);  // raw: the text itself, spaces and all
          }
        }
      }
      // A stream cut inside a character: nothing until the flush, which gives U+FFFD.
      const emoji = lm.tokenize('😀', { addBos: false });
      if (spm) {
        const decoder = lm.createTextDecoder();
        const parts = Array.from(emoji.slice(0, -1), (id) => decoder.push(id));
        assert.deepEqual(parts.join(''), '');
        assert.equal(decoder.flush(), '\ufffd');
        if (prefix) {
          assert.equal(decoder.push(emoji[0]) + decoder.flush(), '');  // flushed: the next token ('▁') is first again
        } else {
          assert.equal(decoder.push(emoji[0]) + decoder.flush(), '\ufffd');  // no '▁' first: a lone lead byte
        }
      }
    });

    test('BOS, EOS and special tokens follow the model', () => {
      const t = lm.tokenizer;
      assert.ok(t);
      const text = 'Hello world';
      const plain = Array.from(lm.tokenize(text, { addBos: false }));
      const expectBos = spm ? 1 : file === 'vocab-llama-bpe.gguf' ? 50257 : null;
      assert.deepEqual(Array.from(lm.tokenize(text)), expectBos === null ? plain : [expectBos, ...plain]);
      assert.equal(t.addBos, expectBos !== null);
      assert.deepEqual(Array.from(lm.tokenize(text, { addBos: true, addEos: true })), [t.bos, ...plain, t.eos]);
      assert.equal(t.model, spm ? 'llama' : 'gpt2');
      assert.equal(t.addSpacePrefix, prefix);
      assert.ok(t.endOfGeneration.includes(t.eos));
      assert.deepEqual(Array.from(lm.tokenize('')), expectBos === null ? [] : [expectBos]);
      assert.throws(() => lm.detokenize([t.tokenCount]), /outside the vocabulary/);
      assert.throws(() => lm.tokenize(42), TypeError);
    });

    test('the native CLI gives the same ids and text', () => {
      const inputs = [...TEXT_CASES.map((c) => new TextEncoder().encode(c.text)), ...BYTE_CASES.map((c) => c.bytes)];
      for (const special of [false, true]) {
        const lines = cli(['tokenize', '-m', PATHS[file], '--no-bos', ...(special ? ['--special'] : [])], inputs.map(hex), workDir);
        const wasm = inputs.map((bytes) => lm.tokenize(bytes, { addBos: false, special }));
        inputs.forEach((bytes, i) => assert.equal(lines[i], ids(wasm[i]), `native tokenize of ${hex(bytes).slice(0, 60)}`));
        for (const stream of [false, true]) {
          const texts = cli(['detokenize', '-m', PATHS[file], ...(special ? ['--special'] : []), ...(stream ? ['--stream'] : [])],
            wasm.map(ids), workDir);
          wasm.forEach((tokens, i) => {
            // --stream decodes token by token: the raw pieces, as the wasm streaming decoder gives them.
            let want = lm.detokenize(tokens, { special });
            if (stream) {
              const decoder = lm.createTextDecoder({ special });
              want = Array.from(tokens, (id) => decoder.push(id)).join('') + decoder.flush();
            }
            assert.equal(Buffer.from(texts[i], 'hex').toString('utf8'), want, `native detokenize (stream ${stream})`);
          });
        }
      }
    });

    test('throughput: English at least 1 MB/s, 100 KB of one character well under a second', (t) => {
      const english = TEXT_CASES.filter((c) => c.category === 'prose' || c.category === 'code').map((c) => c.text).join('\n');
      let text = '';
      while (text.length < 1 << 20) text += english + '\n';
      lm.tokenize(text.slice(0, 1 << 16));  // warm-up: let the engine optimise the wasm
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const tokens = lm.tokenize(text, { addBos: false });
      const wall = (performance.now() - t0) / 1000;
      const cpu = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(cpu0));
      const mbps = text.length / 1e6 / cpu;
      t.diagnostic(`${file}: English ${(text.length / 1e6).toFixed(2)} MB -> ${tokens.length} tokens: ` +
                   `${mbps.toFixed(1)} MB/s of CPU time, ${(text.length / 1e6 / wall).toFixed(1)} MB/s wall`);
      assert.ok(mbps >= MIN_ENGLISH_MB_PER_S, `English tokenizes at ${mbps.toFixed(2)} MB/s`);
      for (const ch of ['a', ' ', '\n', '中', '😀', '.']) {
        const run = ch.repeat(Math.ceil(100000 / new TextEncoder().encode(ch).length));
        const c0 = process.cpuUsage();
        const n = lm.tokenize(run, { addBos: false }).length;
        const seconds = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(c0));
        t.diagnostic(`${file}: 100 KB of ${JSON.stringify(ch)} -> ${n} tokens in ${(seconds * 1000).toFixed(1)} ms`);
        assert.ok(seconds < MAX_RUN_SECONDS, `100 KB of ${JSON.stringify(ch)} took ${seconds.toFixed(2)} s`);
      }
    });
  });
}

describe('models without a usable tokenizer', () => {
  const model = (edit) => {
    const w = makeRandomLlama({ seed: 3, dim: 32, layers: 1, heads: 2, ffn: 64, vocab: 300, ctx: 32, tiedOutput: true });
    edit(w);
    return w.toBuffer();
  };

  test('no tokenizer metadata: the model loads, tokenize says why it cannot', async () => {
    const lm = await RingLM.load(model((w) => {
      for (const key of [...w.metadata.keys()]) if (key.startsWith('tokenizer.')) w.metadata.delete(key);
    }));
    try {
      assert.equal(lm.tokenizer, null);
      assert.throws(() => lm.tokenize('hello'), /no tokenizer \(no 'tokenizer\.ggml\.model' metadata\)/);
      assert.throws(() => lm.detokenize([1]), /no tokenizer/);
      assert.equal(lm.prefill([1, 2, 3]).length, 300);  // the weights still run
    } finally {
      lm.dispose();
    }
  });

  test('an unsupported kind: the model loads, tokenize names it', async () => {
    const lm = await RingLM.load(model((w) => {
      w.metadata.delete('tokenizer.ggml.model');
      w.addString('tokenizer.ggml.model', 't5');
    }));
    try {
      assert.equal(lm.tokenizer, null);
      assert.throws(() => lm.tokenize('hello'), /tokenizer\.ggml\.model 't5' is not supported/);
    } finally {
      lm.dispose();
    }
  });

  test('malformed tokenizer metadata fails the load, naming the key', async () => {
    await assert.rejects(RingLM.load(model((w) => {
      w.metadata.get('tokenizer.ggml.scores').value.pop();
    })), /key 'tokenizer\.ggml\.scores' has 299 entries but 'tokenizer\.ggml\.tokens' has 300/);
    await assert.rejects(RingLM.load(model((w) => {
      w.metadata.delete('tokenizer.ggml.eos_token_id');
      w.addUint32('tokenizer.ggml.eos_token_id', 300);
    })), /key 'tokenizer\.ggml\.eos_token_id' is 300, outside the vocabulary of 300 tokens/);
  });
});

test('the native CLI is built', () => {
  assert.ok(existsSync(NATIVE_CLI), `${NATIVE_CLI} is missing: run node tools/build.mjs`);
});
