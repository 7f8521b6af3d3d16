// Chat templates: applyChatTemplate() renders the families' templates (ChatML, Llama-2, Llama-3, Zephyr, Command-R, and
// Qwen 3, Gemma 3, Llama 3.1/3.2, Phi-4-mini, SmolLM3) as their published formats, and as node-llama-cpp (llama.cpp) renders and tokenizes them; chat() streams a reply
// that ends at the end-of-turn token, which never reaches the text, and reuses the KV cache across turns.
// The models come from tools/gguf/chat-models.mjs: they answer every turn "Hello, world" (greedy).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RingLM } from '../wasm/ringlm.js';
import { CHAT_MODELS, TEMPLATES, makeChatModels } from '../tools/gguf/chat-models.mjs';
import { disposeReferenceLlama, llamaCppLogprobs, withLlamaCppChat } from './reference/llamacpp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PATHS = makeChatModels(path.join(ROOT, 'build/models'));
const NO_TEMPLATE = path.join(ROOT, 'build/models/mha-f32.gguf');  // tools/make-test-models.mjs
const GREEDY = { temperature: 0 };

const SYSTEM = { role: 'system', content: 'You are terse.' };
const USER1 = { role: 'user', content: 'Hi there' };
const REPLY = 'Hello, world';
const ASSISTANT1 = { role: 'assistant', content: REPLY };
const USER2 = { role: 'user', content: 'How are you?' };
const CONVERSATION = [SYSTEM, USER1, ASSISTANT1, USER2];

// Written from each family's published format, not from our output.
const EXPECTED = {
  chatml: '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n' +
    '<|im_start|>assistant\nHello, world<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n',
  llama2: '<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello, world </s><s>[INST] How are you? [/INST]',
  llama3: '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nHello, world<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  zephyr: '<|system|>\nYou are terse.</s>\n<|user|>\nHi there</s>\n<|assistant|>\nHello, world</s>\n' +
    '<|user|>\nHow are you?</s>\n<|assistant|>\n',
  commandr: '<BOS_TOKEN><|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>You are terse.<|END_OF_TURN_TOKEN|>' +
    '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hi there<|END_OF_TURN_TOKEN|>' +
    '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>Hello, world<|END_OF_TURN_TOKEN|>' +
    '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>How are you?<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>',
};
// Today's date as the templates of Llama 3.1 and SmolLM3 write it (strftime_now '%d %b %Y' and '%d %B %Y', English).
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November',
  'December'];
function today(longMonth) {
  const d = new Date();
  const month = MONTHS[d.getMonth()];
  return `${String(d.getDate()).padStart(2, '0')} ${longMonth ? month : month.slice(0, 3)} ${d.getFullYear()}`;
}
Object.assign(EXPECTED, {
  qwen3: '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n' +
    '<|im_start|>assistant\nHello, world<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n',
  // No system role: its text opens the first user turn.
  gemma3: '<s><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n<start_of_turn>model\nHello, world<end_of_turn>\n' +
    '<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n',
  llama31: '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n' +
    `Today Date: ${today(false)}\n\nYou are terse.<|eot_id|>` +
    '<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nHello, world<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  phi4mini: '<|system|>You are terse.<|end|><|user|>Hi there<|end|><|assistant|>Hello, world<|end|><|user|>How are you?<|end|>' +
    '<|assistant|>',
  // The system block is left open (no <|im_end|>) when no tools are given, as the published template does.
  smollm3: '<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\n' +
    `Today Date: ${today(true)}\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are terse.\n\n` +
    '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello, world<|im_end|>\n' +
    '<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n',
});
// The families whose files add no BOS (and whose templates write none).
const NO_BOS = ['chatml', 'qwen3', 'phi4mini', 'smollm3'];
// The end-of-turn token's text in each family.
const END = Object.fromEntries(CHAT_MODELS.map((m) => [m.family, m.end]));

const models = {};
before(async () => {
  for (const { family } of CHAT_MODELS) models[family] = await RingLM.load(PATHS[family], { contextSize: 256 });
});
after(async () => {
  for (const lm of Object.values(models)) lm.dispose();
  await disposeReferenceLlama();
});

/** A chat prompt's ids: control tokens parsed, BOS as the model adds it and not twice. */
function promptIds(lm, text) {
  const bos = lm.detokenize([lm.tokenizer.bos], { special: true });
  return Array.from(lm.tokenize(lm.tokenizer.addBos && text.startsWith(bos) ? text.slice(bos.length) : text, { special: true }));
}

