// chat.js — chat templates: rendering a conversation with the file's Jinja template (as transformers'
// apply_chat_template renders it), finding the end-of-turn token a template writes, and tokenizing a chat
// prompt. Everything here works through RingLM's public methods.

import { Template } from '../../dist/jinja.mjs';  // @huggingface/jinja, copied there by the build
import { chatMessages } from './checks.js';

/** A special token's text ('<s>', '<|begin_of_text|>'), '' for none. */
const tokenText = (lm, id) => (id == null ? '' : lm.detokenize([id], { special: true, stripLeadingSpace: false }));

/** Chat prompt text to ids: control tokens parsed, BOS once (a bos_token the template wrote is not doubled). */
export function chatPromptIds(lm, text) {
  const addBos = Boolean(lm.tokenizer?.addBos);
  const bos = addBos ? tokenText(lm, lm.tokenizer.bos) : '';
  if (bos && text.startsWith(bos)) text = text.slice(bos.length);
  return lm.tokenize(text, { addBos, special: true });
}

/** One model's parsed templates and what each one writes to end a turn, kept for its next turns. */
export class ChatTemplates {
  #parsed = new Map();     // template text -> parsed Template
  #turnEnds = new Map();   // template text -> the end-of-turn tokens it writes

  /** applyChatTemplate(): see RingLM. */
  render(lm, messages, { addGenerationPrompt = true, template, variables = {} } = {}) {
    const what = 'RingLM.applyChatTemplate';
    chatMessages(messages, what);
    if (variables === null || typeof variables !== 'object') throw new TypeError(`${what}: variables must be an object`);
    const source = template ?? lm.chatTemplate;
    if (source === null) {
      throw new Error(`${what}: the model file has no chat template (tokenizer.chat_template): give one as the template option`);
    }
    if (typeof source !== 'string') throw new TypeError(`${what}: template must be a string of Jinja`);
    let parsed = this.#parsed.get(source);
    if (parsed === undefined) {
      try {
        parsed = new Template(source);
      } catch (e) {
        throw new Error(`${what}: the chat template does not parse: ${e.message}`, { cause: e });
      }
      if (this.#parsed.size >= 8) this.#parsed.clear();
      this.#parsed.set(source, parsed);
    }
    const info = lm.tokenizer;
    try {
      return parsed.render({
        bos_token: tokenText(lm, info?.bos), eos_token: tokenText(lm, info?.eos),
        ...variables, messages, add_generation_prompt: Boolean(addGenerationPrompt),
      });
    } catch (e) {
      throw new Error(`${what}: the chat template failed: ${e.message}`, { cause: e });
    }
  }

  /**
   * The control token a template writes right after an assistant message's content: the model's end of turn,
   * which the file may name nowhere else (Command-R's <|END_OF_TURN_TOKEN|> is no EOS, EOT or known text).
   */
  turnEndTokens(lm, source) {
    let ends = this.#turnEnds.get(source);
    if (ends !== undefined) return ends;
    ends = [];
    const mark = 'ringlm:end-of-turn-probe';
    let text = '';
    try {
      text = this.render(lm, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: mark }],
        { template: source, addGenerationPrompt: false });
    } catch {
      // A template that refuses this conversation: the model's own end tokens have to do.
    }
    const at = text.lastIndexOf(mark);
    if (at >= 0) {
      const [first] = lm.tokenize(text.slice(at + mark.length).trimStart(), { special: true, addBos: false, addEos: false });
      // Control tokens render as nothing unless asked for: text after the content is no end of turn.
      if (first !== undefined && lm.detokenize([first]) === '' && lm.detokenize([first], { special: true }) !== '') ends = [first];
    }
    if (this.#turnEnds.size >= 8) this.#turnEnds.clear();
    this.#turnEnds.set(source, ends);
    return ends;
  }
}
