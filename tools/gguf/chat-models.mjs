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

/** The end of the Qwen 3 template (the assistant message closed, the loop over messages, the generation prompt), which
 * tool-models.mjs's Qwen 3 template with tools ends with too. */
export const QWEN3_TEMPLATE_END = Object.freeze([
  "    {{- '<|im_end|>\\n' }}",
  '  {%- endif %}',
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "  {{- '<|im_start|>assistant\\n' }}",
  "  {%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}",
  '{%- endif %}',
]);

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
  ...NEWER_TEMPLATES(),
});

/**
 * The families of issue 15, each written here to render its published format (facts from the model cards' and the
 * files' tokenizer.chat_template), over several lines as those templates are, with whitespace control:
 *   qwen3     ChatML; an assistant message's <think>...</think> (or its reasoning_content) is kept only after the last
 *             user message, where even an empty one is written; enable_thinking false puts an empty think block
 *             after the generation prompt.
 *   gemma3    <start_of_turn>user / model ... <end_of_turn>; no system role: its text opens the first user turn,
 *             followed by a blank line; roles must alternate; bos_token first.
 *   llama31   Llama 3.1 / 3.2: a system header with the knowledge cutoff and today's date (strftime_now, or date_string),
 *             then the system text; turns as Llama 3's.
 *   phi4mini  Phi-4-mini: <|role|>content<|end|> with no newlines; a system message's tools inside <|tool|>...<|/tool|>;
 *             <|assistant|> as the generation prompt, else eos_token.
 *   smollm3   ChatML under a system block of metadata (knowledge cutoff, today's date, reasoning mode /think or /no_think,
 *             which enable_thinking or a /think or /no_think in the system text picks) and custom instructions; the
 *             block is not closed unless tools are given, as in the published template; in /no_think every assistant
 *             turn and the generation prompt start with an empty think block; {% generation %} marks the assistant
 *             turns. (The long default instructions of /think mode without a system message are not written here.)
 */
