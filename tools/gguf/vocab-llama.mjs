// The real Llama-2 (SentencePiece) vocabulary as GGUF tokenizer metadata, from the npm package llama-tokenizer-js,
// which ships Llama-2's 32000 token texts.
//
// The package has the texts but not SentencePiece's scores; Llama-2's tokenizer.model assigns them by a simple
// rule, which is what this file reproduces:
//   - id 0 <unk> (type unknown), ids 1 <s> and 2 </s> (control), ids 3..258 the byte tokens <0x00>..<0xFF>
//     (type byte): score 0;
//   - every other token (type normal) scores -(id - 259), so lower ids merge first, except the 16 tokens made
//     only of '▁' (one to sixteen spaces), which score -1e9 and so merge last.

import llamaTokenizer from 'llama-tokenizer-js';

import { GgufType } from './writer.mjs';

export const TOKEN_TYPE = Object.freeze({ NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 });

const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;
const ONLY_SPACE_MARKS = /^\u2581+$/;

/** { tokens, scores, types } of Llama-2, 32000 entries each. */
export function llamaVocabulary() {
  const tokens = Array.from(llamaTokenizer.vocabById);
  if (tokens.length !== 32000) throw new Error(`llama-tokenizer-js has ${tokens.length} tokens, expected 32000`);
  const types = tokens.map((text, id) => {
    if (id === 0) return TOKEN_TYPE.UNKNOWN;
    if (id === 1 || id === 2) return TOKEN_TYPE.CONTROL;
    if (id >= 3 && id <= 258) {
      if (!BYTE_TOKEN.test(text) || parseInt(text.slice(3, 5), 16) !== id - 3) throw new Error(`token ${id} '${text}' is not <0x..>`);
      return TOKEN_TYPE.BYTE;
    }
    return TOKEN_TYPE.NORMAL;
  });
  const scores = tokens.map((text, id) => {
    if (types[id] !== TOKEN_TYPE.NORMAL) return 0;
    return ONLY_SPACE_MARKS.test(text) ? -1e9 : -(id - 259);
  });
  return { tokens, scores, types };
}

/**
 * Adds the Llama-2 tokenizer keys to a GgufWriter. Gemma-style (`gemma: true`): add_space_prefix false, as Gemma's
 * files have it (no space is put before the text), and Gemma's turn tokens appended as control tokens.
 */
export function addLlamaTokenizer(writer, { gemma = false } = {}) {
  const { tokens, scores, types } = llamaVocabulary();
  if (gemma) {
    for (const text of ['<start_of_turn>', '<end_of_turn>']) {
      tokens.push(text);
      scores.push(0);
      types.push(TOKEN_TYPE.CONTROL);
    }
    writer.addBool('tokenizer.ggml.add_space_prefix', false);
  }
  writer.addString('tokenizer.ggml.model', 'llama');
  writer.addString('tokenizer.ggml.pre', 'default');
  writer.addArray('tokenizer.ggml.tokens', GgufType.STRING, tokens);
  writer.addArray('tokenizer.ggml.scores', GgufType.FLOAT32, scores);
  writer.addArray('tokenizer.ggml.token_type', GgufType.INT32, types);
  writer.addUint32('tokenizer.ggml.bos_token_id', 1);
  writer.addUint32('tokenizer.ggml.eos_token_id', 2);
  writer.addUint32('tokenizer.ggml.unknown_token_id', 0);
  writer.addBool('tokenizer.ggml.add_bos_token', true);
  writer.addBool('tokenizer.ggml.add_eos_token', false);
  return tokens.length;
}
