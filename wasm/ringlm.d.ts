// Type declarations for ringlm's JavaScript API.

/** Progress of a model load: bytes placed in wasm memory so far, and the file size. */
export interface LoadProgress {
  /**
   * 'download': bytes arriving from the network (into the cache, or straight into wasm memory without it);
   * 'read': bytes copied into wasm memory from a file, a Blob, bytes or the cache. A cached URL reports both,
   * one after the other, the first time; later loads only 'read'.
   */
  phase: 'download' | 'read';
  loaded: number;
  /** Bytes expected, or 0 when the server does not say. */
  total: number;
  /**
   * A split file's download into the cache: which part (from 0) of how many; loaded and total are then that part's.
   * Reads count the whole set.
   */
  part?: number;
  parts?: number;
}

export interface LoadOptions {
  /**
   * KV cache capacity in tokens. Default: the model's trained context (`info.trainedContextSize`) if it fits
   * memoryLimit, else the largest that does (a multiple of 256), leaving 1/16 of the limit for what the budget does
   * not count; `info.contextLimitedBy` says which. A size that cannot fit is refused with the budget's Error.
   */
  contextSize?: number;
  /**
   * Bytes the model may take in wasm memory: the file + the KV cache + scratch. Default (and at most) 4 GiB, the
   * wasm address space. A model over the limit is refused before anything is allocated, with an Error naming the
   * sizes and the largest contextSize that would fit.
   */
  memoryLimit?: number;
  /**
   * Threads that share each token's work (same results for any count). 1 loads the single-threaded build.
   * Default: the cores available (`os.availableParallelism()`, `navigator.hardwareConcurrency`), at most 8, in
   * Node and in cross-origin-isolated pages (COOP/COEP headers: SharedArrayBuffer); 1 elsewhere, where a larger
   * count also falls back to 1. The first threaded load fixes how many threads exist (at least the default);
   * later loads get at most that many. `info.threads` says what a model uses.
   */
  threads?: number;
  /**
   * Which wasm build runs the model. 'relaxed': the opt-in relaxed-SIMD build (dist/ringlm-relaxed.wasm, or
   * with more than one thread dist/ringlm-relaxed-mt.wasm, picked by `threads` as the default builds are), whose
   * Q4_0 and K-quant decode kernels (Q4_K, Q5_K, Q6_K) multiply bytes with relaxed SIMD's
   * `i16x8.relaxed_dot_i8x16_i7x16_s`; its results are the same bits as the default build's. It needs an engine
   * that runs relaxed SIMD (Chromium; Node 20 only with `--experimental-wasm-relaxed-simd`): elsewhere the load
   * fails with an Error that names this option. Default: 'default'.
   */
  simd?: 'default' | 'relaxed';
  /** Called as the file's bytes arrive, from the network and then in wasm memory. */
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Keep a downloaded (http/https) model on this machine and load it from there next time, also offline.
   * Default: true in browsers (the origin private file system), false in Node (where it uses $RINGLM_CACHE_DIR,
   * else $XDG_CACHE_HOME/ringlm/models, else ~/.cache/ringlm/models). An interrupted download resumes with
   * HTTP Range requests (automatically, up to 3 times; or at the next load). When the network is there a stored
   * file is checked with one HEAD request, and downloaded again if the server's ETag or size changed; a file
   * larger than memoryLimit is refused before it is downloaded. Where no store exists (an opaque origin, some
   * private windows) the model loads without one. See `RingLM.cache`.
   */
  cache?: boolean;
  /**
   * The file's SHA-256 (64 hex digits): a file that hashes otherwise is refused (and not kept in the cache). A split
   * file takes one per part, in order.
   */
  sha256?: string | string[];
}

/** Where a model file (or one part of a split file) comes from. */
export type ModelSource = ArrayBuffer | ArrayBufferView | Blob | URL | string;

/** A stored download (see LoadOptions.cache). */
export interface CachedModel {
  url: string;
  /** Bytes stored; less than expectedSize while a download is unfinished. */
  size: number;
  /** The size the server announced, or null when it did not say. */
  expectedSize: number | null;
  /** False for a download that stopped before the end: the next load of the URL resumes it. */
  complete: boolean;
  /** The SHA-256 it was checked against, or null when none was asked for. */
  sha256: string | null;
  /** ISO 8601 time of storing. */
  storedAt: string;
}

