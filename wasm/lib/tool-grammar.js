// tool-grammar.js — the GBNF grammar that forces one tool call (chat()'s toolChoice 'required' or { name }): the
// call's envelope exactly as the template writes it (tools.js: TOOL_CALL_FORMATS), one of the tools' names, and
// arguments valid for that tool's parameters (JSON Schema, through json-schema.js). Each tool's argument grammar
// is embedded with its rules renamed, so that the tools' rules cannot collide.

import { JsonSchemaError, gbnfLiteral as literal, jsonSchemaToGbnf } from './json-schema.js';

const isWordChar = (c) => /[A-Za-z0-9-]/.test(c);  // a rule name's characters (src/generate/grammar.cpp)

/**
 * `grammar` with every rule name (where defined and where used) prefixed by `prefix`. Literals, character classes,
 * repetition counts and comments are copied as they are.
 */
export function prefixRuleNames(grammar, prefix) {
  let out = '';
  let i = 0;
  const copyUntil = (close) => {  // from an opening '"' or '[' to its unescaped close, inclusive
    const start = i++;
    while (i < grammar.length && grammar[i] !== close) i += grammar[i] === '\\' ? 2 : 1;
    i++;
    out += grammar.slice(start, i);
  };
  while (i < grammar.length) {
    const c = grammar[i];
    if (c === '"') copyUntil('"');
    else if (c === '[') copyUntil(']');
    else if (c === '{') {
      const end = grammar.indexOf('}', i);
      out += grammar.slice(i, end + 1);
      i = end + 1;
    } else if (c === '#') {
      const end = grammar.indexOf('\n', i);
      out += grammar.slice(i, end < 0 ? grammar.length : end);
      i = end < 0 ? grammar.length : end;
    } else if (isWordChar(c)) {
      const start = i;
      while (i < grammar.length && isWordChar(grammar[i])) i++;
      out += prefix + grammar.slice(start, i);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * The grammar of one call in `format` to any of `tools` ([{ name, parameters }]), or to the one named `only`: root is
 * the whole call. A tool without parameters takes {} as its arguments. A schema json-schema.js cannot honour is an
 * error naming the tool.
 */
export function toolCallGrammar(format, tools, what, only) {
  const rules = [];
  const choices = [];
  tools.forEach((tool, i) => {
    if (only !== undefined && tool.name !== only) return;
    let args = 'root ::= "{}"';
    if (tool.parameters !== undefined) {
      try {
        args = jsonSchemaToGbnf(tool.parameters);
      } catch (e) {
        if (e instanceof JsonSchemaError) throw new TypeError(`${what}: tools[${i}] ('${tool.name}').parameters: ${e.message}`, { cause: e });
        throw e;
      }
    }
    const { before, after } = format.envelope(tool.name);
    choices.push(`tool${i}`);
    rules.push(`tool${i} ::= ${literal(before)} tool${i}-args-root ${literal(after)}`, prefixRuleNames(args.trim(), `tool${i}-args-`));
  });
  return `root ::= ${choices.join(' | ')}\n${rules.join('\n')}\n`;
}
