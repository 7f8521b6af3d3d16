// Type declarations for ringlm's JavaScript API.

/** Progress of a model load: bytes placed in wasm memory so far, and the file size. */
export interface LoadProgress {
  loaded: number;
  total: number;
}

export interface LoadOptions {
  /** KV cache capacity in tokens. Default: min(the model's trained context, 2048). */
  contextSize?: number;
  /** Called as the file's bytes arrive in wasm memory. */
  onProgress?: (progress: LoadProgress) => void;
}

/** What a model is, read from its GGUF metadata, and what it occupies. */
export interface ModelInfo {
  /** GGUF `general.architecture`, e.g. "llama". */
  architecture: string;
  vocabSize: number;
  /** KV cache capacity in tokens (the contextSize in use). */
  contextSize: number;
  /** The context length the model was trained for (`<arch>.context_length`). */
  trainedContextSize: number;
  embeddingSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headSize: number;
  feedForwardSize: number;
  ropeBase: number;
  /** Tensor types present in the file, e.g. ["F32", "Q8_0"]. */
  tensorTypes: string[];
  /** Size of the GGUF file held in wasm memory. */
  fileBytes: number;
  /** Weight bytes read to produce one token. */
  weightBytesPerToken: number;
  /** Bytes of the KV cache, allocated once at load. */
  kvBytes: number;
  /** Bytes of the forward pass's scratch buffers, allocated once at load. */
  scratchBytes: number;
}

export interface PrefillOptions {
  /** Return the logits of every given token (ids.length × vocabSize), not just the last. */
  allLogits?: boolean;
}

export declare class RingLM {
  /**
   * Load a GGUF model. The file is copied once into wasm memory; weights are used in place.
   * @param source the file's bytes, a Blob/File, a URL, or (in Node) a file path.
   */
  static load(source: ArrayBuffer | ArrayBufferView | Blob | URL | string, options?: LoadOptions): Promise<RingLM>;

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
  /** Free the model's memory. Later calls throw; a second dispose() does nothing. */
  dispose(): void;
}

export default RingLM;