/** RingLM.cache. */
export interface ModelCache {
  /** Where files are kept: a folder in Node, OPFS in a browser; null where nothing can be kept. */
  location(): Promise<string | null>;
  list(): Promise<CachedModel[]>;
  /** Removes the stored copy of `url`, finished or not; resolves to whether there was one. */
  delete(url: string | URL): Promise<boolean>;
  /** Removes every stored model. */
  clear(): Promise<{ entries: number; bytes: number }>;
}

/** What a model is, read from its GGUF metadata, and what it occupies. */
export interface ModelInfo {
  /** GGUF `general.architecture`: "llama", "qwen2", "qwen3", "smollm3", "phi3", "gemma3", "gemma2" or "gpt2". */
  architecture: string;
  /** The model family the architecture stands for: "Qwen 3" for qwen3, "Gemma 3" for gemma3, ... */
  family: string;
  /**
   * How positions enter the model: RoPE on adjacent pairs (llama, smollm3), RoPE on half-split pairs (qwen2, qwen3, phi3, gemma3, gemma2), or learned
   * position embeddings (gpt2; the 'sinks' context policy is not available, and contextSize is at most
   * trainedContextSize).
   */
  positionEncoding: 'rope' | 'rope-neox' | 'learned';
  vocabSize: number;
  /** KV cache capacity in tokens (the contextSize in use). */
  contextSize: number;
  /** The context length the model was trained for (`<arch>.context_length`). */
  trainedContextSize: number;
  /**
   * What set contextSize: 'option' (the load option), 'trained' (none given: the trained context fits), or
   * 'memory' (none given: the trained context does not fit memoryLimit, so the largest that does).
   */
  contextLimitedBy: 'option' | 'trained' | 'memory';
  embeddingSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headSize: number;
  feedForwardSize: number;
  ropeBase: number;
  /** Number of weights in the file (every tensor's elements). */
  parameters: number;
  /** The output projection is the token embedding (no output.weight in the file). */
  tiedOutput: boolean;
  /** Threads sharing the work (1: the single-threaded build). */
  threads: number;
  /** The context policies this model can use ('sinks' needs rotary positions). */
  contextPolicies: ContextPolicy[];
  /** The policy generate() uses unless told otherwise: 'sinks', or 'shift' with learned positions. */
  defaultContextPolicy: ContextPolicy;
  /** Tensor types present in the file, e.g. ["F32", "Q8_0"]. */
  tensorTypes: string[];
  /** Size of the GGUF file held in wasm memory (all its parts, for a split file). */
  fileBytes: number;
  /** How many files the model was loaded from: 1, or a split file's part count. */
  fileParts: number;
  /** Weight bytes read to produce one token. */
  weightBytesPerToken: number;
  /** Bytes of the KV cache, allocated once at load. */
  kvBytes: number;
  /** Bytes of the forward pass's scratch buffers, allocated once at load. */
  scratchBytes: number;
  /** The whole budget checked against memoryLimit at load: fileBytes + kvBytes + scratchBytes + the logits row. */
  memoryBytes: number;
}

export interface PrefillOptions {
  /** Return the logits of every given token (ids.length × vocabSize), not just the last. */
  allLogits?: boolean;
}

/** The tokenizer read from the model file's tokenizer.ggml.* metadata. Token ids are null when absent. */
export interface TokenizerInfo {
  /** "llama" (SentencePiece-style BPE) or "gpt2" (byte-level BPE). */
  model: 'llama' | 'gpt2';
  /** The gpt2 pre-tokenizer, e.g. "gpt-2", "llama-bpe", "qwen2" ("" or "default" for llama). */
  pre: string;
  tokenCount: number;
  bos: number | null;
  eos: number | null;
  /** End of turn, e.g. <|eot_id|> or <|im_end|>. */
  eot: number | null;
  unknown: number | null;
  padding: number | null;
  /** Tokens that end generation (EOS, EOT, ...). */
  endOfGeneration: number[];
  /** Whether tokenize() puts BOS first / EOS last by default. */
  addBos: boolean;
  addEos: boolean;
  /** llama: a space is put before the text (and detokenize() drops it again by default). */
  addSpacePrefix: boolean;
}

