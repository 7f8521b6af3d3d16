#!/usr/bin/env node
// Writes the chat-template test models: tiny llama models with real vocabularies, a tokenizer.chat_template of one
// of five families, and output weights that make greedy decoding answer a turn with a known reply and then the
// family's end-of-turn token.
//
//   node tools/gguf/chat-models.mjs [outdir]      (default build/models)
//
//   chat-chatml.gguf   ChatML as Qwen 2 writes it (default system prompt); GPT-2 vocabulary under Qwen 2's split
//                      plus <|im_start|>, <|im_end|>; EOS is <|endoftext|>, so <|im_end|> ends a turn only because
//                      it is known by its text
//   chat-llama2.gguf   Llama-2-chat ([INST], <<SYS>>, raise_exception on roles out of turn); the Llama-2 vocabulary
//   chat-llama3.gguf   Llama 3 instruct (headers, | trim); GPT-2 vocabulary under Llama 3's split plus its control
//                      tokens; EOS <|end_of_text|>, and tokenizer.ggml.eot_token_id names <|eot_id|>
//   chat-zephyr.gguf   Zephyr / TinyLlama-chat (<|user|> ... </s>); the Llama-2 vocabulary, in which <|user|> and
//                      <|assistant|> are plain text, as in those models
//   chat-commandr.gguf Command-R's turn tokens; GPT-2 vocabulary plus them. Its <|END_OF_TURN_TOKEN|> is no EOS
//                      or EOT and no text llama.cpp knows: only the template says it ends a turn
//
// The templates are written here from the published formats of these model families.
//
// Why the replies are known: the layers' output projections are scaled down, so the last hidden state is mostly
// the current token's embedding, and output rows are planted along embeddings: the row of token B is a multiple
// of the embedding direction of token A wherever "A is followed by B" is wanted. Greedy decoding then follows the
// chain  (last prompt token) -> REPLY[0] -> REPLY[1] -> ... -> end-of-turn  with a margin of tens of logits,
// whatever else the context holds; the scaled-down layers still make the logits depend on the context a little,
// which is what a test of the KV cache needs.
//
// Output is deterministic; a file whose bytes would not change is left alone.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeRandomLlama } from './random-llama.mjs';
import { addLlamaTokenizer } from './vocab-llama.mjs';
import { addGpt2Tokenizer, END_OF_TEXT, TOKEN_TYPE } from './vocab-gpt2.mjs';

const CONTROL = TOKEN_TYPE.CONTROL;

export const TEMPLATES = Object.freeze({
  chatml:
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama2:
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}" +
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}" +
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}" +
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
    "{% if loop.index0 == 0 and system_message != false %}" +
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
    "{% else %}{% set content = message['content'] %}{% endif %}" +
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
  llama3:
    "{% set loop_messages = messages %}{% for message in loop_messages %}" +
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}" +
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  // Zephyr's template is written over several lines; lstrip_blocks/trim_blocks remove the ones after block tags.
  zephyr:
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n" +
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n" +
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n" +
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
  commandr:
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}" +
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}" +
    "{% set system_message = false %}{% endif %}{% if system_message != false %}" +
    "{{ '<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' + system_message + '<|END_OF_TURN_TOKEN|>' }}{% endif %}" +
    "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
    "{% set content = message['content'] %}{% if message['role'] == 'user' %}" +
    "{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}" +
    "{% elif message['role'] == 'assistant' %}" +
    "{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'  + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% endif %}" +
    "{% endfor %}{% if add_generation_prompt %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}",
});

// Token texts as the vocabularies spell them ('Ġ' is a GPT-2 space, '▁' a SentencePiece one, 'Ċ' a GPT-2 '\n').
const GPT2_REPLY = ['Hello', ',', 'Ġworld'];
const SPM_REPLY = ['Hello', ',', '▁world'];

/**
 * The models. `start`: the last token of a generation prompt (the chain's first link); `reply`: the tokens every
 * turn answers; `end`: the end-of-turn token the chain ends with. The reply reads "Hello, world" in every family.
 */