function NEWER_TEMPLATES() {
  return {
    qwen3: [
      "{%- if messages[0].role == 'system' %}",
      "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}",
      '{%- endif %}',
      '{%- set ns = namespace(last_user=-1) %}',
      "{%- for m in messages %}{%- if m.role == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}{%- endfor %}",
      '{%- for m in messages %}',
      "  {%- if m.role == 'user' or (m.role == 'system' and not loop.first) %}",
      "    {{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}",
      "  {%- elif m.role == 'assistant' %}",
      "    {%- set answer = m.content %}{%- set thought = '' %}",
      '    {%- if m.reasoning_content is string %}{%- set thought = m.reasoning_content %}',
      "    {%- elif '</think>' in answer %}",
      "      {%- set thought = answer.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}",
      "      {%- set answer = answer.split('</think>')[-1].lstrip('\\n') %}",
      '    {%- endif %}',
      '    {%- if loop.index0 > ns.last_user and (loop.last or thought) %}',
      "      {{- '<|im_start|>assistant\\n<think>\\n' + thought.strip('\\n') + '\\n</think>\\n\\n' + answer.lstrip('\\n') }}",
      '    {%- else %}',
      "      {{- '<|im_start|>assistant\\n' + answer }}",
      '    {%- endif %}',
      ...QWEN3_TEMPLATE_END,
    ].join('\n'),
    gemma3: [
      '{{ bos_token }}',
      "{%- set opening = '' %}{%- set turns = messages %}",
      "{%- if messages[0]['role'] == 'system' %}",
      "  {%- set opening = messages[0]['content'] + '\\n\\n' %}{%- set turns = messages[1:] %}",
      '{%- endif %}',
      '{%- for m in turns %}',
      "  {%- if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}",
      "    {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}",
      '  {%- endif %}',
      "  {{- '<start_of_turn>' + ('model' if m['role'] == 'assistant' else m['role']) + '\\n' + (opening if loop.first else '') }}",
      "  {{- m['content'] | trim }}",
      "  {{- '<end_of_turn>\\n' }}",
      '{%- endfor %}',
      "{%- if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{%- endif %}",
    ].join('\n'),
    llama31: [
      '{{- bos_token }}',
      '{%- if date_string is not defined %}',
      "  {%- if strftime_now is defined %}{%- set date_string = strftime_now('%d %b %Y') %}",
      "  {%- else %}{%- set date_string = '26 Jul 2024' %}{%- endif %}",
      '{%- endif %}',
      "{%- set system = '' %}{%- set turns = messages %}",
      "{%- if messages[0]['role'] == 'system' %}",
      "  {%- set system = messages[0]['content'] | trim %}{%- set turns = messages[1:] %}",
      '{%- endif %}',
      "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}",
      "{{- 'Cutting Knowledge Date: December 2023\\n' }}",
      "{{- 'Today Date: ' + date_string + '\\n\\n' }}",
      "{{- system + '<|eot_id|>' }}",
      '{%- for m in turns %}',
      "  {{- '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}",
      '{%- endfor %}',
      "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
    ].join('\n'),
    phi4mini: [
      '{%- for m in messages %}',
      "  {%- if m['role'] == 'system' and m['tools'] is defined and m['tools'] is not none %}",
      "    {{- '<|system|>' + m['content'] + '<|tool|>' + m['tools'] + '<|/tool|>' + '<|end|>' }}",
      '  {%- else %}',
      "    {{- '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}",
      '  {%- endif %}',
      '{%- endfor %}',
      "{%- if add_generation_prompt %}{{- '<|assistant|>' }}{%- else %}{{- eos_token }}{%- endif %}",
    ].join('\n'),
    smollm3: [
      "{%- set mode = '/no_think' if (enable_thinking is defined and not enable_thinking) else '/think' %}",
      "{%- set instructions = '' %}{%- set override = false %}",
      "{%- if messages[0].role == 'system' %}",
      '  {%- set text = messages[0].content %}',
      "  {%- if '/no_think' in text %}{%- set mode = '/no_think' %}{%- elif '/think' in text %}{%- set mode = '/think' %}{%- endif %}",
      "  {%- set override = '/system_override' in text %}",
      "  {%- set instructions = text.replace('/no_think', '').replace('/think', '').rstrip() %}",
      '{%- endif %}',
      "{{- '<|im_start|>system\\n' }}",
      '{%- if override %}',
      "  {{- instructions.replace('/system_override', '').rstrip() + '<|im_end|>\\n' }}",
      '{%- else %}',
      "  {{- '## Metadata\\n\\nKnowledge Cutoff Date: June 2025\\n' }}",
      "  {{- 'Today Date: ' + strftime_now('%d %B %Y') + '\\n' }}",
      "  {{- 'Reasoning Mode: ' + mode + '\\n\\n## Custom Instructions\\n\\n' }}",
      "  {%- if instructions %}{{- instructions + '\\n\\n' }}",
      "  {%- else %}{{- 'You are a helpful AI assistant named SmolLM, trained by Hugging Face.\\n\\n' }}{%- endif %}",
      '  {%- if tools %}',
      "    {{- '### Tools\\n\\n' + (tools | tojson) + '\\n\\n<|im_end|>\\n' }}",
      '  {%- endif %}',
      '{%- endif %}',
      "{%- set think = '' if mode == '/think' else '<think>\\n\\n</think>\\n' %}",
      '{%- for m in messages %}',
      "  {%- if m.role == 'user' %}",
      "    {{- '<|im_start|>user\\n' + m.content + '<|im_end|>\\n' }}",
      "  {%- elif m.role == 'assistant' %}",
      '    {% generation %}',
      "    {{- '<|im_start|>assistant\\n' + think + m.content.lstrip('\\n') + '<|im_end|>\\n' }}",
      '    {% endgeneration %}',
      '  {%- endif %}',
      '{%- endfor %}',
      "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' + think }}{%- endif %}",
    ].join('\n'),
  };
}

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
  ...NEWER_CHAT_MODELS(),
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