export interface TokenizeOptions {
  /** Put the BOS token first. Default: the model's add_bos_token. */
  addBos?: boolean;
  /** Put the EOS token last. Default: the model's add_eos_token. */
  addEos?: boolean;
  /** Parse the text of control tokens (<s>, <|endoftext|>, ...) as those tokens. Default false: plain text. */
  special?: boolean;
}

export interface DetokenizeOptions {
  /** Render control tokens (</s>, <|endoftext|>, ...) as their text. Default false: as nothing. */
  special?: boolean;
  /**
   * Drop one space from the start of the text (from the first token that renders anything), undoing the space
   * a llama tokenizer puts before the text, so that detokenize(tokenize(text)) === text. Default: the model's
   * addSpacePrefix. Pass false for tokens that continue earlier text (generated after a prompt).
   */
  stripLeadingSpace?: boolean;
}

/** Streaming detokenization: text is released only in whole characters. */
export interface StreamingTextDecoder {
  /** The text token `id` completes (possibly ""). */
  push(id: number): string;
  /** What is still held (an unfinished character becomes U+FFFD); the decoder then starts over. */
  flush(): string;
}

/** What happens when the KV ring is full (see README, "The KV ring"). */
export type ContextPolicy = 'sinks' | 'shift' | 'stop';

/**
 * generate()'s options. An option not listed here is an error (`unknown option 'temprature' (did you mean
 * 'temperature'?)`), as is a value out of its range (the message names the option and the range). The names,
 * defaults, ranges and one-line docs are the core's schema (src/generate/options.h), which
 * RingLM.generateOptionSchema() returns and tests/options.test.mjs holds this interface to.
 */
