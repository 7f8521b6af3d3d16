// logprobs.js — log-probabilities as the API returns them: the core gives ids and numbers (src/generate/
// logprobs.h, score.h), this adds each token's text and bytes, in the shape of OpenAI's logprobs.

import { tokenIds } from './checks.js';

// Not fatal: a token may be part of a UTF-8 character (its bytes then say what it is).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Token `id`'s bytes (control tokens as their text, e.g. '</s>'), read from the engine's text buffer. */
function pieceBytes(engine, id) {
  const error = engine.piece(id, true);
  if (error) throw new Error(`RingLM: token ${id}: ${error}`);
  return engine.textBytes().slice();
}

/** { token, id, logprob, bytes } for one token. */
function entry(engine, id, logprob) {
  const bytes = pieceBytes(engine, id);
  return { token: utf8.decode(bytes), id, logprob, bytes: Array.from(bytes) };
}

/** The core's { id, logprob, top: [{ id, logprob }] } as { token, id, logprob, bytes, topLogprobs: [...] }. */
export function tokenLogprobs(engine, raw) {
  return { ...entry(engine, raw.id, raw.logprob), topLogprobs: raw.top.map((t) => entry(engine, t.id, t.logprob)) };
}

/** score()'s input: token ids as given, or a string tokenized as `tokenize` does it. */
export function scoreIds(lm, input, options) {
  if (typeof input === 'string') return lm.tokenize(input, { addBos: options.addBos, special: Boolean(options.parseSpecial) });
  if (input instanceof Uint8Array) throw new TypeError('RingLM.score: give a string or token ids (a Uint8Array is not read as text here)');
  return tokenIds(input ?? [], 'RingLM.score');
}

/** The core's score result, with each scored token's text. */
export function scoreResult(engine, ids, raw) {
  const tokens = Array.from(raw.logprobs, (logprob, i) => {
    const { token, id, bytes } = entry(engine, ids[i + 1], 0);
    return { token, id, logprob, bytes };
  });
  return { tokens, ids: Array.from(ids), logprobSum: raw.sum, perplexity: raw.perplexity, windows: raw.windows };
}
