// models.js — the models the page's picker suggests: small instruction-tuned GGUF files of each family ringlm
// runs, by their public Hugging Face URLs (the `resolve/main` address serves the file itself, with CORS, and
// answers Range requests, so a download resumes). Sizes are the publishers' listings, rounded (GB = 10^9
// bytes); the download checks the real size the server announces. Q4_K_M is the usual size/quality choice,
// Q8_0 the near-lossless one. Everything here fits the 4 GiB of wasm memory with a context picked to fit.

const HF = 'https://huggingface.co';

export const SUGGESTED_MODELS = Object.freeze([
  { family: 'Llama 3.2', name: 'Llama 3.2 1B Instruct', quant: 'Q4_K_M', size: 0.81e9,
    url: `${HF}/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf` },
  { family: 'Llama 3.2', name: 'Llama 3.2 1B Instruct', quant: 'Q8_0', size: 1.32e9,
    url: `${HF}/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q8_0.gguf` },
  { family: 'Qwen 3', name: 'Qwen3 0.6B', quant: 'Q8_0', size: 0.64e9,
    url: `${HF}/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf` },
  { family: 'Qwen 3', name: 'Qwen3 0.6B', quant: 'Q4_K_M', size: 0.48e9,
    url: `${HF}/bartowski/Qwen_Qwen3-0.6B-GGUF/resolve/main/Qwen_Qwen3-0.6B-Q4_K_M.gguf` },
  { family: 'Gemma 3', name: 'Gemma 3 1B IT', quant: 'Q4_K_M', size: 0.81e9,
    url: `${HF}/bartowski/google_gemma-3-1b-it-GGUF/resolve/main/google_gemma-3-1b-it-Q4_K_M.gguf` },
  { family: 'Gemma 3', name: 'Gemma 3 1B IT', quant: 'Q8_0', size: 1.07e9,
    url: `${HF}/bartowski/google_gemma-3-1b-it-GGUF/resolve/main/google_gemma-3-1b-it-Q8_0.gguf` },
  { family: 'Qwen 2.5', name: 'Qwen2.5 0.5B Instruct', quant: 'Q4_K_M', size: 0.49e9,
    url: `${HF}/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf` },
  { family: 'Qwen 2.5', name: 'Qwen2.5 0.5B Instruct', quant: 'Q8_0', size: 0.68e9,
    url: `${HF}/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q8_0.gguf` },
  { family: 'SmolLM3', name: 'SmolLM3 3B', quant: 'Q4_K_M', size: 1.92e9,
    url: `${HF}/bartowski/HuggingFaceTB_SmolLM3-3B-GGUF/resolve/main/HuggingFaceTB_SmolLM3-3B-Q4_K_M.gguf` },
  { family: 'Phi-4', name: 'Phi-4-mini Instruct', quant: 'Q4_K_M', size: 2.49e9,
    url: `${HF}/bartowski/microsoft_Phi-4-mini-instruct-GGUF/resolve/main/microsoft_Phi-4-mini-instruct-Q4_K_M.gguf` },
]);