export interface GenerateOptions {
  /** Tokens to generate at most; 0 runs only the prompt. Default 256; an integer in [0, 2147483647]. */
  maxTokens?: number;
  /** Higher is more random; 0 = greedy (always the most likely token). Default 0.8; in [0, 1000000]. */
  temperature?: number;
  /** Sample among the k most likely tokens only; 0 = off. Default 40; an integer in [0, 2147483647]. */
  topK?: number;
  /** Sample among the most likely tokens whose probabilities add up to p; 1 = off. Default 0.95; in [0, 1]. */
  topP?: number;
  /** Drop tokens less likely than minP times the most likely one; 0 = off. Default 0.05; in [0, 1]. */
  minP?: number;
  /**
   * Positive logits of recent tokens are divided by it, negative ones multiplied; 1 = off. Default 1; in
   * (0, 1000000].
   */
  repeatPenalty?: number;
  /** Subtracted once from the logit of any recent token; 0 = off. Default 0; in [-1000000, 1000000]. */
  presencePenalty?: number;
  /** Subtracted from a recent token's logit once per occurrence; 0 = off. Default 0; in [-1000000, 1000000]. */
  frequencyPenalty?: number;
  /** How many recent tokens (prompt included) the penalties look at. Default 64; an integer in [0, 1048576]. */
  penaltyLastN?: number;
  /**
   * Seed of the sampler's own generator: same seed, same tokens, natively, in Node and in browsers.
   * Default: random (returned in the result); a keepCache continuation without a seed goes on with
   * the previous generator state. An integer in [0, 9007199254740991].
   */
  seed?: number;
  /** Stop strings: generation ends before them; their text is never emitted. Default none. */
  stop?: string | string[];
  /** More token ids that end generation as EOS does (finishReason 'stop'; the token is not emitted). Default none. */
  stopTokens?: ArrayLike<number>;
  /** Ends the iterator with an AbortError; the model stays usable. Default: none. */
  signal?: AbortSignal;
  /** Continue after what the cache holds (a chat's next turn) instead of starting over. Default false. */
  keepCache?: boolean;
  /**
   * When the KV ring is full. Default: the model's ('shift' with learned positions, else 'sinks'), as
   * `info.defaultContextPolicy` says; with learned positions (gpt2) 'sinks' is refused and 'shift' runs the
   * kept tokens again at their new positions after each shift.
   */
  contextPolicy?: ContextPolicy;
  /** 'sinks': first tokens kept for good. Default 4; an integer in [0, 2147483647]. */
  sinkTokens?: number;
  /** 'shift': first tokens kept for good. Default 4; an integer in [0, 2147483647]. */
  keepTokens?: number;
  /** Add BOS to a string prompt. Default: as the model asks (never when continuing with keepCache). */
  addBos?: boolean;
  /** Parse special-token text (e.g. "<s>") in a string prompt as those tokens. Default false. */
  parseSpecial?: boolean;
  /** Render control tokens' text in the output. Default false. */
  special?: boolean;
  /**
   * Keep keys and values in the KV ring. Default true. false is the no-cache baseline: every new token re-runs
   * the whole sequence (prompt and tokens so far) and keeps the last row of logits, so the same seed gives the
   * same tokens, ever slower (see `timings.perTokenMs`). The sequence must fit the context: under 'stop' it ends
   * where the cached run ends; under 'sinks' / 'shift' a prompt + maxTokens beyond contextSize is an error.
   * Not with keepCache (chat() then runs the conversation from its start each turn).
   */
  kvCache?: boolean;
  /**
   * A GBNF grammar (llama.cpp's syntax: rules `name ::= ...`, start rule `root`, literals, classes `[a-z]` `[^\n]`,
   * `.`, groups, `*` `+` `?` `{m,n}`, `#` comments) the output must match, as llama.cpp applies it: a token is
   * sampled only if its text can continue a match, and generation ends (by end-of-generation or a stop token)
   * only where the grammar can stop. A malformed grammar is an error with its line and column. Default: none.
   */
  grammar?: string;
  /**
   * Texts that switch `grammar` on (a lazy grammar, llama.cpp's grammar triggers; what chat() uses for tool calls
   * under toolChoice 'auto'): the output is free until it writes one of them, even across tokens, and from that
   * trigger's first character on it must match the grammar (a token that would complete a trigger is sampled only
   * if the grammar can go on from there). Needs `grammar`; not with jsonSchema. Default: none (the grammar holds
   * from the start).
   */
  grammarTriggers?: string | string[];
  /**
   * A JSON Schema the output must be valid JSON for: converted to a grammar (`jsonSchemaToGbnf`) and applied as
   * `grammar` is. Supported: type (and type arrays), properties (written in the order listed; optional ones may be
   * left out), required, additionalProperties (when left out, no other property is written if properties are
   * listed, as in llama.cpp), enum, const, items, prefixItems, minItems, maxItems, $ref to '#/...' (recursive too),
   * anyOf, oneOf (only when no document can match two branches), allOf of objects (or of one schema), minLength, maxLength, format
   * date / time / date-time / uuid, integer minimum / maximum / exclusiveMinimum / exclusiveMaximum. Any other
   * keyword is an Error naming it and its JSON pointer (`jsonSchema: 'multipleOf' at #/properties/n is not
   * supported`), as is a schema that accepts nothing. Whitespace is bounded as llama.cpp bounds it. The result
   * then has `json`, the text parsed (undefined if the output was cut short: finishReason 'length'). Control
   * tokens' text is rendered (special); not with grammar, stop or special: false. Default: none.
   */
  jsonSchema?: JsonSchema;
  /**
   * Prompt tokens per prefill step (between steps the iterator yields and checks `signal`). Default 64; an
   * integer in [1, 65536].
   */
  prefillChunk?: number;
  /** Called after each prefill step. Default: none. */
  onPrefillProgress?: (progress: { done: number; total: number }) => void;
  /**
   * Token id -> bias added to its logit before the other steps; -Infinity bans the token (it is never sampled).
   * Applied first in the chain, where llama.cpp's logit-bias sampler sits (before the penalties, top-k, ...). An
   * object's keys are the ids as text ({ 15043: -Infinity }); a Map takes numbers. An id outside the vocabulary, a
   * NaN or +Infinity bias, or banning every token is an error. Default: none.
   */
  logitBias?: Record<number, number> | Map<number, number>;
  /**
   * Give each emitted token's log-probability and the n most likely alternatives (`logprobs` of each streamed
   * token and of complete()). They are of the raw logits: the model's full softmax before logit bias, penalties,
   * temperature and top-k / top-p / min-p, as OpenAI's logprobs and llama.cpp's server n_probs report them.
   * Default: off; an integer in [0, 20] (0: the token's own log-probability only).
   */
  logprobs?: number;
}

