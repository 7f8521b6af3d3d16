#!/usr/bin/env node
// Writes the tokenizer test models: tiny random-weight llama models (only the tokenizer is under test) carrying
// the real Llama-2 and GPT-2 vocabularies, the latter under several pre-tokenizers.
//
//   node tools/gguf/vocab-models.mjs [outdir]      (default build/models)
//
//   vocab-llama-spm.gguf   Llama-2 SentencePiece vocabulary (llama-tokenizer-js)
//   vocab-gemma-spm.gguf   the same with Gemma's settings: add_space_prefix false, and <start_of_turn>,
//                          <end_of_turn> control tokens
//   vocab-gpt2.gguf        GPT-2 byte-level BPE (gpt-tokenizer's r50k ranks), pre "gpt-2"
//   vocab-llama-bpe.gguf   the same vocabulary under Llama 3's split (pre "llama-bpe"), plus a few Llama-3-style
//                          control tokens; add_bos_token true, as Llama 3 files have it
//   vocab-qwen2.gguf       the same under Qwen 2's split (pre "qwen2"), plus Qwen's chat tokens and a
//                          user-defined <tool_call>
//   vocab-gpt2-nopre.gguf  the same with no tokenizer.ggml.pre, as files converted before mid-2024 are
//                          (llama.cpp's 'default' split)
//   vocab-smollm.gguf      the same under StarCoder's split (pre "smollm": digits one by one, as SmolLM files
//                          have it)
//   vocab-qwen35.gguf      the same under Qwen 3.5's split (pre "qwen35": combining marks join letter runs), with
//                          the Qwen tokens of vocab-qwen2.gguf
//   vocab-falcon.gguf      the same under Falcon's split (pre "falcon")
//   vocab-deepseek-llm.gguf, vocab-deepseek-coder.gguf
//                          the same under DeepSeek's splits (pre "deepseek-llm", "deepseek-coder")
//   vocab-gpt4o.gguf       the same under GPT-4o's split (pre "gpt-4o", as Phi-4-mini files have it)
// Output is deterministic; a file whose bytes would not change is left alone.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeRandomLlama } from './random-llama.mjs';
import { addLlamaTokenizer } from './vocab-llama.mjs';
import { addGpt2Tokenizer, END_OF_TEXT, TOKEN_TYPE } from './vocab-gpt2.mjs';

const CONTROL = TOKEN_TYPE.CONTROL;
const USER_DEFINED = TOKEN_TYPE.USER_DEFINED;

/** The GPT-2 vocabulary with Qwen's chat tokens and a user-defined <tool_call>, under pre-tokenizer `pre`. */
const addQwenTokenizer = (w, pre) => addGpt2Tokenizer(w, {
  pre, bos: END_OF_TEXT, eos: '<|im_end|>',
  extra: [
    { text: '<|im_start|>', type: CONTROL }, { text: '<|im_end|>', type: CONTROL },
    { text: '<tool_call>', type: USER_DEFINED },
  ],
});

/** The models: file name, token count, and how to add the tokenizer. */
export const VOCAB_MODELS = [
  { file: 'vocab-llama-spm.gguf', vocab: 32000, add: (w) => addLlamaTokenizer(w) },
  { file: 'vocab-gemma-spm.gguf', vocab: 32002, add: (w) => addLlamaTokenizer(w, { gemma: true }) },
  { file: 'vocab-gpt2.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: 'gpt-2' }) },
  {
    file: 'vocab-llama-bpe.gguf', vocab: 50261,
    add: (w) => addGpt2Tokenizer(w, {
      pre: 'llama-bpe', addBos: true, bos: '<|begin_of_text|>', eos: '<|eot_id|>',
      extra: [
        { text: '<|begin_of_text|>', type: CONTROL }, { text: '<|eot_id|>', type: CONTROL },
        { text: '<|start_header_id|>', type: CONTROL }, { text: '<|end_header_id|>', type: CONTROL },
      ],
    }),
  },
  { file: 'vocab-qwen2.gguf', vocab: 50260, add: (w) => addQwenTokenizer(w, 'qwen2') },
  { file: 'vocab-gpt2-nopre.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: null }) },
  { file: 'vocab-smollm.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: 'smollm' }) },
  { file: 'vocab-qwen35.gguf', vocab: 50260, add: (w) => addQwenTokenizer(w, 'qwen35') },
  { file: 'vocab-falcon.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: 'falcon' }) },
  { file: 'vocab-deepseek-llm.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: 'deepseek-llm' }) },
  { file: 'vocab-deepseek-coder.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: 'deepseek-coder' }) },
  { file: 'vocab-gpt4o.gguf', vocab: 50257, add: (w) => addGpt2Tokenizer(w, { pre: 'gpt-4o' }) },
];

/** A tiny llama whose token_embd has `vocab` rows, with the tokenizer keys replaced by `add`'s. */
export function makeVocabModel({ vocab, add }, name) {
  const w = makeRandomLlama({ seed: 21, dim: 32, layers: 1, heads: 2, kvHeads: 2, ffn: 64, vocab, ctx: 128,
    tiedOutput: true, name });
  for (const key of [...w.metadata.keys()]) if (key.startsWith('tokenizer.')) w.metadata.delete(key);
  const n = add(w);
  if (n !== vocab) throw new Error(`${name}: the tokenizer has ${n} tokens, the model ${vocab} rows`);
  return w;
}

/** Writes the models into `outdir` (unchanged files are kept); returns their paths by file name. */
export function makeVocabModels(outdir = 'build/models', { log = () => {} } = {}) {
  mkdirSync(outdir, { recursive: true });
  const paths = {};
  for (const m of VOCAB_MODELS) {
    const path = join(outdir, m.file);
    const bytes = makeVocabModel(m, `ringlm-${m.file.replace('.gguf', '')}`).toBuffer();
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    const unchanged = existsSync(path) && sha(readFileSync(path)) === sha(bytes);
    if (!unchanged) writeFileSync(path, bytes);
    log(`${unchanged ? 'kept ' : 'wrote'} ${path} (${bytes.length} bytes)`);
    paths[m.file] = path;
  }
  return paths;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  makeVocabModels(process.argv[2] ?? 'build/models', { log: console.log });
}
