// json-schema.js — a JSON Schema as a GBNF grammar (llama.cpp's syntax, start rule `root`) whose every match is
// JSON that parses and validates against the schema. The grammar may accept fewer documents than the schema
// (whitespace is bounded, properties come in the order listed, no extra properties unless the schema asks for
// them), never more: a keyword this file cannot honour exactly is an error naming it and where it is
// (`jsonSchema: 'multipleOf' at #/properties/n is not supported`), and so is a schema that accepts nothing.
//
//   jsonSchemaToGbnf({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] })
//
// How it works: each schema becomes an expression over a small grammar tree (literals, classes, rule references,
// sequences, alternatives, repetitions); named rules hold what is shared or recursive ($ref targets, object
// tails). Before printing, the rules that can match nothing (a required property whose schema is false,
// recursion without a way out) are found by a fixpoint and pruned; if that is the root, the schema is refused.

const MAX_DEPTH = 200;          // schemas nested deeper are refused (the converter recurses once a level)
const MAX_REPEAT = 1999;        // the grammar parser's limit on a {m,n} count (llama.cpp's, less one)
const BLOCK = 1000;             // longer repetitions are built from blocks of this many
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class JsonSchemaError extends Error {
  constructor(message) {
    super(`jsonSchema: ${message}`);
    this.name = 'JsonSchemaError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The grammar tree and its printer.

const NONE = Object.freeze({ t: 'none' });  // matches nothing
const EMPTY = Object.freeze({ t: 'seq', items: [] });
const lit = (s) => (s === '' ? EMPTY : { t: 'lit', s });
const cls = (text) => ({ t: 'cls', text });  // a class written out in GBNF, e.g. '[0-9]'
const ref = (name) => ({ t: 'ref', name });
const rep = (e, min, max) => ({ t: 'rep', e, min, max });  // max Infinity: no limit
const opt = (e) => rep(e, 0, 1);

function seq(...items) {
  const flat = [];
  for (const e of items) {
    if (e.t === 'none') return NONE;
    if (e.t === 'seq') flat.push(...e.items);
    else flat.push(e);
  }
  return flat.length === 1 ? flat[0] : { t: 'seq', items: flat };
}

function alt(...items) {
  const flat = [];
  for (const e of items) {
    if (e.t === 'none') continue;
    if (e.t === 'alt') flat.push(...e.items);
    else flat.push(e);
  }
  if (flat.length === 0) return NONE;
  return flat.length === 1 ? flat[0] : { t: 'alt', items: flat };
}

/** A GBNF literal: printable ASCII as is, '"' '\' and control characters escaped, the rest as UTF-8 text. */
export function gbnfLiteral(s) {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function printExpr(e, context = 'top') {
  switch (e.t) {
    case 'lit': return gbnfLiteral(e.s);
    case 'cls': return e.text;
    case 'ref': return e.name;
    case 'seq': {
      if (e.items.length === 0) return context === 'top' ? '' : '""';
      const text = e.items.map((x) => printExpr(x, 'seq')).join(' ');
      return context === 'rep' ? `(${text})` : text;
    }
    case 'alt': {
      const text = e.items.map((x) => printExpr(x, 'top') || '""').join(' | ');
      return context === 'top' ? text : `(${text})`;
    }
    case 'rep': {
      const inner = printExpr(e.e, 'rep');
      let text;
      if (e.min === 0 && e.max === 1) text = `${inner}?`;
      else if (e.min === 0 && e.max === Infinity) text = `${inner}*`;
      else if (e.min === 1 && e.max === Infinity) text = `${inner}+`;
      else if (e.max === Infinity) text = `${inner}{${e.min},}`;
      else text = e.min === e.max ? `${inner}{${e.min}}` : `${inner}{${e.min},${e.max}}`;
      return context === 'rep' ? `(${text})` : text;  // a repetition of a repetition: grouped
    }
    default:
      throw new Error(`json-schema: cannot print a '${e.t}'`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keywords: what each means here.

// Keywords that say nothing about which documents are valid.
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples',
  'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);
const OBJECT_KEYWORDS = new Set(['properties', 'required', 'additionalProperties']);
const ARRAY_KEYWORDS = new Set(['items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems']);
const STRING_KEYWORDS = new Set(['minLength', 'maxLength', 'format']);
const NUMBER_KEYWORDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const GENERAL_KEYWORDS = new Set(['type', 'enum', 'const', '$ref', 'anyOf', 'oneOf', 'allOf']);
const KNOWN = new Set([...ANNOTATIONS, ...OBJECT_KEYWORDS, ...ARRAY_KEYWORDS, ...STRING_KEYWORDS, ...NUMBER_KEYWORDS,
  ...GENERAL_KEYWORDS]);
const TYPES = ['null', 'boolean', 'object', 'array', 'string', 'number', 'integer'];
const FORMATS = ['date', 'time', 'date-time', 'uuid'];

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const pointerSegment = (s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1');
const at = (ptr, ...segments) => [ptr, ...segments.map(pointerSegment)].join('/');

/** The JSON type of a parsed value, as JSON Schema names it ('integer' for whole numbers). */
function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;  // boolean, string, object
}

/** JSON text with object keys sorted: equal values (as JSON Schema compares them) give equal text. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------------------------
// The fixed rules: whitespace, strings, numbers, any value, formats.

const HEX = '[0-9a-fA-F]';
const BUILTIN = {
  // As llama.cpp bounds it: nothing, one space, or one or two newlines and at most 20 spaces or tabs.
  space: () => alt(EMPTY, lit(' '), seq(rep(lit('\n'), 1, 2), rep(cls('[ \\t]'), 0, 20))),
  // One character of a JSON string, as written: any character but '"', '\' and controls, or an escape. \u
  // escapes of surrogates are left out, so that every character written is one code point of the value (string
  // lengths are counted in code points) and the value is always well-formed text.
  char: () => alt(cls('[^"\\\\\\x7F\\x00-\\x1F]'),
    seq(lit('\\'), alt(cls('["\\\\/bfnrt]'),
      seq(lit('u'), alt(seq(cls('[0-9a-cA-CefEF]'), rep(cls(HEX), 3, 3)), seq(cls('[dD]'), cls('[0-7]'), rep(cls(HEX), 2, 2))))))),
  string: () => seq(lit('"'), rep(ref('char'), 0, Infinity), lit('"')),
  // At most 16 digits before the point and 16 after; exponents of two digits keep every number finite.
  integer: () => seq(opt(lit('-')), alt(lit('0'), seq(cls('[1-9]'), rep(cls('[0-9]'), 0, 15)))),
  number: () => seq(ref('integer'), opt(seq(lit('.'), rep(cls('[0-9]'), 1, 16))), opt(seq(cls('[eE]'), opt(cls('[-+]')), rep(cls('[0-9]'), 1, 2)))),
  boolean: () => alt(lit('true'), lit('false')),
  null: () => lit('null'),
  value: () => alt(ref('object'), ref('array'), ref('string'), ref('number'), ref('boolean'), ref('null')),
  member: () => seq(ref('string'), ref('space'), lit(':'), ref('space'), ref('value'), ref('space')),
  object: () => seq(lit('{'), ref('space'), opt(seq(ref('member'), rep(seq(lit(','), ref('space'), ref('member')), 0, Infinity))), lit('}')),
  array: () => seq(lit('['), ref('space'),
    opt(seq(ref('value'), ref('space'), rep(seq(lit(','), ref('space'), ref('value'), ref('space')), 0, Infinity))), lit(']')),
  // Formats, as ajv-formats checks them: real calendar days (29 February only in leap years), times with seconds
  // and a time zone, RFC 4122's hex layout for UUIDs.
  'day-28': () => alt(seq(lit('0'), cls('[1-9]')), seq(lit('1'), cls('[0-9]')), seq(lit('2'), cls('[0-8]'))),
  'leap-year': () => alt(
    seq(rep(cls('[0-9]'), 2, 2), alt(seq(cls('[02468]'), cls('[48]')), seq(cls('[13579]'), cls('[26]')), seq(cls('[2468]'), lit('0')))),
    seq(alt(seq(cls('[02468]'), cls('[048]')), seq(cls('[13579]'), cls('[26]'))), lit('00'))),
  date: () => alt(
    seq(rep(cls('[0-9]'), 4, 4), lit('-'), alt(
      seq(alt(seq(lit('0'), cls('[13578]')), seq(lit('1'), cls('[02]'))), lit('-'), alt(ref('day-28'), lit('29'), lit('30'), lit('31'))),
      seq(alt(seq(lit('0'), cls('[469]')), lit('11')), lit('-'), alt(ref('day-28'), lit('29'), lit('30'))),
      seq(lit('02-'), ref('day-28')))),
    seq(ref('leap-year'), lit('-02-29'))),
  time: () => seq(alt(seq(cls('[01]'), cls('[0-9]')), seq(lit('2'), cls('[0-3]'))), lit(':'), cls('[0-5]'), cls('[0-9]'), lit(':'),
    cls('[0-5]'), cls('[0-9]'), opt(seq(lit('.'), rep(cls('[0-9]'), 1, 6))),
    alt(lit('Z'), seq(cls('[-+]'), alt(seq(cls('[01]'), cls('[0-9]')), seq(lit('2'), cls('[0-3]'))), lit(':'), cls('[0-5]'), cls('[0-9]')))),
  'date-time': () => seq(ref('date'), lit('T'), ref('time')),
  uuid: () => seq(rep(cls(HEX), 8, 8), lit('-'), rep(cls(HEX), 4, 4), lit('-'), rep(cls(HEX), 4, 4), lit('-'),
    rep(cls(HEX), 4, 4), lit('-'), rep(cls(HEX), 12, 12)),
};

// ---------------------------------------------------------------------------------------------------------------
// Integers in a range, digit by digit.

/** Whole numbers of the same digit count between lo and hi (decimal strings, lo <= hi). */
function sameLengthRange(lo, hi) {
  if (lo.length === 0) return EMPTY;
  if (lo[0] === hi[0]) return seq(lit(lo[0]), sameLengthRange(lo.slice(1), hi.slice(1)));
  const n = lo.length - 1;
  const anyTail = n > 0 ? rep(cls('[0-9]'), n, n) : EMPTY;
  if (/^0*$/.test(lo.slice(1)) && /^9*$/.test(hi.slice(1))) return seq(cls(`[${lo[0]}-${hi[0]}]`), anyTail);
  const a = Number(lo[0]), b = Number(hi[0]);
  const middle = b - a >= 2 ? seq(cls(`[${a + 1}-${b - 1}]`), anyTail) : NONE;
  return alt(seq(lit(lo[0]), sameLengthRange(lo.slice(1), '9'.repeat(n))), middle,
    seq(lit(hi[0]), sameLengthRange('0'.repeat(n), hi.slice(1))));
}

/** Whole numbers from lo to hi (0 <= lo <= hi <= 2^53 - 1), without leading zeros. */
function naturalRange(lo, hi) {
  const parts = [];
  for (let digits = String(lo).length; digits <= String(hi).length; digits++) {
    const from = Math.max(lo, digits === 1 ? 0 : 10 ** (digits - 1));
    const to = Math.min(hi, 10 ** digits - 1);
    if (from <= to) parts.push(sameLengthRange(String(from), String(to)));
  }
  return alt(...parts);
}

/** Integers from lo to hi (safe integers, lo <= hi), as JSON writes them (no "-0"). */
function integerRange(lo, hi) {
  const negative = lo < 0 ? seq(lit('-'), naturalRange(Math.max(1, -hi), -lo)) : NONE;
  const positive = hi >= 0 ? naturalRange(Math.max(0, lo), hi) : NONE;
  return alt(negative, positive);
}

// ---------------------------------------------------------------------------------------------------------------
// The converter.

class Converter {
  constructor(root) {
    this.root = root;
    this.rules = new Map();       // name -> expression
    this.refRules = new Map();    // JSON pointer -> rule name
    this.nextSuffix = new Map();  // rule name base -> the next number to try after it
    this.emptyReasons = [];       // why parts accept nothing, for the error when the whole schema does
  }

  fail(message) {
    throw new JsonSchemaError(message);
  }

  unsupported(keyword, ptr, why = '') {
    this.fail(`'${keyword}' at ${ptr} is not supported${why ? ` (${why})` : ''}`);
  }

  nothing(reason) {
    this.emptyReasons.push(reason);
    return NONE;
  }

  /** A fresh rule name from a hint (letters, digits and '-' only). */
  ruleName(hint) {
    const base = hint.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'rule';
    let name = base;
    let i = this.nextSuffix.get(base) ?? 2;
    while (this.rules.has(name) || Object.hasOwn(BUILTIN, name)) name = `${base}-${i++}`;
    this.nextSuffix.set(base, i);
    this.rules.set(name, null);  // reserved
    return name;
  }

  define(hint, expr) {
    const name = this.ruleName(hint);
    this.rules.set(name, expr);
    return ref(name);
  }

  /** A rule of the fixed set, added the first time it is used (with the rules it uses). */
  builtin(name) {
    if (!this.rules.has(name)) {
      this.rules.set(name, null);
      const expr = BUILTIN[name]();
      this.rules.set(name, expr);
      this.useBuiltins(expr);
    }
    return ref(name);
  }

  useBuiltins(e) {
    if (e.t === 'ref' && Object.hasOwn(BUILTIN, e.name)) this.builtin(e.name);
    else if (e.t === 'seq' || e.t === 'alt') e.items.forEach((x) => this.useBuiltins(x));
    else if (e.t === 'rep') this.useBuiltins(e.e);
  }

  /** e repeated min..max times (max Infinity: no limit), within the grammar's repetition limit. */
  repeat(e, min, max, hint) {
    if (max === 0) return EMPTY;
    if (min <= MAX_REPEAT && max <= MAX_REPEAT) return rep(e, min, max);
    if (min > BLOCK * MAX_REPEAT || (max !== Infinity && max > BLOCK * MAX_REPEAT)) {
      this.fail(`${hint}: a count above ${BLOCK * MAX_REPEAT} is not supported`);
    }
    const item = e.t === 'ref' ? e : this.define(`${hint}-item`, e);
    const block = this.define(`${hint}-block`, rep(item, BLOCK, BLOCK));
    const exactly = (n) => seq(rep(block, Math.floor(n / BLOCK), Math.floor(n / BLOCK)), rep(item, n % BLOCK, n % BLOCK));
    const upTo = (n) => {
      if (n === Infinity) return rep(item, 0, Infinity);
      if (n <= MAX_REPEAT) return rep(item, 0, n);
      const q = Math.floor(n / BLOCK);
      // q - 1 or fewer whole blocks and a part of one, or q blocks and up to the rest: each count once.
      return alt(seq(rep(block, 0, q - 1), rep(item, 0, BLOCK - 1)), seq(rep(block, q, q), rep(item, 0, n % BLOCK)));
    };
    return seq(exactly(min), upTo(max === Infinity ? Infinity : max - min));
  }

  // --- references -------------------------------------------------------------------------------------------

  resolvePointer(target, ptr) {
    if (typeof target !== 'string') this.fail(`'$ref' at ${ptr} must be a string`);
    if (!target.startsWith('#')) {
      this.unsupported('$ref', ptr, `only references within the schema, such as '#/$defs/name', are; got '${target}'`);
    }
    let node = this.root;
    const fragment = target.slice(1);
    if (fragment !== '' && !fragment.startsWith('/')) {
      this.unsupported('$ref', ptr, `anchors are not; use a JSON pointer such as '#/$defs/name' (got '${target}')`);
    }
    const segments = fragment === '' ? [] : fragment.slice(1).split('/');
    for (const raw of segments) {
      let key;
      try {
        key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        this.fail(`'$ref' at ${ptr}: '${target}' is not a valid JSON pointer`);
      }
      const next = Array.isArray(node) ? node[Number(key)] : isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (next === undefined) this.fail(`'$ref' at ${ptr}: '${target}' does not exist in the schema`);
      node = next;
    }
    return { node, pointer: `#${segments.map((s) => `/${s}`).join('')}` };
  }

  /** The rule for a $ref target: one per target, named before it is built so that recursion refers to it. */
  refRule(target, ptr, depth) {
    const { node, pointer } = this.resolvePointer(target, ptr);
    if (!this.refRules.has(pointer)) {
      const name = this.ruleName(`ref-${pointer.split('/').pop() || 'root'}`);
      this.refRules.set(pointer, name);
      this.rules.set(name, this.visit(node, pointer, depth + 1));
    }
    return ref(this.refRules.get(pointer));
  }

  // --- schemas ----------------------------------------------------------------------------------------------

  /** The expression matching the JSON documents `schema` (at JSON pointer `ptr`) accepts. */
  visit(schema, ptr, depth) {
    if (depth > MAX_DEPTH) this.fail(`the schema is nested more than ${MAX_DEPTH} deep (at ${ptr})`);
    if (schema === true) return this.builtin('value');
    if (schema === false) return this.nothing(`the schema at ${ptr} is false`);
    if (!isObject(schema)) this.fail(`the schema at ${ptr} must be an object or a boolean (got ${JSON.stringify(schema)})`);
    for (const key of Object.keys(schema)) {
      if (!KNOWN.has(key)) this.unsupported(key, ptr);
    }
    if ('$id' in schema && ptr !== '#') this.unsupported('$id', ptr, 'only at the root');
    const constraining = Object.keys(schema).filter((k) => !ANNOTATIONS.has(k));
    const besides = (keyword, allowed = []) => {
      const other = constraining.find((k) => k !== keyword && !allowed.includes(k));
      if (other !== undefined) this.unsupported(keyword, ptr, `together with '${other}'`);
    };

    if ('$ref' in schema) {
      besides('$ref');
      return this.refRule(schema.$ref, at(ptr, '$ref'), depth);
    }
    if ('anyOf' in schema || 'oneOf' in schema) {
      const keyword = 'anyOf' in schema ? 'anyOf' : 'oneOf';
      besides(keyword);
      const branches = schema[keyword];
      if (!Array.isArray(branches) || branches.length === 0) this.fail(`'${keyword}' at ${ptr} must be a non-empty array`);
      if (keyword === 'oneOf') this.checkExclusive(branches, ptr);
      return alt(...branches.map((b, i) => this.visit(b, at(ptr, keyword, i), depth + 1)));
    }
    if ('allOf' in schema) {
      // One branch and nothing else (as schema generators wrap a $ref to add a description): that branch.
      if (Array.isArray(schema.allOf) && schema.allOf.length === 1 && constraining.length === 1) {
        return this.visit(schema.allOf[0], at(ptr, 'allOf', 0), depth + 1);
      }
      return this.visitObject(this.mergeAllOf(schema, ptr), ptr, depth);
    }
    if ('enum' in schema || 'const' in schema) return this.visitValues(schema, ptr, besides);

    const types = this.typesOf(schema, ptr);
    if (types === null) return this.builtin('value');
    return alt(...types.map((type) => this.visitType(type, schema, ptr, depth)));
  }

  /** The types a schema's documents may have: its `type`, or what its keywords imply (null: any). */
  typesOf(schema, ptr) {
    if ('type' in schema) {
      const list = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (list.length === 0) this.fail(`'type' at ${ptr} must not be an empty array`);
      for (const t of list) {
        if (!TYPES.includes(t)) this.fail(`'type' at ${ptr}: ${JSON.stringify(t)} is not a JSON Schema type (${TYPES.join(', ')})`);
      }
      return [...new Set(list)];
    }
    // Without a type, JSON Schema lets any type through; the grammar writes the types the keywords are about.
    const keys = Object.keys(schema);
    const implied = [];
    if (keys.some((k) => OBJECT_KEYWORDS.has(k))) implied.push('object');
    if (keys.some((k) => ARRAY_KEYWORDS.has(k))) implied.push('array');
    if (keys.some((k) => STRING_KEYWORDS.has(k))) implied.push('string');
    if (keys.some((k) => NUMBER_KEYWORDS.has(k))) implied.push('number');
    return implied.length > 0 ? implied : null;
  }

  visitType(type, schema, ptr, depth) {
    switch (type) {
      case 'null': return this.builtin('null');
      case 'boolean': return this.builtin('boolean');
      case 'integer': return this.visitInteger(schema, ptr);
      case 'number':
        for (const k of NUMBER_KEYWORDS) if (k in schema) this.unsupported(k, ptr, "on numbers; it is on integers ('type': 'integer')");
        return this.builtin('number');
      case 'string': return this.visitString(schema, ptr);
      case 'array': return this.visitArray(schema, ptr, depth);
      case 'object': return this.visitObject(schema, ptr, depth);
      default: throw new Error(`json-schema: type ${type}`);
    }
  }

  /** enum and const: the listed values of the schema's type, each as compact JSON. */
  visitValues(schema, ptr, besides) {
    besides('enum' in schema ? 'enum' : 'const', ['type', 'enum', 'const']);
    let values;
    if ('enum' in schema) {
      if (!Array.isArray(schema.enum)) this.fail(`'enum' at ${ptr} must be an array`);
      values = schema.enum;
      if ('const' in schema) values = values.filter((v) => canonical(v) === canonical(schema.const));
    } else {
      values = [schema.const];
    }
    const types = 'type' in schema ? this.typesOf(schema, ptr) : null;
    const fits = (v) => types === null || types.includes(jsonType(v)) || (jsonType(v) === 'integer' && types.includes('number'));
    const kept = values.filter(fits);
    if (kept.length === 0) return this.nothing(`no value listed at ${ptr} fits the schema's other keywords`);
    const seen = new Set();
    return alt(...kept.filter((v) => !seen.has(canonical(v)) && seen.add(canonical(v))).map((v) => lit(JSON.stringify(v))));
  }

  visitInteger(schema, ptr) {
    const bound = (keyword) => {
      const v = schema[keyword];
      if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`'${keyword}' at ${ptr} must be a number`);
      if (Math.abs(v) > MAX_SAFE) this.unsupported(keyword, ptr, `beyond ±${MAX_SAFE}`);
      return v;
    };
    let lo = -MAX_SAFE, hi = MAX_SAFE;
    if ('minimum' in schema) lo = Math.max(lo, Math.ceil(bound('minimum')));
    if ('exclusiveMinimum' in schema) {
      if (typeof schema.exclusiveMinimum === 'boolean') this.unsupported('exclusiveMinimum', ptr, 'as a boolean (draft 4); give the bound itself');
      lo = Math.max(lo, Math.floor(bound('exclusiveMinimum')) + 1);
    }
    if ('maximum' in schema) hi = Math.min(hi, Math.floor(bound('maximum')));
    if ('exclusiveMaximum' in schema) {
      if (typeof schema.exclusiveMaximum === 'boolean') this.unsupported('exclusiveMaximum', ptr, 'as a boolean (draft 4); give the bound itself');
      hi = Math.min(hi, Math.ceil(bound('exclusiveMaximum')) - 1);
    }
    if (lo === -MAX_SAFE && hi === MAX_SAFE) return this.builtin('integer');
    if (lo > hi) return this.nothing(`no integer lies between the bounds at ${ptr}`);
    return integerRange(lo, hi);
  }

  count(schema, keyword, ptr) {
    const v = schema[keyword];
    if (!Number.isInteger(v) || v < 0) this.fail(`'${keyword}' at ${ptr} must be a whole number >= 0`);
    return v;
  }

  visitString(schema, ptr) {
    const min = 'minLength' in schema ? this.count(schema, 'minLength', ptr) : 0;
    const max = 'maxLength' in schema ? this.count(schema, 'maxLength', ptr) : Infinity;
    if ('format' in schema) {
      const format = schema.format;
      if (!FORMATS.includes(format)) this.unsupported('format', ptr, `${JSON.stringify(format)}; the formats supported are ${FORMATS.join(', ')}`);
      if ('minLength' in schema || 'maxLength' in schema) this.unsupported('format', ptr, 'together with minLength or maxLength');
      return seq(lit('"'), this.builtin(format), lit('"'));
    }
    if (min > max) return this.nothing(`minLength ${min} is above maxLength ${max} at ${ptr}`);
    if (min === 0 && max === Infinity) return this.builtin('string');
    return seq(lit('"'), this.repeat(this.builtin('char'), min, max, `${ptr} string`), lit('"'));
  }

  visitArray(schema, ptr, depth) {
    if ('uniqueItems' in schema && schema.uniqueItems !== false) this.unsupported('uniqueItems', ptr);
    let prefix = [], rest = true, prefixKey = 'prefixItems', restPtr = at(ptr, 'items');
    if ('prefixItems' in schema) {
      if (!Array.isArray(schema.prefixItems)) this.fail(`'prefixItems' at ${ptr} must be an array`);
      if ('additionalItems' in schema) this.unsupported('additionalItems', ptr, "with 'prefixItems'; use 'items'");
      prefix = schema.prefixItems;
      if ('items' in schema) rest = schema.items;
    } else if (Array.isArray(schema.items)) {  // the tuple form before draft 2020-12
      prefix = schema.items;
      prefixKey = 'items';
      if ('additionalItems' in schema) {
        rest = schema.additionalItems;
        restPtr = at(ptr, 'additionalItems');
      }
    } else if ('items' in schema) {
      rest = schema.items;
    }
    const min = 'minItems' in schema ? this.count(schema, 'minItems', ptr) : 0;
    let max = 'maxItems' in schema ? this.count(schema, 'maxItems', ptr) : Infinity;
    if (rest === false) max = Math.min(max, prefix.length);
    if (min > max) return this.nothing(`the array at ${ptr} cannot have between ${min} and ${max} items`);

    const hint = ptr === '#' ? 'root' : ptr;
    const items = prefix.map((s, i) => this.define(`${hint}-${i}`, this.visit(s, at(ptr, prefixKey, i), depth + 1)));
    const restItem = max > prefix.length ? this.visit(rest, restPtr, depth + 1) : NONE;
    // tail(j): the items from position j on, each after a comma but the first; it may end at position >= min.
    const tail = (j) => {
      if (j >= max) return EMPTY;
      if (j < prefix.length) {
        const here = seq(j > 0 ? seq(lit(','), this.builtin('space')) : EMPTY, items[j], this.builtin('space'), tail(j + 1));
        return j >= min ? alt(here, EMPTY) : here;
      }
      const element = this.define(`${hint}-item`, seq(restItem, this.builtin('space')));
      const next = seq(lit(','), this.builtin('space'), element);
      const lo = Math.max(0, min - j), hi = max - j;
      if (j > 0) return this.repeat(next, lo, hi, `${hint}-items`);
      const some = seq(element, this.repeat(next, Math.max(lo, 1) - 1, hi - 1, `${hint}-items`));
      return lo === 0 ? alt(some, EMPTY) : some;
    };
    return seq(lit('['), this.builtin('space'), tail(0), lit(']'));
  }

  visitObject(schema, ptr, depth) {
    const properties = schema.properties ?? {};
    if (!isObject(properties)) this.fail(`'properties' at ${ptr} must be an object`);
    const required = schema.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) this.fail(`'required' at ${ptr} must be an array of strings`);
    // additionalProperties left out lets any other property in (JSON Schema); the grammar then writes none, as
    // llama.cpp does, when properties are listed (fewer documents, all valid), and any when none are. A required
    // name that is not listed takes a value of the additionalProperties schema (any, when it is left out).
    const given = 'additionalProperties' in schema;
    const others = given ? schema.additionalProperties : !('properties' in schema);
    const unlisted = given ? schema.additionalProperties : true;
    const hint = ptr === '#' ? 'root' : ptr;
    const space = this.builtin('space');
    const member = (key, value) => seq(key, space, lit(':'), space, value, space);

    const listed = [...Object.keys(properties), ...required.filter((r) => !Object.hasOwn(properties, r))];
    const members = [];
    for (const name of listed) {
      const isRequired = required.includes(name);
      const value = Object.hasOwn(properties, name)
        ? this.visit(properties[name], at(ptr, 'properties', name), depth + 1)
        : unlisted === false ? this.nothing(`'${name}' at ${ptr} is required but additionalProperties is false`)
          : this.visit(unlisted, at(ptr, 'additionalProperties'), depth + 1);
      if (value.t === 'none' && !isRequired) continue;  // a property that can never be valid is left out
      members.push({ name, required: isRequired, kv: this.define(`${hint}-${name}-kv`, member(lit(JSON.stringify(name)), value)) });
    }
    // Other properties, after the listed ones: any name but theirs, written without escapes (so that no escaped
    // spelling of a listed name slips through), each with a value of the additionalProperties schema.
    let extra = NONE;
    if (others !== false) {
      const value = this.visit(others, at(ptr, 'additionalProperties'), depth + 1);
      const key = seq(lit('"'), this.keyNotIn(listed, `${hint}-key`), lit('"'));
      extra = this.define(`${hint}-additional-kv`, member(key, value));
    }
    const comma = (e) => seq(lit(','), space, e);
    const extras = extra.t === 'none' ? EMPTY : rep(comma(extra), 0, Infinity);
    // after[i]: members i.. when one is already written (each after a comma); first[i]: when none is yet.
    const after = [];
    after[members.length] = extras;
    for (let i = members.length - 1; i >= 0; i--) {
      const m = members[i];
      after[i] = this.define(`${hint}-after-${m.name}`, seq(m.required ? comma(m.kv) : opt(comma(m.kv)), after[i + 1]));
    }
    let first = extra.t === 'none' ? EMPTY : opt(seq(extra, extras));
    for (let i = members.length - 1; i >= 0; i--) {
      const m = members[i];
      const starting = seq(m.kv, after[i + 1]);
      first = m.required ? starting : this.define(`${hint}-from-${m.name}`, alt(starting, first));
    }
    return seq(lit('{'), space, first, lit('}'));
  }

  /**
   * Object keys other than `names`: characters that need no escape, any string not in the list. A trie of the
   * names, one rule per node: at a node, stop (unless a name ends there), take a character no name continues with
   * and then anything, or follow a name's next character. Built without recursion: names may be long.
   */
  keyNotIn(names, hint) {
    const keyChar = '[^"\\\\\\x7F\\x00-\\x1F]';
    const anyRest = rep(cls(keyChar), 0, Infinity);
    const root = { ends: false, next: new Map() };
    for (const name of names) {
      if (/["\\\x00-\x1F\x7F]/.test(name)) continue;  // never written unescaped: nothing to exclude
      let node = root;
      for (const c of name) {
        if (!node.next.has(c)) node.next.set(c, { ends: false, next: new Map() });
        node = node.next.get(c);
      }
      node.ends = true;
    }
    const escapeClassChar = (c) => {
      const cp = c.codePointAt(0);
      return '\\]^-['.includes(c) ? `\\x${cp.toString(16).padStart(2, '0')}` : c;
    };
    // Children before parents: a node's rule refers to its children's.
    const order = [root];
    for (let i = 0; i < order.length; i++) order.push(...order[i].next.values());
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const others = cls(`${keyChar.slice(0, -1)}${[...node.next.keys()].map(escapeClassChar).join('')}]`);
      node.rule = this.define(hint, alt(node.ends ? NONE : EMPTY, seq(others, anyRest),
        ...[...node.next].map(([c, child]) => seq(lit(c), child.rule))));
    }
    return root.rule;
  }

  /** allOf of object schemas (and references to them): one object with every branch's properties and requirements. */
  mergeAllOf(schema, ptr) {
    if (!Array.isArray(schema.allOf) || schema.allOf.length === 0) this.fail(`'allOf' at ${ptr} must be a non-empty array`);
    const merged = { type: 'object', properties: {}, required: [] };
    const parts = [[{ ...schema, allOf: undefined }, ptr], ...schema.allOf.map((s, i) => [s, at(ptr, 'allOf', i)])];
    for (let [part, where] of parts) {
      for (let hops = 0; isObject(part) && '$ref' in part; hops++) {
        if (hops > MAX_DEPTH) this.fail(`'$ref' at ${where} refers to itself`);
        const keys = Object.keys(part).filter((k) => !ANNOTATIONS.has(k) && k !== '$ref');
        if (keys.length > 0) this.unsupported('$ref', where, `together with '${keys[0]}'`);
        ({ node: part, pointer: where } = this.resolvePointer(part.$ref, at(where, '$ref')));
      }
      if (part === true) continue;
      if (!isObject(part)) this.unsupported('allOf', ptr, `its branch at ${where} is not an object schema`);
      for (const [key, v] of Object.entries(part)) {
        if (ANNOTATIONS.has(key) || key === 'allOf' && v === undefined) continue;
        if (key === 'type') {
          if (v !== 'object') this.unsupported('allOf', ptr, `only of object schemas; the branch at ${where} has type ${JSON.stringify(v)}`);
        } else if (key === 'properties') {
          if (!isObject(v)) this.fail(`'properties' at ${where} must be an object`);
          for (const [name, s] of Object.entries(v)) {
            if (Object.hasOwn(merged.properties, name) && canonical(merged.properties[name]) !== canonical(s)) {
              this.unsupported('allOf', ptr, `property '${name}' has different schemas in two branches`);
            }
            merged.properties[name] = s;
          }
        } else if (key === 'required') {
          if (!Array.isArray(v)) this.fail(`'required' at ${where} must be an array of strings`);
          merged.required.push(...v.filter((r) => !merged.required.includes(r)));
        } else if (key === 'additionalProperties' && v === true) {
          continue;  // the default in JSON Schema; the merged object lets no other property in all the same
        } else {
          this.unsupported('allOf', ptr, `only of objects with properties and required; the branch at ${where} has '${key}'`);
        }
      }
    }
    return merged;
  }

  // --- oneOf: exclusivity ------------------------------------------------------------------------------------

  /**
   * oneOf is written as anyOf, which is exact only when no document the grammar writes for one branch is valid for
   * another. That is checked here, and a oneOf that cannot be shown exclusive is refused: what one branch writes
   * and what another accepts have no type in common, or (for objects) both require a property whose allowed
   * values (const / enum) share none.
   */
  checkExclusive(branches, ptr) {
    const written = branches.map((b) => this.kindsOf(b, 0, true));
    const accepted = branches.map((b) => this.kindsOf(b, 0, false));
    for (let i = 0; i < branches.length; i++) {
      for (let j = 0; j < branches.length; j++) {
        if (i === j) continue;
        const common = [...written[i]].filter((k) => accepted[j].has(k));
        if (common.length === 0) continue;
        if (common.every((k) => k === 'object') && this.discriminated(branches[i], branches[j])) continue;
        this.unsupported('oneOf', ptr, `branches ${Math.min(i, j)} and ${Math.max(i, j)} may both match a document, and the grammar cannot exclude ` +
          "that; use anyOf, or branches of different types or with a required property of different const values");
      }
    }
  }

  deref(schema) {
    for (let hops = 0; isObject(schema) && typeof schema.$ref === 'string' && hops <= MAX_DEPTH; hops++) {
      try {
        schema = this.resolvePointer(schema.$ref, '#').node;
      } catch {
        return schema;  // the branch's own visit reports it
      }
    }
    return schema;
  }

  /**
   * The JSON types (integers as 'number') of the documents a schema accepts, as JSON Schema reads it, or with
   * `written` of those the grammar writes for it (a schema without a type: the types its keywords are about).
   */
  kindsOf(schema, depth, written) {
    const all = new Set(['null', 'boolean', 'object', 'array', 'string', 'number']);
    schema = this.deref(schema);
    if (schema === false) return new Set();
    if (!isObject(schema) || depth > MAX_DEPTH) return all;
    const kind = (t) => (t === 'integer' ? 'number' : t);
    let kinds = all;
    if ('type' in schema) {
      kinds = new Set((Array.isArray(schema.type) ? schema.type : [schema.type]).map(kind));
    } else if (written) {
      const keys = Object.keys(schema);
      const implied = [[OBJECT_KEYWORDS, 'object'], [ARRAY_KEYWORDS, 'array'], [STRING_KEYWORDS, 'string'], [NUMBER_KEYWORDS, 'number']]
        .filter(([keywords]) => keys.some((k) => keywords.has(k))).map(([, t]) => t);
      if ('allOf' in schema) implied.push('object');
      if (implied.length > 0) kinds = new Set(implied);
    }
    const restrict = (set) => { kinds = new Set([...kinds].filter((k) => set.has(k))); };
    if ('const' in schema) restrict(new Set([kind(jsonType(schema.const))]));
    if (Array.isArray(schema.enum)) restrict(new Set(schema.enum.map((v) => kind(jsonType(v)))));
    for (const keyword of ['anyOf', 'oneOf']) {
      if (Array.isArray(schema[keyword])) {
        const union = new Set();
        for (const b of schema[keyword]) for (const k of this.kindsOf(b, depth + 1, written)) union.add(k);
        restrict(union);
      }
    }
    if (Array.isArray(schema.allOf)) for (const b of schema.allOf) restrict(this.kindsOf(b, depth + 1, false));
    return kinds;
  }

  /** Both object schemas require a property whose const / enum values have none in common. */
  discriminated(a, b) {
    a = this.deref(a);
    b = this.deref(b);
    if (!isObject(a) || !isObject(b)) return false;
    const valuesOf = (s, name) => {
      if (!Array.isArray(s.required) || !s.required.includes(name) || !isObject(s.properties)) return null;
      const p = this.deref(s.properties[name]);
      if (!isObject(p)) return null;
      if ('const' in p) return new Set([canonical(p.const)]);
      if (Array.isArray(p.enum)) return new Set(p.enum.map(canonical));
      return null;
    };
    for (const name of Array.isArray(a.required) ? a.required : []) {
      const va = valuesOf(a, name), vb = valuesOf(b, name);
      if (va && vb && [...va].every((v) => !vb.has(v))) return true;
    }
    return false;
  }

  // --- the whole grammar -------------------------------------------------------------------------------------

  convert() {
    const root = this.visit(this.root, '#', 0);
    this.rules.set('root', root);  // 'root' is never handed out by ruleName: it is reserved below
    const productive = this.productiveRules();
    if (!productive.has('root')) {
      const why = this.emptyReasons.length > 0 ? `: ${this.emptyReasons[0]}` : ' (a required part refers back to itself with no way out)';
      this.fail(`the schema accepts no value${why}`);
    }
    const lines = [];
    const reachable = this.reachableRules(productive);
    for (const name of ['root', ...[...this.rules.keys()].filter((n) => n !== 'root')]) {
      if (!reachable.has(name)) continue;
      const expr = prune(this.rules.get(name), productive);
      lines.push(`${name} ::= ${printExpr(expr) || '""'}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** The rules that match at least one string: a fixpoint from the rules that need no other. */
  productiveRules() {
    const productive = new Set();
    for (let changed = true; changed;) {
      changed = false;
      for (const [name, expr] of this.rules) {
        if (!productive.has(name) && expr !== null && canMatch(expr, productive)) {
          productive.add(name);
          changed = true;
        }
      }
    }
    return productive;
  }

  /** The rules the root reaches once pruned (a worklist: chains of rules may be long). */
  reachableRules(productive) {
    const seen = new Set(['root']);
    const work = [prune(this.rules.get('root'), productive)];
    while (work.length > 0) {
      const e = work.pop();
      if (e.t === 'ref' && !seen.has(e.name)) {
        seen.add(e.name);
        work.push(prune(this.rules.get(e.name), productive));
      } else if (e.t === 'seq' || e.t === 'alt') {
        work.push(...e.items);
      } else if (e.t === 'rep') {
        work.push(e.e);
      }
    }
    return seen;
  }
}

function canMatch(e, productive) {
  switch (e.t) {
    case 'none': return false;
    case 'lit': case 'cls': return true;
    case 'ref': return productive.has(e.name);
    case 'seq': return e.items.every((x) => canMatch(x, productive));
    case 'alt': return e.items.some((x) => canMatch(x, productive));
    case 'rep': return e.min === 0 || canMatch(e.e, productive);
    default: throw new Error(`json-schema: ${e.t}`);
  }
}

/** The expression without the parts that can match nothing (NONE if it can match nothing itself). */
function prune(e, productive) {
  switch (e.t) {
    case 'ref': return productive.has(e.name) ? e : NONE;
    case 'seq': return seq(...e.items.map((x) => prune(x, productive)));
    case 'alt': return alt(...e.items.map((x) => prune(x, productive)));
    case 'rep': {
      const inner = prune(e.e, productive);
      if (inner.t === 'none') return e.min === 0 ? EMPTY : NONE;
      return rep(inner, e.min, e.max);
    }
    default: return e;
  }
}

/**
 * A JSON Schema (an object or a boolean, as JSON.parse gives it) as GBNF text, start rule `root`. Throws a
 * JsonSchemaError naming the keyword and its JSON pointer for anything it cannot honour exactly, and for a schema
 * that accepts no value.
 */
export function jsonSchemaToGbnf(schema) {
  const converter = new Converter(schema);
  converter.rules.set('root', null);  // reserve the name
  return converter.convert();
}