/** A token and its log-probability, as in OpenAI's logprobs. */
export interface TokenLogprob {
  /** The token's text (control tokens as their text, e.g. "</s>"; part of a UTF-8 character as U+FFFD). */
  token: string;
  id: number;
  /** Natural log of its probability under the raw logits' softmax. */
  logprob: number;
  /** The token's bytes (UTF-8; may be part of a character). */
  bytes: number[];
}

/** With the logprobs option: the sampled token and the most likely tokens at its position (highest first). */
export interface TokenLogprobs extends TokenLogprob {
  topLogprobs: TokenLogprob[];
}

export interface ScoreOptions {
  /** Put the BOS token first (a string input). Default: the model's add_bos_token. */
  addBos?: boolean;
  /** Parse special-token text in a string input as those tokens. Default false. */
  parseSpecial?: boolean;
  /**
   * A text longer than contextSize is scored in windows of contextSize tokens, each from an empty cache; the next
   * window starts `stride` tokens after the last, and scores only the tokens no window before it reached. Default:
   * half the contextSize; an integer in [1, contextSize - 1].
   */
  stride?: number;
}

/** score()'s result: the log-probability of every token from the second on, given the tokens before it. */
export interface ScoreResult {
  /** One per input token after the first (which is only context). */
  tokens: TokenLogprob[];
  /** Every input token id (a string input: as tokenized, BOS included). */
  ids: number[];
  /** The sum of the tokens' log-probabilities (in float64). */
  logprobSum: number;
  /** exp(-logprobSum / tokens.length). */
  perplexity: number;
  /** How many windows the text took (1 when it fits the context). */
  windows: number;
}

/** One option in RingLM.generateOptionSchema(): the core's schema (src/generate/options.h), then JS's own. */
export interface GenerateOptionSpec {
  /** As generate() takes it. */
  name: keyof GenerateOptions;
  /** Options the core reads; the JS-only ones are 'AbortSignal', 'function' and 'boolean'. */
  type: 'integer' | 'number' | 'boolean' | 'choice' | 'strings' | 'token-ids' | 'text' | 'AbortSignal' | 'function';
  /** The default; null when there is no fixed one (defaultText then says what is used). */
  default: number | boolean | string | [] | null;
  defaultText?: string;
  /** Numbers: the range allowed, [min, max] or (min, max] with minExclusive. */
  min?: number;
  max?: number;
  minExclusive?: boolean;
  /** 'choice': the values allowed. */
  values?: string[];
  /** The values allowed, in words ("an integer in [0, 2147483647]"), as errors say it. */
  rule: string;
  /** The command lines' flag, without "--" (the core's options only; '' where they do not offer it). */
  flag?: string;
  /** One line: what it does. */
  doc: string;
}

/** One streamed step: a sampled token and the text it completes (never half a character; may be ""). */
export interface GeneratedToken {
  /** The token id, or -1 for text released at the very end that belongs to no new token. */
  id: number;
  text: string;
  /** With the logprobs option, on every token (id >= 0). */
  logprobs?: TokenLogprobs;
}

export interface Timings {
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
  /**
   * Each generated token's time in ms (sampling, and decoding the token before it or, with kvCache false,
   * re-running the sequence), for the first 8,192 tokens of the generation: a longer one keeps its totals in
   * decodeMs only, so that a generation that runs forever on the ring keeps its memory flat.
   */
  perTokenMs: number[];
}

/** 'stop': an end-of-generation token or a stop string; 'length': maxTokens, or a full ring under 'stop'. */
export type FinishReason = 'stop' | 'length';

export interface GenerationResult {
  finishReason: FinishReason;
  timings: Timings;
  seed: number;
  /**
   * With the jsonSchema option: the output parsed, a value valid for the schema; undefined when the output was
   * cut short (finishReason 'length').
   */
  json?: unknown;
}

/** A JSON Schema (draft 2020-12 or 7 keywords), as JSON.parse gives it. See GenerateOptions.jsonSchema. */
export type JsonSchema = boolean | { [keyword: string]: unknown };

/**
 * The GBNF grammar (llama.cpp's syntax, start rule `root`) the jsonSchema option applies: every text it matches
 * is JSON valid for the schema. Throws an Error naming an unsupported keyword and its JSON pointer.
 */
export function jsonSchemaToGbnf(schema: JsonSchema): string;

