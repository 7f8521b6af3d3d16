// json-output.js — the jsonSchema option of generate(), complete() and chat(): the schema becomes a GBNF grammar
// (lib/json-schema.js) that the core applies as it applies the grammar option, and a generation that ends with
// the grammar complete gives its text parsed, as the result's `json`.

import { JsonSchemaError, jsonSchemaToGbnf } from './json-schema.js';

/**
 * Checked options with `jsonSchema` in place of `grammar` (options without it are returned as they are). The
 * text must be what the grammar read, so control tokens' text is rendered (`special`); stop strings, which would
 * cut the JSON short, and a grammar of the caller's are refused.
 */
export function jsonSchemaOptions(o, what) {
  if (o.jsonSchema === undefined) return o;
  if (o.grammar !== undefined) throw new TypeError(`${what}: give grammar or jsonSchema, not both`);
  if (o.grammarTriggers !== undefined) throw new TypeError(`${what}: grammarTriggers leave the text before them free, which would not be JSON; they do not combine with jsonSchema`);
  if (o.stop !== undefined && o.stop.length > 0) throw new TypeError(`${what}: stop strings would cut the JSON short; they do not combine with jsonSchema`);
  if (o.special === false) {
    throw new TypeError(`${what}: jsonSchema renders control tokens' text (the JSON is the text the grammar read); special: false does not combine with it`);
  }
  let grammar;
  try {
    grammar = jsonSchemaToGbnf(o.jsonSchema);
  } catch (e) {
    if (e instanceof JsonSchemaError) e.message = `${what}: ${e.message}`;
    throw e;
  }
  const { jsonSchema, ...rest } = o;
  return { ...rest, grammar, special: true, json: true };
}

/**
 * The generation's text as a value: parsed when it ended with the grammar complete ('stop'), undefined when it
 * was cut short ('length': maxTokens or a full context).
 */
export function jsonValue(text, finishReason) {
  return finishReason === 'stop' ? JSON.parse(text) : undefined;
}