export const CHAT_MODELS = [
  {
    family: 'chatml', file: 'chat-chatml.gguf', vocab: 50259, start: 'Ċ', reply: GPT2_REPLY, end: '<|im_end|>',
    add: (w) => addGpt2Tokenizer(w, {
      pre: 'qwen2', bos: END_OF_TEXT, eos: END_OF_TEXT,
      extra: [{ text: '<|im_start|>', type: CONTROL }, { text: '<|im_end|>', type: CONTROL }],
    }),
  },
  {
    family: 'llama2', file: 'chat-llama2.gguf', vocab: 32000, start: ']', reply: SPM_REPLY, end: '</s>',
    add: (w) => addLlamaTokenizer(w),
  },
  {
    family: 'llama3', file: 'chat-llama3.gguf', vocab: 50262, start: 'ĊĊ', reply: GPT2_REPLY, end: '<|eot_id|>',
    add: (w) => {
      const n = addGpt2Tokenizer(w, {
        pre: 'llama-bpe', addBos: true, bos: '<|begin_of_text|>', eos: '<|end_of_text|>',
        extra: ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>']
          .map((text) => ({ text, type: CONTROL })),
      });
      w.addUint32('tokenizer.ggml.eot_token_id', n - 1);
      return n;
    },
  },
  {
    family: 'zephyr', file: 'chat-zephyr.gguf', vocab: 32000, start: '<0x0A>', reply: SPM_REPLY, end: '</s>',
    add: (w) => addLlamaTokenizer(w),
  },
  {
    family: 'commandr', file: 'chat-commandr.gguf', vocab: 50263, start: '<|CHATBOT_TOKEN|>', reply: GPT2_REPLY,
    end: '<|END_OF_TURN_TOKEN|>',
    add: (w) => addGpt2Tokenizer(w, {
      pre: 'gpt-2', addBos: true, bos: '<BOS_TOKEN>', eos: END_OF_TEXT,
      extra: ['<BOS_TOKEN>', '<|START_OF_TURN_TOKEN|>', '<|END_OF_TURN_TOKEN|>', '<|USER_TOKEN|>', '<|CHATBOT_TOKEN|>',
        '<|SYSTEM_TOKEN|>'].map((text) => ({ text, type: CONTROL })),
    }),
  },
];

const DIM = 32;
const LAYER_SCALE = 0.25;  // how much of each layer's output stays
const LINK_SCALE = 3;      // a planted output row's norm (a random row's is about 1)

/** Float32 view of an F32 tensor's data in the writer. */
function tensorData(w, name) {
  const t = w.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
}

export function makeChatModel({ family, vocab, add, start, reply, end }) {
  const w = makeRandomLlama({ seed: 31, dim: DIM, layers: 1, heads: 2, kvHeads: 2, ffn: 64, vocab, ctx: 256,
    name: `ringlm-chat-${family}` });
  for (const key of [...w.metadata.keys()]) if (key.startsWith('tokenizer.')) w.metadata.delete(key);
  const n = add(w);
  if (n !== vocab) throw new Error(`${family}: the tokenizer has ${n} tokens, the model ${vocab} rows`);
  w.addString('tokenizer.chat_template', TEMPLATES[family]);

  for (const name of ['blk.0.attn_output.weight', 'blk.0.ffn_down.weight']) {
    const data = tensorData(w, name);
    for (let i = 0; i < data.length; i++) data[i] *= LAYER_SCALE;
  }
  const tokens = w.metadata.get('tokenizer.ggml.tokens').value;
  const id = (text) => {
    const i = tokens.indexOf(text);
    if (i < 0) throw new Error(`${family}: no token ${text}`);
    return i;
  };
  const embeddings = tensorData(w, 'token_embd.weight');
  const output = tensorData(w, 'output.weight');
  const chain = [start, ...reply, end].map(id);
  for (let k = 0; k + 1 < chain.length; k++) {
    const from = embeddings.subarray(chain[k] * DIM, (chain[k] + 1) * DIM);
    const norm = Math.hypot(...from);
    const row = output.subarray(chain[k + 1] * DIM, (chain[k + 1] + 1) * DIM);
    for (let i = 0; i < DIM; i++) row[i] = (LINK_SCALE * from[i]) / norm;
  }
  return w;
}

/** Writes the models into `outdir` (unchanged files are kept); returns their paths by family. */
export function makeChatModels(outdir = 'build/models', { log = () => {} } = {}) {
  mkdirSync(outdir, { recursive: true });
  const paths = {};
  for (const m of CHAT_MODELS) {
    const path = join(outdir, m.file);
    const bytes = makeChatModel(m).toBuffer();
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    const unchanged = existsSync(path) && sha(readFileSync(path)) === sha(bytes);
    if (!unchanged) {  // through a rename: test files running in parallel may read it meanwhile
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    }
    log(`${unchanged ? 'kept ' : 'wrote'} ${path} (${bytes.length} bytes)`);
    paths[m.family] = path;
  }
  return paths;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  makeChatModels(process.argv[2] ?? 'build/models', { log: console.log });
}