export interface Completion extends GenerationResult {
  text: string;
  tokens: number[];
  /** With the logprobs option: one entry per token of `tokens`. */
  logprobs?: TokenLogprobs[];
}

/** One turn of a conversation. Other fields (e.g. name, tool_calls) are passed to the template as they are. */
export interface ChatMessage {
  /** 'system', 'user', 'assistant', or any role the template knows. */
  role: string;
  content: string;
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, for the model to write it. Default true. */
  addGenerationPrompt?: boolean;
  /** Tools to show the model (see ChatOptions.tools); an error when the template defines no tool calls. */
  tools?: ToolDefinition[];
  /** Jinja text to use instead of the file's tokenizer.chat_template (required when the file has none). */
  template?: string;
  /**
   * More template variables (e.g. tools, enable_thinking). bos_token and eos_token (the texts of the model's BOS
   * and EOS tokens) are given unless set here; messages and add_generation_prompt cannot be overridden.
   */
  variables?: Record<string, unknown>;
}

/** chat(): generate()'s options except keepCache (chat() reuses the cache by itself), and the template's. */
export interface ChatOptions extends Omit<GenerateOptions, 'keepCache' | 'addBos' | 'parseSpecial'> {
  template?: string;
  variables?: Record<string, unknown>;
  /**
   * Tools the model may call, shown to it by the chat template (as the `tools` variable, in OpenAI's shape). The
   * template must define a call format ringlm reads: Hermes-style <tool_call> JSON (Qwen 2.5, Qwen 3) or Llama
   * 3.1 / 3.2 JSON; any other template is an error naming it. A reply holding well-formed calls to these tools
   * ends with finishReason 'tool_calls' and the calls in the result (ChatResult).
   */
  tools?: ToolDefinition[];
  /**
   * 'auto' (default): the model may call a tool, and a call it starts is held to the tools' grammar from its first
   * text on (grammarTriggers), so its arguments are valid for the tool's parameters; 'none': the tools are not shown and the reply is text;
   * 'required': one call to one of the tools, forced by a grammar (the envelope as the template writes it, and
   * arguments valid for the tool's parameters); { name }: one call to that tool. Forcing does not combine with
   * grammar or jsonSchema.
   */
  toolChoice?: ToolChoice;
}

/**
 * A tool: a name (1-64 letters, digits, '_' or '-'), what it does, and its arguments as a JSON Schema of an object
 * (none: it takes {}). OpenAI's shape, { type: 'function', function: { name, description, parameters } }, is taken too.
 */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** A call the model made: a tool's name and its arguments, parsed. */
export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** Passed to the template as tool_calls[i].id when given (the families here do not use it). */
  id?: string;
}

/** An assistant's turn that called tools, to put back into the conversation (content: the text beside the calls). */
export interface ToolCallMessage {
  role: 'assistant';
  content?: string;
  toolCalls: ToolCall[];
}

/** A tool's result, for the next turn: the template renders it (as tool_call_id, name) as the family expects. */
export interface ToolResultMessage {
  role: 'tool';
  /** The result as text (JSON.stringify an object). Llama 3.x's template writes it as a JSON string. */
  content: string;
  toolCallId?: string;
  name?: string;
}

/** A chat() turn's result: with tools, a reply holding calls ends with finishReason 'tool_calls'. */
export interface ChatResult extends Omit<GenerationResult, 'finishReason'> {
  finishReason: FinishReason | 'tool_calls';
  /**
   * The prompt tokens the previous chat() turn left in the KV cache, which this turn did not run again (its
   * timings.promptTokens are the rest); 0 when the turn ran the conversation from the start.
   */
  cachedTokens: number;
  /** With finishReason 'tool_calls': the calls, in the order written. */
  toolCalls?: ToolCall[];
  /** With finishReason 'tool_calls': the reply's text outside the calls, trimmed ('' when none). */
  content?: string;
}

/** A GGUF metadata value: arrays are not included. */
export type MetadataValue = string | number | boolean;

