// tool-grammar.js — the GBNF grammars of tool calls: the one that forces one call (chat()'s toolChoice 'required' or
// { name }) and the lazy one of toolChoice 'auto', which holds the reply to calls from the moment the model starts
// one. A call is its envelope exactly as the template writes it (tools.js: TOOL_CALL_FORMATS), one of the tools'
// names, and arguments valid for that tool's parameters (JSON Schema, through json-schema.js). Each tool's argument
// grammar is embedded with its rules renamed, so that the tools' rules cannot collide.

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
 * Rules for one call to any of `tools` ([{ name, parameters }]), or to the one named `only`: `call` is the whole call,
 * envelope(name) its text before and after the arguments' JSON as GBNF. A tool without parameters takes {} as its
 * arguments. A schema json-schema.js cannot honour is an error naming the tool.
 */
function callRules(tools, what, only, envelope) {
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
    const { before, after } = envelope(tool.name);
    choices.push(`tool${i}`);
    rules.push(`tool${i} ::= ${before} tool${i}-args-root ${after}`, prefixRuleNames(args.trim(), `tool${i}-args-`));
  });
  return `call ::= ${choices.join(' | ')}\n${rules.join('\n')}\n`;
}

/**
 * The grammar of one call in `format` to any of `tools`, or to the one named `only`, written exactly as the template
 * writes calls (format.envelope): root is the whole call.
 */
export function toolCallGrammar(format, tools, what, only) {
  const exact = (name) => {
    const { before, after } = format.envelope(name);
    return { before: literal(before), after: literal(after) };
  };
  return `root ::= call\n${callRules(tools, what, only, exact)}`;
}

/**
 * toolChoice 'auto': { grammar, grammarTriggers } for the generate options. The reply is free text until it writes
 * one of the format's triggers (the start of a call); from there it must be one call (or several, where the format
 * allows them) to the tools, with arguments valid for the tool's parameters, and then it ends. Whitespace between
 * the parts of a call is free (bounded), as parse() reads it: a model that writes its calls more compactly or more
 * loosely than its template is not pushed off its own layout, only held to calls that parse and validate.
 */
export function lazyToolCallGrammar(format, tools, what) {
  const { triggers, prefix, open, argsKey, close, several } = format.lazy;
  const loose = (name) => ({
    before: `${open ? `${literal(open)} ws ` : ''}"{" ws "\\"name\\"" ws ":" ws ${literal(JSON.stringify(name))} ws "," ws ${literal(JSON.stringify(argsKey))} ws ":" ws`,
    after: `ws "}"${close ? ` ws ${literal(close)}` : ''}`,
  });
  const first = prefix === undefined ? 'call' : `${literal(prefix)}? call`;
  const root = `root ::= ${first}${several ? ' (ws call)*' : ''}\nws ::= [ \\t\\n]{0,8}\n`;
  return { grammar: root + callRules(tools, what, undefined, loose), grammarTriggers: [...triggers] };
}