/** The newer families' models (see NEWER_TEMPLATES): tokenizers with each family's turn tokens. */
function NEWER_CHAT_MODELS() {
  const control = (texts) => texts.map((text) => ({ text, type: CONTROL }));
  // Qwen 3 and SmolLM3 files carry <think> and </think> as user-defined tokens: they are text, parsed as one token.
  const think = ['<think>', '</think>'].map((text) => ({ text, type: TOKEN_TYPE.USER_DEFINED }));
  const llama3Tokens = (w) => {
    const n = addGpt2Tokenizer(w, {
      pre: 'llama-bpe', addBos: true, bos: '<|begin_of_text|>', eos: '<|end_of_text|>',
      extra: control(['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>']),
    });
    w.addUint32('tokenizer.ggml.eot_token_id', n - 1);
    return n;
  };
  return [
    {
      // Qwen 3's instruct files name <|im_end|> as EOS.
      family: 'qwen3', file: 'chat-qwen3.gguf', vocab: 50261, start: 'Ċ', reply: GPT2_REPLY, end: '<|im_end|>',
      add: (w) => addGpt2Tokenizer(w, { pre: 'qwen2', bos: END_OF_TEXT, eos: '<|im_end|>',
        extra: [...control(['<|im_start|>', '<|im_end|>']), ...think] }),
    },
    {
      family: 'gemma3', file: 'chat-gemma3.gguf', vocab: 32002, start: '<0x0A>', reply: SPM_REPLY, end: '<end_of_turn>',
      add: (w) => addLlamaTokenizer(w, { gemma: true }),
    },
    {
      family: 'llama31', file: 'chat-llama31.gguf', vocab: 50262, start: 'ĊĊ', reply: GPT2_REPLY, end: '<|eot_id|>',
      add: llama3Tokens,
    },
    {
      family: 'phi4mini', file: 'chat-phi4mini.gguf', vocab: 50263, start: '<|assistant|>', reply: GPT2_REPLY, end: '<|end|>',
      add: (w) => addGpt2Tokenizer(w, { pre: 'gpt-4o',
        extra: control(['<|system|>', '<|user|>', '<|assistant|>', '<|end|>', '<|tool|>', '<|/tool|>']) }),
    },
    {
      family: 'smollm3', file: 'chat-smollm3.gguf', vocab: 50261, start: 'Ċ', reply: GPT2_REPLY, end: '<|im_end|>',
      add: (w) => addGpt2Tokenizer(w, { pre: 'llama-bpe', bos: END_OF_TEXT, eos: '<|im_end|>',
        extra: [...control(['<|im_start|>', '<|im_end|>']), ...think] }),
    },
  ];
}

const DIM = 32;
const LAYER_SCALE = 0.25;  // how much of each layer's output stays
const LINK_SCALE = 3;      // a planted output row's norm (a random row's is about 1)

/** Float32 view of an F32 tensor's data in the writer. */
function tensorData(w, name) {
  const t = w.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
}

// `template`: the Jinja text to carry, by default the family's in TEMPLATES (tools/gguf/tool-models.mjs gives its own).
export function makeChatModel({ family, vocab, add, start, reply, end, template = TEMPLATES[family] }) {
  const w = makeRandomLlama({ seed: 31, dim: DIM, layers: 1, heads: 2, kvHeads: 2, ffn: 64, vocab, ctx: 256,
    name: `ringlm-chat-${family}` });
  for (const key of [...w.metadata.keys()]) if (key.startsWith('tokenizer.')) w.metadata.delete(key);
  const n = add(w);
  if (n !== vocab) throw new Error(`${family}: the tokenizer has ${n} tokens, the model ${vocab} rows`);
  w.addString('tokenizer.chat_template', template);

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

/**
 * Writes each of `models` as `outdir`/m.file with the bytes `build(m)` gives, keeping files that are unchanged;
 * returns their paths by m.family. Shared by the chat and tool test models.
 */
export function writeTestModels(models, build, outdir, log) {
  mkdirSync(outdir, { recursive: true });
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  const paths = {};
  for (const m of models) {
    const path = join(outdir, m.file);
    const bytes = build(m);
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

/** Writes the models into `outdir` (unchanged files are kept); returns their paths by family. */
export function makeChatModels(outdir = 'build/models', { log = () => {} } = {}) {
  return writeTestModels(CHAT_MODELS, (m) => makeChatModel(m).toBuffer(), outdir, log);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  makeChatModels(process.argv[2] ?? 'build/models', { log: console.log });
}