/** How full the KV ring is. */
export interface CacheState {
  /** Tokens seen since the cache was emptied (the next token's position). */
  position: number;
  /** Tokens the next token will attend to. */
  kept: number;
  /** contextSize. */
  capacity: number;
  /** Tokens dropped by the policy so far. */
  dropped: number;
  /** The wrap-around policy of the last generation (contextPolicy). */
  policy: 'stop' | 'shift' | 'sinks';
  /** The first tokens kept for good (sinkTokens under 'sinks', keepTokens under 'shift'; 0 under 'stop'). */
  anchors: number;
  /**
   * The oldest position after the anchors that the newest token attended to: the ring keeps positions
   * [0, min(anchors, position)) and [windowStart, position), and dropped = windowStart - anchors once the window has
   * moved (under 'sinks' the next token's window starts one later: it drops one more as it comes).
   */
  windowStart: number;
}

/**
 * Every method that takes an options object refuses a name it does not know with a TypeError that suggests the
 * name meant (`RingLM.tokenize: unknown option 'addBOS' (did you mean 'addBos'?)`): a typo never passes silently.
 */
export declare class RingLM {
  /** Where the built-in model is (a file: URL in Node, an http(s) URL in a page). */
  static readonly defaultModelUrl: string;
  /** Downloaded models kept on this machine (LoadOptions.cache). */
  static readonly cache: ModelCache;
  /** Load the built-in model, trained here on the King James Bible (see models/MODEL_CARD.md). */
  static loadDefault(options?: LoadOptions): Promise<RingLM>;
  /** Memory of the shared wasm instance: malloc'ed bytes in use, and the wasm memory's size. */
  static memoryUsage(): Promise<{ heapBytesInUse: number; memoryBytes: number }>;
  /**
   * Every option generate() takes, with its type, default, range and a one-line doc (the command line's flags
   * and the demo page's controls are made from it).
   */
  static generateOptionSchema(): Promise<readonly Readonly<GenerateOptionSpec>[]>;
  /**
   * Load a GGUF model. The file is copied once into wasm memory; weights are used in place.
   * @param source the file's bytes, a Blob/File, a URL, or (in Node) a file path. A split file (llama.cpp's
   *   gguf-split layout): the first part's path or URL (`NAME-00001-of-0000N.gguf`; the others are found beside it
   *   by name), or an array of every part in order (each a path, URL, Blob or bytes). An http(s) URL's GGUF header is
   *   read first (Range requests): a model that cannot fit memoryLimit is refused before it is downloaded.
   */
  static load(source?: ModelSource | ModelSource[], options?: LoadOptions): Promise<RingLM>;

  /** Hyperparameters and sizes of the loaded model. */
  readonly info: Readonly<ModelInfo>;
  /** Tokens in the KV cache: the position the next token takes. */
  readonly position: number;