/** Drain a chat() iterator: { text, ids, chunks, result }. */
async function drain(iterator) {
  const chunks = [];
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) {
      return { text: chunks.map((c) => c.text).join(''), ids: chunks.filter((c) => c.id >= 0).map((c) => c.id), chunks, result: value };
    }
    chunks.push(value);
  }
}

describe('applyChatTemplate', () => {
  for (const { family } of CHAT_MODELS) {
    test(`${family}: the file's template renders the published format`, () => {
      const lm = models[family];
      assert.equal(lm.chatTemplate, TEMPLATES[family]);
      assert.equal(lm.applyChatTemplate(CONVERSATION), EXPECTED[family]);
    });
  }

  test('add_generation_prompt, default system prompts, trim and strip', () => {
    const chatml = models.chatml;
    assert.equal(chatml.applyChatTemplate([USER1], { addGenerationPrompt: false }),
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n');
    assert.equal(chatml.applyChatTemplate([USER1]),
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(models.zephyr.applyChatTemplate([USER1], { addGenerationPrompt: false }), '<|user|>\nHi there</s>\n');
    assert.equal(models.llama3.applyChatTemplate([{ role: 'user', content: '  padded \n' }], { addGenerationPrompt: false }),
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\npadded<|eot_id|>');
    assert.equal(models.llama2.applyChatTemplate([{ role: 'user', content: '\tpadded  ' }]), '<s>[INST] padded [/INST]');
  });

  test('more families, given as the template option: Gemma, Phi-3, Mistral', () => {
    const lm = models.llama2;  // bos_token <s>, eos_token </s>
    const gemma = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}" +
      "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
      "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
      "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";
    assert.equal(lm.applyChatTemplate([USER1, ASSISTANT1, USER2], { template: gemma }),
      '<s><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\nHello, world<end_of_turn>\n' +
      '<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n');
    assert.throws(() => lm.applyChatTemplate(CONVERSATION, { template: gemma }), /the chat template failed: System role not supported$/);
    const phi3 = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}" +
      "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}" +
      "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";
    assert.equal(lm.applyChatTemplate(CONVERSATION, { template: phi3 }),
      '<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\nHello, world<|end|>\n' +
      '<|user|>\nHow are you?<|end|>\n<|assistant|>\n');
    assert.equal(lm.applyChatTemplate([USER1], { template: phi3, addGenerationPrompt: false }), '<|user|>\nHi there<|end|>\n</s>');
    const mistral = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
      "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
      "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}" +
      "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
    assert.equal(lm.applyChatTemplate([USER1, ASSISTANT1, USER2], { template: mistral }),
      '<s>[INST] Hi there [/INST]Hello, world</s> [INST] How are you? [/INST]');
  });

  test('qwen3: thinking kept only after the last user message, reasoning_content, enable_thinking false', () => {
    const lm = models.qwen3;
    const thought = { role: 'assistant', content: '<think>\nI should greet.\n</think>\n\nHello, world' };
    // An earlier turn loses its thinking.
    assert.equal(lm.applyChatTemplate([USER1, thought, USER2]),
      '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello, world<|im_end|>\n' +
      '<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n');
    // The turn after the last user message keeps it; with none, an empty think block is written.
    assert.equal(lm.applyChatTemplate([USER1, thought], { addGenerationPrompt: false }),
      '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\nI should greet.\n</think>\n\nHello, world<|im_end|>\n');
    assert.equal(lm.applyChatTemplate([USER1, ASSISTANT1], { addGenerationPrompt: false }),
      '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello, world<|im_end|>\n');
    assert.equal(lm.applyChatTemplate([USER1, { ...ASSISTANT1, reasoning_content: 'Be brief.' }], { addGenerationPrompt: false }),
      '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\nBe brief.\n</think>\n\nHello, world<|im_end|>\n');
    assert.equal(lm.applyChatTemplate([USER1], { variables: { enable_thinking: false } }),
      '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    // <think> is one token, and shows in the text (a user-defined token, not a control one).
    const ids = lm.tokenize('<think>', { special: true, addBos: false });
    assert.equal(ids.length, 1);
    assert.equal(lm.detokenize(ids), '<think>');
  });

  test('gemma3: the system text opens the first user turn; roles must alternate', () => {
    const lm = models.gemma3;
    assert.equal(lm.applyChatTemplate([USER1]), '<s><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n');
    assert.equal(lm.applyChatTemplate([SYSTEM, { role: 'user', content: '  Hi there \n' }], { addGenerationPrompt: false }),
      '<s><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n');
    assert.throws(() => lm.applyChatTemplate([USER1, USER2]), /the chat template failed: Conversation roles must alternate/);
  });

  test('llama31: the date line from strftime_now, or date_string', () => {
    assert.equal(models.llama31.applyChatTemplate([USER1], { variables: { date_string: '26 Jul 2024' } }),
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n' +
      'Today Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\n');
  });

  test('phi4mini: eos_token without a generation prompt; a system message\'s tools', () => {
    const lm = models.phi4mini;
    assert.equal(lm.applyChatTemplate([USER1, ASSISTANT1], { addGenerationPrompt: false }),
      '<|user|>Hi there<|end|><|assistant|>Hello, world<|end|><|endoftext|>');
    assert.equal(lm.applyChatTemplate([{ ...SYSTEM, tools: '[{"name":"f"}]' }, USER1]),
      '<|system|>You are terse.<|tool|>[{"name":"f"}]<|/tool|><|end|><|user|>Hi there<|end|><|assistant|>');
  });

  test('smollm3: /no_think (in the system text or enable_thinking false) writes empty think blocks; /system_override', () => {
    const lm = models.smollm3;
    const header = (mode, instructions) => '<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\n' +
      `Today Date: ${today(true)}\nReasoning Mode: ${mode}\n\n## Custom Instructions\n\n${instructions}\n\n`;
    assert.equal(lm.applyChatTemplate([{ role: 'system', content: 'Be terse. /no_think' }, USER1, ASSISTANT1, USER2]),
      header('/no_think', 'Be terse.') + '<|im_start|>user\nHi there<|im_end|>\n' +
      '<|im_start|>assistant\n<think>\n\n</think>\nHello, world<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n' +
      '<|im_start|>assistant\n<think>\n\n</think>\n');
    assert.equal(lm.applyChatTemplate([USER1], { variables: { enable_thinking: false } }),
      header('/no_think', 'You are a helpful AI assistant named SmolLM, trained by Hugging Face.') +
      '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n');
    assert.equal(lm.applyChatTemplate([{ role: 'system', content: 'Only this. /system_override' }, USER1]),
      '<|im_start|>system\nOnly this.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n');
  });

  test('raise_exception in a template becomes an Error with its message', () => {
    assert.throws(() => models.llama2.applyChatTemplate([USER1, USER2]),
      /^Error: RingLM\.applyChatTemplate: the chat template failed: .*Conversation roles must alternate user\/assistant/);
  });

  test('a model without a template: a clear error, and the template option', async () => {
    const lm = await RingLM.load(NO_TEMPLATE);
    try {
      assert.equal(lm.chatTemplate, null);
      assert.throws(() => lm.applyChatTemplate([USER1]), /has no chat template \(tokenizer\.chat_template\): give one as the template option/);
      await assert.rejects(lm.chat([USER1]).next(), /has no chat template/);
      assert.equal(lm.applyChatTemplate([USER1, ASSISTANT1], { template: TEMPLATES.zephyr, addGenerationPrompt: false }),
        '<|user|>\nHi there</s>\n<|assistant|>\nHello, world</s>\n');
    } finally {
      lm.dispose();
    }
  });

  test('bad messages, bad templates and render errors say what is wrong', () => {
    const lm = models.chatml;
    assert.throws(() => lm.applyChatTemplate('hi'), /messages must be an array of \{ role, content \}/);
    assert.throws(() => lm.applyChatTemplate([null]), /messages\[0\] must be an object/);
    assert.throws(() => lm.applyChatTemplate([USER1, { content: 'x' }]), /messages\[1\]\.role must be a non-empty string/);
    assert.throws(() => lm.applyChatTemplate([{ role: 'user', content: 3 }]), /messages\[0\]\.content must be a string/);
    assert.throws(() => lm.applyChatTemplate([USER1], { template: 42 }), /template must be a string/);
    assert.throws(() => lm.applyChatTemplate([USER1], { variables: 'x' }), /variables must be an object/);
    assert.throws(() => lm.applyChatTemplate([USER1], { template: '{% for m in messages %}{{ m.content }}' }),
      /^Error: RingLM\.applyChatTemplate: the chat template does not parse: ./);
    assert.throws(() => lm.applyChatTemplate([USER1], { template: '{{ messages | no_such_filter }}' }),
      /^Error: RingLM\.applyChatTemplate: the chat template failed: .*no_such_filter/);
    assert.throws(() => lm.applyChatTemplate([USER1], { template: "{{ raise_exception('no tools here') }}" }),
      /the chat template failed: no tools here$/);
  });

  test('variables reach the template; bos_token and eos_token are the model\'s token texts', () => {
    const template = '{{ bos_token }}|{{ eos_token }}|{{ greeting }}|{{ add_generation_prompt }}';
    assert.equal(models.llama3.applyChatTemplate([USER1], { template, variables: { greeting: 'hey' } }),
      '<|begin_of_text|>|<|end_of_text|>|hey|true');
    assert.equal(models.zephyr.applyChatTemplate([USER1], { template, variables: { greeting: 'yo' }, addGenerationPrompt: false }),
      '<s>|</s>|yo|false');
    assert.equal(models.zephyr.applyChatTemplate([USER1], { template, variables: { bos_token: '' } }), '|</s>||true');
  });
});

test('metadata: scalars and strings by key, arrays left out; end tokens', () => {
  const lm = models.llama3;
  assert.equal(lm.metadata['general.architecture'], 'llama');
  assert.equal(lm.metadata['general.name'], 'ringlm-chat-llama3');
  assert.equal(lm.metadata['llama.embedding_length'], 32);
  assert.equal(lm.metadata['tokenizer.ggml.add_bos_token'], true);
  assert.equal(lm.metadata['tokenizer.ggml.tokens'], undefined);
  assert.equal(lm.metadata['tokenizer.chat_template'], TEMPLATES.llama3);
  const eot = lm.metadata['tokenizer.ggml.eot_token_id'];
  assert.equal(lm.tokenizer.eot, eot);
  assert.equal(lm.detokenize([eot], { special: true }), '<|eot_id|>');
  assert.ok(lm.tokenizer.endOfGeneration.includes(eot));
  assert.ok(Object.isFrozen(lm.metadata));
  // ChatML's <|im_end|> is no EOS or EOT key: it ends generation because llama.cpp knows it by its text.
  const chatml = models.chatml;
  const imEnd = chatml.tokenize('<|im_end|>', { special: true, addBos: false });
  assert.equal(imEnd.length, 1);
  assert.notEqual(chatml.tokenizer.eos, imEnd[0]);
  assert.ok(chatml.tokenizer.endOfGeneration.includes(imEnd[0]));
});

describe('the same prompts as llama.cpp (node-llama-cpp 3.21.1)', () => {
  const reference = (family, fn) => withLlamaCppChat(PATHS[family], fn);

  for (const { family } of CHAT_MODELS) {
    test(`${family}: rendered text and token ids`, async () => {
      const lm = models[family];
      const messages = [SYSTEM, USER1, ASSISTANT1, USER2];
      const ours = lm.applyChatTemplate(messages);
      const ourIds = Array.from(lm.tokenize(ours, { special: true, addBos: false }));
      await reference(family, async (model, wrapper, renderText) => {
        // node-llama-cpp renders the history ending with an empty assistant turn; bos_token and eos_token are
        // special-token objects, message texts plain text.
        const { contextText, stopGenerationTriggers } = wrapper.generateContextState({ chatHistory: [
          { type: 'system', text: SYSTEM.content }, { type: 'user', text: USER1.content },
          { type: 'model', response: [REPLY] }, { type: 'user', text: USER2.content }, { type: 'model', response: [] }] });
        const special = { BOS: lm.detokenize([lm.tokenizer.bos], { special: true }), EOS: lm.detokenize([lm.tokenizer.eos], { special: true }) };
        const render = (text) => renderText(text, special);
        const theirs = render(contextText);
        // node-llama-cpp ends the reply where the template goes on after an assistant's message: at the same token.
        assert.ok(stopGenerationTriggers.some((t) => render(t).trimStart().startsWith(END[family])),
          `node-llama-cpp's stop triggers ${JSON.stringify(stopGenerationTriggers.map(render))} hold ${END[family]}`);
        // Llama-2's template has no generation prompt: node-llama-cpp renders an assistant turn with empty content
        // and cuts there, after the space the template puts before the content; add_generation_prompt renders
        // nothing (as transformers and llama.cpp's server do).
        // Qwen 3's template writes an (empty) think block into an assistant turn after the last user message: the empty
        // assistant message node-llama-cpp renders gets one; add_generation_prompt writes none (as in transformers).
        const continued = { llama2: ' ', qwen3: '<think>\n\n</think>\n\n' }[family] ?? '';
        assert.equal(ours + continued, theirs);
        // llama.cpp tokenizes our rendered prompt (control tokens parsed) into the same ids.
        assert.deepEqual(Array.from(model.tokenize(ours, true)), ourIds);
        if (!['llama2', 'zephyr'].includes(family)) {
          // Byte-level BPE splits at the pieces' boundaries anyway, so node-llama-cpp's piecewise tokenization of its
          // context gives the same ids too (a SentencePiece vocabulary merges across them: not comparable).
          const ourContinuedIds = Array.from(lm.tokenize(ours + continued, { special: true, addBos: false }));
          assert.deepEqual(Array.from(contextText.tokenize(model.tokenizer)), ourContinuedIds);
        }
      });
    });
  }
});

describe('chat()', () => {
  for (const { family, reply } of CHAT_MODELS) {
    test(`${family}: streams the reply and stops at the end-of-turn token, which is not in the text`, async () => {
      const lm = models[family];
      const prompt = lm.applyChatTemplate([SYSTEM, USER1]);
      const ids = promptIds(lm, prompt);
      const bosCount = ids.filter((id) => id === lm.tokenizer.bos).length;
      assert.equal(bosCount, NO_BOS.includes(family) ? 0 : 1, 'BOS once (ChatML, Qwen 3, Phi-4-mini and SmolLM3 files add none)');
      if (bosCount) assert.equal(ids[0], lm.tokenizer.bos);
      for (const special of [false, true]) {
        const { text, ids: reply1, result } = await drain(lm.chat([SYSTEM, USER1], { ...GREEDY, special }));
        assert.equal(text, REPLY);
        assert.equal(result.finishReason, 'stop');
        assert.ok(!text.includes(END[family]));
        assert.equal(reply1.length, reply.length, 'one chunk per reply token, none for the end token');
        assert.equal(result.timings.promptTokens, ids.length, 'the prompt is the rendered template, BOS once');
      }
      // llama.cpp's greedy choice after the prompt and each reply token is the next reply token, then the end token.
      const end = lm.tokenize(END[family], { special: true, addBos: false });
      assert.equal(end.length, 1);
      const replyIds = (await drain(lm.chat([SYSTEM, USER1], GREEDY))).ids;
      const sequence = [...ids, ...replyIds, end[0]];
      const logprobs = await llamaCppLogprobs(PATHS[family], sequence);
      const vocab = logprobs.vocab;
      for (let i = ids.length - 1; i < sequence.length - 1; i++) {
        const row = logprobs.subarray(i * vocab, (i + 1) * vocab);
        const best = row.indexOf(Math.max(...row));
        assert.equal(best, sequence[i + 1], `llama.cpp's argmax at position ${i}`);
      }
    });
  }

  test('commandr: the end of turn comes from the template alone', async () => {
    const lm = models.commandr;
    const [end] = lm.tokenize(END.commandr, { special: true, addBos: false });
    assert.ok(!lm.tokenizer.endOfGeneration.includes(end), 'the file names it nowhere as an end token');
    const ids = promptIds(lm, lm.applyChatTemplate([USER1]));
    const plain = await lm.complete(ids, { ...GREEDY, maxTokens: 5 });
    assert.deepEqual(plain.tokens.slice(0, 4), [...(await drain(lm.chat([USER1], GREEDY))).ids, end],
      'generate() runs on past the end of turn; chat() stops before it');
    assert.equal(plain.finishReason, 'length');
  });

  test('stopTokens ends generate() like EOS', async () => {
    const lm = models.chatml;
    const ids = promptIds(lm, lm.applyChatTemplate([USER1]));
    const [comma] = lm.tokenize(',', { addBos: false });
    const r = await lm.complete(ids, { ...GREEDY, stopTokens: [comma] });
    assert.equal(r.text, 'Hello');
    assert.equal(r.finishReason, 'stop');
    await assert.rejects(lm.complete(ids, { stopTokens: [1.5] }), /stopTokens: token ids must be integers/);
    await assert.rejects(lm.complete(ids, { stopTokens: [1e6] }), /stop token id 1000000 is out of range/);
  });

  test('maxTokens ends the reply with finishReason length', async () => {
    const { text, result } = await drain(models.chatml.chat([USER1], { ...GREEDY, maxTokens: 2 }));
    assert.equal(text, 'Hello,');
    assert.equal(result.finishReason, 'length');
  });

  for (const family of ['chatml', 'llama3', 'zephyr', 'commandr']) {
    test(`${family}: the next turn runs only its new tokens, and the cache then holds the whole conversation`, async () => {
      const lm = models[family];
      lm.reset();
      const first = await drain(lm.chat([SYSTEM, USER1], GREEDY));
      assert.equal(first.text, REPLY);
      const messages = [SYSTEM, USER1, { role: 'assistant', content: first.text }, USER2];
      const fullIds = promptIds(lm, lm.applyChatTemplate(messages));
      // Only the prompt (maxTokens 0): the end token of the first turn and the new tokens run, nothing else.
      const second = await drain(lm.chat(messages, { ...GREEDY, maxTokens: 0 }));
      assert.equal(second.result.finishReason, 'length');
      const firstLength = first.result.timings.promptTokens + first.ids.length + 1;
      assert.equal(second.result.timings.promptTokens, fullIds.length - firstLength + 1, 'tokens run in the second turn');
      assert.equal(lm.position, fullIds.length);
      // The cache holds exactly the conversation: the next token's logits are those of a fresh run over all of it.
      const next = fullIds.at(-1);
      const continued = lm.decode(next);
      lm.reset();
      const fresh = lm.prefill([...fullIds, next]);
      let worst = 0;
      for (let i = 0; i < fresh.length; i++) worst = Math.max(worst, Math.abs(fresh[i] - continued[i]));
      assert.ok(worst < 1e-4, `logits differ by ${worst}`);
      // And a whole second turn answers as a fresh model does.
      lm.reset();
      await drain(lm.chat([SYSTEM, USER1], GREEDY));
      const reused = await drain(lm.chat(messages, GREEDY));
      lm.reset();
      const scratch = await drain(lm.chat(messages, GREEDY));
      assert.equal(reused.text, REPLY);
      assert.deepEqual(reused.ids, scratch.ids);
      assert.equal(scratch.result.timings.promptTokens, fullIds.length, 'after reset() the conversation runs from the start');
      assert.ok(reused.result.timings.promptTokens < fullIds.length / 2);
    });
  }

  test('llama2: a turn whose prompt does not extend the cache runs from the start, with the same answer', async () => {
    const lm = models.llama2;
    lm.reset();
    const first = await drain(lm.chat([USER1], GREEDY));
    const messages = [USER1, { role: 'assistant', content: first.text }, USER2];
    // The template renders " Hello, world </s>": the space before </s> is no token the model produced.
    const second = await drain(lm.chat(messages, GREEDY));
    const fullIds = promptIds(lm, lm.applyChatTemplate(messages));
    assert.equal(second.result.timings.promptTokens, fullIds.length);
    assert.equal(second.text, REPLY);
  });

  test('leaving early, other calls on the cache, and errors', async () => {
    const lm = models.chatml;
    lm.reset();
    for await (const chunk of lm.chat([USER1], GREEDY)) {
      assert.equal(chunk.text, 'Hello');
      break;  // generate() stops: the model is free again
    }
    const all = (await drain(lm.chat([USER1], GREEDY))).result.timings.promptTokens;
    // prefill() changes the cache: the next turn cannot reuse it.
    lm.prefill([1, 2]);
    const after = await drain(lm.chat([USER1, ASSISTANT1, USER2], GREEDY));
    assert.ok(after.result.timings.promptTokens > all);
    await assert.rejects(lm.chat([USER1], { keepCache: true }).next(), /keepCache is not an option of chat\(\)/);
    await assert.rejects(lm.chat({ role: 'user' }).next(), /messages must be an array/);
    await assert.rejects(lm.chat([USER1], { temperature: -1 }).next(), /temperature must be a number/);
    const running = lm.chat([USER1], GREEDY);
    await running.next();
    await assert.rejects(lm.chat([USER1]).next(), /a generation is already running/);
    await running.return();
    const signal = AbortSignal.abort();
    await assert.rejects(lm.chat([USER1], { signal }).next(), { name: 'AbortError' });
    assert.equal((await drain(lm.chat([USER1], GREEDY))).text, REPLY);
  });
});

test('the ringlm command answers a message with --chat (and --system)', () => {
  const run = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  const r = run('-m', PATHS.llama3, '--chat', '--system', 'You are terse.', '-p', 'Hi there', '--temp', '0');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${REPLY}\n`, 'the reply alone, without the prompt or the end token');
  assert.match(r.stderr, /finish: stop/);
  const bad = run('-m', PATHS.llama3, '--system', 'x', '-p', 'Hi');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--system needs --chat/);
});