  /** Empty the KV cache: the next token is at position 0. */
  reset(): void;
  /**
   * Run prompt tokens after what is already cached (batched: weights are read once per batch).
   * @returns the last token's logits (vocabSize floats), or ids.length × vocabSize with allLogits.
   */
  prefill(ids: ArrayLike<number>, options?: PrefillOptions): Float32Array;
  /** Run one token; returns the logits for the next position (vocabSize floats). */
  decode(id: number): Float32Array;
  /** The model's tokenizer, or null when the file has none ringlm implements. */
  readonly tokenizer: Readonly<TokenizerInfo> | null;
  /**
   * Text to token ids, exactly as llama.cpp tokenizes it. A Uint8Array may hold any bytes (invalid UTF-8 too);
   * a string is encoded as UTF-8 (a lone surrogate as U+FFFD).
   */
  tokenize(text: string | Uint8Array | ArrayBuffer, options?: TokenizeOptions): Int32Array;
  /** Token ids to text; bytes that are not valid UTF-8 become U+FFFD. */
  detokenize(ids: ArrayLike<number>, options?: DetokenizeOptions): string;
  /** A streaming detokenizer: pushing ids one by one and flushing gives detokenize(ids, options), without its clean-up of spaces before punctuation. */
  createTextDecoder(options?: DetokenizeOptions): StreamingTextDecoder;
  /**
   * Generate after a prompt (a string, or token ids), streaming tokens as they are sampled.
   * One generation at a time per model: starting another while one runs rejects.
   */
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions): AsyncGenerator<GeneratedToken, GenerationResult, void>;
  /** generate() to the end: the whole text, the token ids, why it ended, and timings. */
  complete(prompt: string | ArrayLike<number>, options?: GenerateOptions): Promise<Completion>;
  /**
   * How likely a text is: each token's log-probability given the tokens before it (teacher forcing; the model's
   * softmax over its raw logits, as llama.cpp computes it), their sum and the perplexity. A text longer than
   * contextSize is scored in windows (see ScoreOptions.stride). Empties the KV cache. Errors: fewer than two tokens
   * (nothing to score), an id outside the vocabulary, while a generation runs, after dispose().
   */
  score(input: string | ArrayLike<number>, options?: ScoreOptions): ScoreResult;
  /**
   * Chat: render `messages` with the chat template (see applyChatTemplate) and stream the assistant's reply as
   * generate() does. The reply ends at any end-of-generation token (EOS, EOT, EOM, and end-of-turn tokens known
   * by their text such as <|im_end|> or <|eot_id|>) or at the control token the template writes after an
   * assistant's message (e.g. <|END_OF_TURN_TOKEN|>); none is ever in the text: finishReason 'stop'. The prompt
   * gets BOS once if the model's add_bos_token or the template asks for it; control-token text in it (in the
   * messages too) is read as those tokens. When a turn's prompt tokens begin with everything the cache holds from
   * the previous chat() turn (its prompt, reply and end token), only the new tokens are run; after anything else
   * that changes the cache (reset, prefill, decode, generate, restoreState), the conversation runs from the start.
   */
  chat(messages: (ChatMessage | ToolCallMessage | ToolResultMessage)[], options?: ChatOptions): AsyncGenerator<GeneratedToken, ChatResult, void>;
  /**
   * Render a conversation into prompt text with a Jinja chat template (@huggingface/jinja, as transformers'
   * apply_chat_template renders: trim_blocks and lstrip_blocks, raise_exception() throws). Errors say what is
   * wrong: no template, bad messages, a template that does not parse, or the render's own error message.
   */
  applyChatTemplate(messages: (ChatMessage | ToolCallMessage | ToolResultMessage)[], options?: ChatTemplateOptions): string;
  /** The file's tokenizer.chat_template, or null. */
  readonly chatTemplate: string | null;
  /** The file's metadata: scalars and strings by key (e.g. 'general.name'); arrays (the vocabulary...) left out. */
  readonly metadata: Readonly<Record<string, MetadataValue>>;
  /** The last generation's result. */
  readonly lastResult?: GenerationResult | ChatResult;
  /** How full the KV ring is. */
  readonly cacheState: CacheState;
  /**
   * Snapshot the session (KV ring contents and positions, the last logits, the sampler's random
   * state and penalty history) as bytes for restoreState() on the same model and contextSize. The bytes carry a
   * fingerprint of the model file, worked out by reading the file once, at the first saveState() or restoreState().
   */
  saveState(): Uint8Array;
  /**
   * Return the session to a saveState() snapshot; a continuation (keepCache) then repeats exactly. A snapshot of
   * another model file (told apart by a fingerprint of its bytes), another contextSize or another snapshot format
   * version is refused with an Error saying which, before anything changes. Snapshots are portable: one saved
   * by the native CLI (`ringlm-cli prefill`), the `ringlm prefill` command, Node or a browser restores in any of
   * the others (they compute the same bits).
   */
  restoreState(state: Uint8Array, options?: RestoreStateOptions): void;
  /** The same, from a file: a URL, a path (Node), a Blob or an ArrayBuffer, read first. */
  restoreState(state: string | URL | Blob | ArrayBuffer, options?: RestoreStateOptions): Promise<void>;
  /**
   * What the KV cache holds after the last chat() turn (its prompt, reply and end token), or null when it holds
   * no finished turn. Keep it beside saveState()'s bytes and give both to restoreState(state, { chat }): the next
   * chat() turn then runs only its new tokens, as without the save.
   */
  readonly chatCache: ChatCache | null;

  /** Free the model's memory. Later calls throw; a second dispose() does nothing; a running generation ends with an AbortError. */
  dispose(): void;
}

/** lm.chatCache: the token ids a finished chat() turn left in the KV cache, and the position after them. */
export interface ChatCache {
  ids: Int32Array;
  position: number;
}

export interface RestoreStateOptions {
  /** lm.chatCache as it was when the state was saved: chat() continues from it. Its position must be the state's. */
  chat?: ChatCache | { ids: ArrayLike<number>; position: number } | null;
}

export default RingLM;
