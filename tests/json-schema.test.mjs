// JSON Schema (the jsonSchema option; wasm/lib/json-schema.js converts a schema to a GBNF grammar). Checked
// against tools written elsewhere: ajv (with ajv-formats) says whether a document is valid for a schema, and
// the GBNF matcher of tests/reference/gbnf.mjs whether the grammar accepts a text. Every output of the models
// (random ones with real vocabularies and the built-in one, sampled hot over many seeds) parses and validates;
// random texts of each grammar, and of grammars of random schemas, validate too; the grammars accept valid
// examples and refuse invalid ones; a keyword the converter cannot honour is refused by name and JSON pointer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import Ajv7 from 'ajv';
import addFormats from 'ajv-formats';

import { RingLM, jsonSchemaToGbnf } from '../wasm/ringlm.js';
import { makeVocabModels } from '../tools/gguf/vocab-models.mjs';
import { gbnfMatcher } from './reference/gbnf.mjs';
import { gbnfSampler } from './reference/gbnf-sample.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
makeVocabModels(path.join(ROOT, 'build/models'));
const MODELS = {
  'llama-spm': path.join(ROOT, 'build/models/vocab-llama-spm.gguf'),
  gpt2: path.join(ROOT, 'build/models/vocab-gpt2.gguf'),
  builtin: path.join(ROOT, 'models/ringlm-kjv-3.7m.gguf'),
};

const validators = { 2020: addFormats(new Ajv2020({ strict: false })), 7: addFormats(new Ajv7({ strict: false })) };
/** ajv's verdict on a parsed document (draft 2020-12 unless the case says 7). */
function ajvValid(schema, value, draft = 2020) {
  const validate = validators[draft].compile(schema);
  return validate(value) ? null : validate.errors;
}

/** A seeded random source in [0, 1) (mulberry32). */
function randomSource(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// The schemas, each with texts its grammar must accept (valid documents it writes) and refuse: invalid ones, and
// (narrower) valid ones it does not write: other properties when properties are listed, another order than the
// schema's, more whitespace than llama.cpp allows, numbers too large for a double.
const CASES = {
  person: {
    schema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 12 },
        age: { type: 'integer', minimum: 0, maximum: 120 },
        tags: { type: 'array', items: { enum: ['admin', 'user'] }, maxItems: 3 },
      },
      required: ['name', 'age'],
    },
    valid: ['{"name":"Ann","age":30}', '{ "name": "Bo", "age": 120, "tags": ["user", "admin"] }', '{"name":"\\u00e9\\n","age":0,"tags":[]}'],
    invalid: ['{"name":"","age":3}', '{"name":"Ann","age":121}', '{"name":"Ann"}', '{"name":"Ann","age":3,"tags":["root"]}',
      '{"name":"Ann","age":-1}', '{"name":"Ann","age":3,"tags":["user","user","user","user"]}', '{"name":"Ann","age":03}'],
    narrower: ['{"name":"Ann","age":3,"x":1}', '{"age":3,"name":"Ann"}', '{"name":"Ann","age":3}\n'],
  },
  'linked list ($defs, recursive)': {
    schema: {
      $defs: {
        node: {
          type: 'object',
          properties: { value: { type: 'integer' }, next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] } },
          required: ['value', 'next'],
        },
      },
      $ref: '#/$defs/node',
    },
    valid: ['{"value":1,"next":{"value":-2,"next":null}}', '{"value":0,"next":null}'],
    invalid: ['{"value":1}', '{"value":1,"next":{"value":2}}', '{"value":1.5,"next":null}', '{"value":1,"next":3}'],
  },
  'tree (definitions, draft 7)': {
    draft: 7,
    schema: {
      definitions: {
        tree: {
          type: 'object',
          properties: { name: { type: 'string', maxLength: 8 }, children: { type: 'array', items: { $ref: '#/definitions/tree' }, maxItems: 3 } },
          required: ['name'],
        },
      },
      $ref: '#/definitions/tree',
    },
    valid: ['{"name":"a","children":[{"name":"b"},{"name":"c","children":[]}]}', '{"name":""}'],
    invalid: ['{"children":[]}', '{"name":"a","children":[{}]}', '{"name":"abcdefghi"}'],
  },
  'enum of mixed values': {
    schema: { enum: ['red', 'green', 42, null, true, { a: [1, 2] }, [1, 'x']] },
    valid: ['"red"', '42', 'null', 'true', '{"a":[1,2]}', '[1,"x"]'],
    invalid: ['"blue"', '43', 'false', '{"a":[1]}', '"Red"'],
  },
  'anyOf: string, integer range or null': {
    schema: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'integer', minimum: -1234, maximum: -7 }, { type: 'null' }] },
    valid: ['"abc"', '-7', '-1234', '-999', 'null', '""'],
    invalid: ['"abcd"', '-6', '-1235', '0', '7', 'true', '-0'],
  },
  'oneOf: a discriminated union': {
    schema: {
      oneOf: [
        { type: 'object', properties: { kind: { const: 'circle' }, radius: { type: 'number' } }, required: ['kind', 'radius'] },
        { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'integer', minimum: 1 } }, required: ['kind', 'side'] },
        { type: 'string', enum: ['none'] },
      ],
    },
    valid: ['{"kind":"circle","radius":1.5e3}', '{"kind":"square","side":4}', '"none"'],
    invalid: ['{"kind":"circle","side":4}', '{"kind":"square","side":0}', '{"kind":"triangle"}', '"some"'],
  },
  'oneOf: tagged branches without a type': {
    schema: { oneOf: [
      { properties: { op: { const: 'add' }, n: { type: 'integer', maximum: 9 } }, required: ['op', 'n'] },
      { properties: { op: { enum: ['clear', 'reset'] } }, required: ['op'] },
    ] },
    valid: ['{"op":"add","n":3}', '{"op":"reset"}'],
    invalid: ['{"op":"add"}', '{"op":"mul","n":1}', '{"op":"add","n":10}'],
  },
  'array bounds': {
    schema: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 4 },
    valid: ['[1,2]', '[ -0.5 , 3e2, 4, 5 ]'],
    invalid: ['[]', '[1]', '[1,2,3,4,5]', '[1,"2"]', '[1,2,]'],
  },
  'tuple (prefixItems, no more items)': {
    schema: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }, { type: 'boolean' }], items: false, minItems: 2 },
    valid: ['["a",1]', '["a",1,true]'],
    invalid: ['["a"]', '["a",1,true,null]', '[1,"a"]', '["a",1.5]'],
  },
  'string lengths (in code points)': {
    schema: { type: 'string', minLength: 3, maxLength: 6 },
    valid: ['"abc"', '"😀😀😀"', '"\\u00e9\\t\\"x"', '"abcdef"'],
    invalid: ['"ab"', '"abcdefg"', '"\\ud83d\\ude00"', '"😀😀"', '"a\tb"'],
  },
  formats: {
    schema: {
      type: 'object',
      properties: { day: { type: 'string', format: 'date' }, at: { type: 'string', format: 'time' },
        when: { type: 'string', format: 'date-time' }, id: { type: 'string', format: 'uuid' } },
      required: ['day', 'at', 'when', 'id'],
    },
    valid: ['{"day":"2024-02-29","at":"23:59:59Z","when":"2000-12-31T00:00:00.123+05:30","id":"123e4567-e89b-12d3-a456-426614174000"}'],
    invalid: ['{"day":"2023-02-29","at":"23:59:59Z","when":"2000-12-31T00:00:00Z","id":"123e4567-e89b-12d3-a456-426614174000"}',
      '{"day":"2024-04-31","at":"23:59:59Z","when":"2000-12-31T00:00:00Z","id":"123e4567-e89b-12d3-a456-426614174000"}',
      '{"day":"2024-01-01","at":"24:00:00Z","when":"2000-12-31T00:00:00Z","id":"123e4567-e89b-12d3-a456-426614174000"}',
      '{"day":"2024-01-01","at":"12:00:00Z","when":"2000-13-01T00:00:00Z","id":"123e4567-e89b-12d3-a456-426614174000"}',
      '{"day":"2024-01-01","at":"12:00:00Z","when":"2000-12-01T00:00:00Z","id":"123e4567-e89b-12d3-a456-42661417400"}'],
  },
  'optional properties only': {
    schema: {
      type: 'object',
      properties: { a: { type: 'boolean' }, b: { type: 'null' }, c: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 }, d: { const: 'd' } },
    },
    valid: ['{}', '{"c":9}', '{"a":true,"d":"d"}', '{"a":false,"b":null,"c":1,"d":"d"}', '{ }'],
    invalid: ['{"c":10}', '{"c":0}', '{"a":true,}', '{,"a":true}', '{"d":"e"}'],
    narrower: ['{"e":1}', '{"d":"d","a":true}', '{"a":true,"a":true}'],
  },
  'additionalProperties: a schema': {
    schema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: { type: 'string', maxLength: 2 } },
    valid: ['{"id":1}', '{"id":1,"x":"ab","yy":""}', '{"id":1,"i":"a","idd":"b"}'],
    invalid: ['{"id":1,"x":"abc"}', '{"id":1,"x":2}', '{"id":1,"id":"a"}', '{"id":1,"\\u0069d":"a"}'],
  },
  'type arrays': {
    schema: { type: 'object', properties: { v: { type: ['string', 'null', 'integer'], maxLength: 4, maximum: 9 } }, required: ['v'] },
    valid: ['{"v":"abcd"}', '{"v":null}', '{"v":9}', '{"v":-100}'],
    invalid: ['{"v":"abcde"}', '{"v":10}', '{"v":true}', '{"v":1.5}'],
  },
  'allOf of objects': {
    schema: { allOf: [
      { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] },
      { $ref: '#/$defs/b' },
    ], $defs: { b: { properties: { b: { type: 'string', maxLength: 3 } }, required: ['b'] } } },
    valid: ['{"a":1,"b":"x"}'],
    invalid: ['{"a":1}', '{"b":"x"}', '{"a":1,"b":"long"}'],
  },
  'allOf of one reference (as pydantic writes a described enum)': {
    schema: { type: 'object', properties: { color: { allOf: [{ $ref: '#/$defs/Color' }], description: 'a color' } }, required: ['color'],
      $defs: { Color: { title: 'Color', type: 'string', enum: ['red', 'blue'] } } },
    valid: ['{"color":"red"}', '{"color":"blue"}'],
    invalid: ['{"color":"green"}', '{}'],
  },
  'const and nested objects': {
    schema: {
      type: 'object',
      properties: {
        version: { const: 2 },
        meta: {
          type: 'object',
          properties: { owner: { type: 'string', maxLength: 5 }, flags: { type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 2 } },
          required: ['flags'],
        },
      },
      required: ['version', 'meta'],
    },
    valid: ['{"version":2,"meta":{"flags":[true]}}', '{"version":2,"meta":{"owner":"me","flags":[false,true]}}'],
    invalid: ['{"version":3,"meta":{"flags":[true]}}', '{"version":2,"meta":{"flags":[]}}', '{"version":2,"meta":{}}'],
  },
  'any value': {
    schema: { description: 'anything at all' },
    valid: ['1', '"x"', '{"a":[null,{"b":"\\u1234"}]}', 'false', '[]'],
    invalid: ['{a:1}', 'undefined', '[1,]', 'NaN', '"\\x"'],
  },
  numbers: {
    schema: { type: 'array', items: { type: 'number' }, maxItems: 3 },
    valid: ['[0,-0.5,12345678901234.5]', '[1E99,1e-99]', '[]'],
    invalid: ['[01]', '[1.]', '[.5]', '[1e]', '[+1]', '[Infinity]'],
    narrower: ['[1e999]', '[1e100]', '[     1]'],
  },
};

describe('the grammars of a schema table (checked by an independent matcher and by ajv)', () => {
  for (const [name, { schema, valid, invalid, narrower = [], draft }] of Object.entries(CASES)) {
    test(name, () => {
      const grammar = jsonSchemaToGbnf(schema);
      const matcher = gbnfMatcher(grammar);
      for (const text of valid) {
        assert.equal(ajvValid(schema, JSON.parse(text), draft), null, `ajv: ${text} is valid`);
        assert.ok(matcher.matches(text), `the grammar accepts ${text}\n${grammar}`);
      }
      for (const text of invalid) {
        let value, parses = true;
        try {
          value = JSON.parse(text);
        } catch {
          parses = false;
        }
        if (parses) assert.notEqual(ajvValid(schema, value, draft), null, `ajv: ${text} is invalid`);
        assert.ok(!matcher.matches(text), `the grammar refuses ${text}\n${grammar}`);
      }
      for (const text of narrower) {
        assert.equal(ajvValid(schema, JSON.parse(text), draft), null, `ajv: ${text} is valid`);
        assert.ok(!matcher.matches(text), `the grammar does not write ${text}\n${grammar}`);
      }
      // Random texts of the grammar: every one is valid.
      const sampler = gbnfSampler(grammar);
      const random = randomSource(name.length);
      for (let i = 0; i < 150; i++) {
        const text = sampler.sample(random);
        assert.equal(ajvValid(schema, JSON.parse(text), draft), null, `${name}: ${JSON.stringify(text)}`);
      }
    });
  }
});

/** A random schema of the supported keywords (depth-limited), with $defs that may refer to each other. */
function randomSchema(random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const words = ['a', 'b', 'id', 'name', 'x y', 'é', 'ab', 'a"b', ''];
  const defs = {};
  const node = (depth) => {
    const kinds = depth > 3 ? ['string', 'integer', 'number', 'boolean', 'null', 'enum', 'const']
      : ['string', 'integer', 'number', 'boolean', 'null', 'enum', 'const', 'object', 'object', 'array', 'array', 'tuple', 'anyOf', 'oneOf',
        'types', 'ref', 'format', 'allOf', 'any'];
    switch (pick(kinds)) {
      case 'string': {
        const s = { type: 'string' };
        if (random() < 0.5) s.minLength = int(0, 3);
        if (random() < 0.5) s.maxLength = int(s.minLength ?? 0, 6);
        return s;
      }
      case 'integer': {
        const s = { type: 'integer' };
        const lo = int(-3000, 3000);
        if (random() < 0.6) s[pick(['minimum', 'exclusiveMinimum'])] = lo;
        if (random() < 0.6) s[pick(['maximum', 'exclusiveMaximum'])] = lo + int(2, 20000);
        return s;
      }
      case 'number': return { type: 'number' };
      case 'boolean': return { type: 'boolean' };
      case 'null': return { type: 'null' };
      case 'enum': return { enum: [pick(['x', 1, null]), pick(['y', 2.5, true, { k: [1] }]), pick(['z"\\', -3, [], 'é😀'])] };
      case 'const': return { const: pick(['c', 7, false, { a: 'b' }, ['\n']]) };
      case 'object': {
        const properties = {};
        for (let i = int(0, 4); i > 0; i--) properties[pick(words)] = node(depth + 1);
        const names = Object.keys(properties);
        const s = { type: 'object', properties, required: names.filter(() => random() < 0.5) };
        const extra = random();
        if (extra < 0.2) s.additionalProperties = true;
        else if (extra < 0.4) s.additionalProperties = node(depth + 1);
        else if (extra < 0.6) s.additionalProperties = false;
        return s;
      }
      case 'array': {
        const s = { type: 'array', items: node(depth + 1) };
        if (random() < 0.5) s.minItems = int(0, 3);
        if (random() < 0.5) s.maxItems = int(s.minItems ?? 0, 5);
        return s;
      }
      case 'tuple': {
        const s = { type: 'array', prefixItems: [node(depth + 1), node(depth + 1)] };
        if (random() < 0.5) s.items = random() < 0.5 ? false : node(depth + 1);
        if (random() < 0.5) s.minItems = int(0, 3);
        return s;
      }
      case 'anyOf': return { anyOf: [node(depth + 1), node(depth + 1)] };
      case 'oneOf': return { oneOf: [
        { type: 'string', maxLength: 3 },
        { type: 'array', items: node(depth + 1) },
        { type: 'object', properties: { t: { const: 1 } }, required: ['t'] },
        { type: 'object', properties: { t: { enum: [2, 3] }, v: node(depth + 1) }, required: ['t'] },
      ] };
      case 'types': return { type: [pick(['string', 'integer']), pick(['null', 'boolean', 'array'])], maxLength: 2, minimum: -5,
        items: { type: 'integer' }, maxItems: 2 };
      case 'ref': {
        const name = pick(['p', 'q']);
        if (!(name in defs)) {
          defs[name] = null;
          // A way out first, so that a recursive definition always accepts something.
          defs[name] = { anyOf: [{ type: 'null' }, { type: 'array', items: { $ref: `#/$defs/${pick(['p', 'q'])}` }, maxItems: 2 }, node(depth + 1)] };
        }
        return { $ref: `#/$defs/${name}` };
      }
      case 'format': return { type: 'string', format: pick(['date', 'time', 'date-time', 'uuid']) };
      case 'allOf': return { allOf: [{ type: 'object', properties: { m: node(depth + 1) }, required: ['m'] }, { properties: { n: { type: 'integer' } } }] };
      case 'any': return pick([true, {}]);
      default: throw new Error('randomSchema');
    }
  };
  const root = node(0);
  if (Object.keys(defs).length === 0) return root;
  for (const name of Object.keys(defs)) defs[name] ??= { type: 'null' };
  // A reference to a definition not written yet (q from p) is filled in with null.
  for (const name of ['p', 'q']) defs[name] ??= { type: 'null' };
  return typeof root === 'object' && !('$ref' in root) ? { ...root, $defs: defs } : { allOf: [root], $defs: defs };
}

test('random schemas: random texts of their grammars are valid', () => {
  const random = randomSource(17);
  let schemas = 0, texts = 0;
  for (let i = 0; i < 300; i++) {
    let schema = randomSchema(random);
    // allOf only takes objects: a reference or a non-object at the root goes in a property instead.
    if (typeof schema === 'object' && 'allOf' in schema && schema.allOf.length === 1) {
      schema = { type: 'object', properties: { r: schema.allOf[0] }, required: ['r'], $defs: schema.$defs };
    }
    let grammar;
    try {
      grammar = jsonSchemaToGbnf(schema);
    } catch (e) {
      // The only refusal a random schema may meet: a required property whose schema accepts nothing.
      assert.match(e.message, /accepts no value/, JSON.stringify(schema));
      continue;
    }
    schemas++;
    const sampler = gbnfSampler(grammar);
    const matcher = gbnfMatcher(grammar);
    for (let k = 0; k < 12; k++) {
      const text = sampler.sample(random);
      texts++;
      assert.ok(matcher.matches(text), `${JSON.stringify(schema)}: the matcher accepts ${JSON.stringify(text)}`);
      assert.equal(ajvValid(schema, JSON.parse(text)), null, `${JSON.stringify(schema)}\n${JSON.stringify(text)}\n${grammar}`);
    }
  }
  assert.ok(schemas >= 250, `${schemas} schemas converted`);
  assert.ok(texts >= 3000);
});

describe('refused, by name and JSON pointer', () => {
  const cases = [
    [{ type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } }, "jsonSchema: 'multipleOf' at #/properties/n is not supported"],
    [{ type: 'string', pattern: '^a+$' }, "jsonSchema: 'pattern' at # is not supported"],
    [{ type: 'string', format: 'email' }, "jsonSchema: 'format' at # is not supported (\"email\"; the formats supported are date, time, date-time, uuid)"],
    [{ type: 'array', items: { type: 'number', minimum: 0 } }, "jsonSchema: 'minimum' at #/items is not supported (on numbers; it is on integers ('type': 'integer'))"],
    [{ type: 'array', uniqueItems: true }, "jsonSchema: 'uniqueItems' at # is not supported"],
    [{ type: 'array', contains: { type: 'integer' } }, "jsonSchema: 'contains' at # is not supported"],
    [{ not: { type: 'null' } }, "jsonSchema: 'not' at # is not supported"],
    [{ if: { type: 'string' }, then: { maxLength: 2 } }, "jsonSchema: 'if' at # is not supported"],
    [{ type: 'object', patternProperties: { '^x': {} } }, "jsonSchema: 'patternProperties' at # is not supported"],
    [{ type: 'object', properties: { a: { minProperties: 1 } } }, "jsonSchema: 'minProperties' at #/properties/a is not supported"],
    [{ $defs: { 'a/b': { type: 'integer', 'x-unit': 'cm' } }, $ref: '#/$defs/a~1b' }, "jsonSchema: 'x-unit' at #/$defs/a~1b is not supported"],
    [{ $ref: 'https://example.com/s.json' }, /'\$ref' at #\/\$ref is not supported \(only references within the schema/],
    [{ $ref: '#/$defs/missing' }, "jsonSchema: '$ref' at #/$ref: '#/$defs/missing' does not exist in the schema"],
    [{ $ref: '#/$defs/a', type: 'object', $defs: { a: {} } }, "jsonSchema: '$ref' at # is not supported (together with 'type')"],
    [{ oneOf: [{ type: 'integer' }, { type: 'number' }] }, /'oneOf' at # is not supported \(branches 0 and 1 may both match/],
    [{ oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'object', properties: { b: { type: 'string' } } }] },
      /'oneOf' at # is not supported \(branches 0 and 1/],
    [{ allOf: [{ type: 'string' }, { maxLength: 3 }] }, /'allOf' at # is not supported \(only of object schemas/],
    [{ type: 'integer', minimum: 2 ** 60 }, /'minimum' at # is not supported \(beyond ±9007199254740991\)/],
    [{ type: 'strin' }, /'type' at #: "strin" is not a JSON Schema type/],
    [42, 'jsonSchema: the schema at # must be an object or a boolean (got 42)'],
  ];
  for (const [schema, message] of cases) {
    test(typeof message === 'string' ? message : String(message), () => {
      assert.throws(() => jsonSchemaToGbnf(schema), (e) => {
        assert.equal(e.name, 'JsonSchemaError');
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      });
    });
  }
  test('schemas that accept nothing', () => {
    const nothing = [
      [false, /the schema at # is false/],
      [{ type: 'array', minItems: 3, maxItems: 2 }, /accepts no value: the array at # cannot have between 3 and 2 items/],
      [{ type: 'object', properties: { a: false }, required: ['a'] }, /accepts no value: the schema at #\/properties\/a is false/],
      [{ type: 'object', properties: { a: { type: 'string', minLength: 3, maxLength: 2 } }, required: ['a'] },
        /accepts no value: minLength 3 is above maxLength 2 at #\/properties\/a/],
      [{ type: 'integer', minimum: 5, exclusiveMaximum: 5 }, /accepts no value: no integer lies between the bounds at #/],
      [{ type: 'string', enum: [1, 2] }, /accepts no value: no value listed at # fits/],
      [{ type: 'object', required: ['a'], additionalProperties: false }, /accepts no value: 'a' at # is required but additionalProperties is false/],
      [{ $defs: { a: { type: 'object', properties: { x: { $ref: '#/$defs/a' } }, required: ['x'] } }, $ref: '#/$defs/a' },
        /accepts no value \(a required part refers back to itself/],
    ];
    for (const [schema, message] of nothing) assert.throws(() => jsonSchemaToGbnf(schema), message, JSON.stringify(schema));
    // A part that accepts nothing is simply left out where the schema allows that.
    const grammar = jsonSchemaToGbnf({ type: 'object', properties: { a: false, b: { type: 'null' } }, required: ['b'] });
    assert.ok(gbnfMatcher(grammar).matches('{"b":null}'));
    assert.ok(!grammar.includes('"\\"a\\""'), grammar);
  });
  test('deep nesting is refused, not a stack overflow', () => {
    let schema = { type: 'null' };
    for (let i = 0; i < 5000; i++) schema = { type: 'array', items: schema };
    assert.throws(() => jsonSchemaToGbnf(schema), /jsonSchema: the schema is nested more than 200 deep \(at #\/items\/items/);
  });
  test('long strings and arrays fit the grammar\'s repetition limit', () => {
    const grammar = jsonSchemaToGbnf({ type: 'array', items: { type: 'string', minLength: 2500, maxLength: 4200 }, minItems: 2100, maxItems: 2101 });
    const matcher = gbnfMatcher(jsonSchemaToGbnf({ type: 'string', minLength: 2500, maxLength: 4200 }));
    for (const n of [2499, 2500, 3000, 3999, 4000, 4001, 4200, 4201]) assert.equal(matcher.matches(`"${'a'.repeat(n)}"`), n >= 2500 && n <= 4200, String(n));
    assert.ok(grammar.length < 10_000);
  });
});

const PROMPT = 'Here is the answer, as JSON:';
const models = {};
before(async () => {
  for (const [name, file] of Object.entries(MODELS)) {
    assert.ok(existsSync(file), `${file} is missing`);
    models[name] = await RingLM.load(file, { contextSize: 512 });
  }
});
after(() => {
  for (const lm of Object.values(models)) lm.dispose();
});

describe('sampled output always parses and validates (ajv)', () => {
  for (const modelName of Object.keys(MODELS)) {
    test(modelName, async (t) => {
      const lm = models[modelName];
      let complete = 0, total = 0;
      for (const [name, { schema, draft }] of Object.entries(CASES)) {
        const matcher = gbnfMatcher(jsonSchemaToGbnf(schema));
        for (let seed = 1; seed <= 6; seed++) {
          // Hot and wide (every allowed token in play), and the default chain.
          const options = seed % 2 ? { temperature: 1.5, topK: 0, topP: 1, minP: 0 } : {};
          const r = await lm.complete(PROMPT, { jsonSchema: schema, seed, maxTokens: 96, ...options });
          const what = `${modelName} / ${name} / seed ${seed}: ${JSON.stringify(r.text)} (${r.finishReason})`;
          total++;
          if (r.finishReason === 'stop') {
            complete++;
            assert.deepEqual(r.json, JSON.parse(r.text), what);
            assert.equal(ajvValid(schema, r.json, draft), null, what);
            assert.ok(matcher.matches(r.text), what);
          } else {
            assert.equal(r.finishReason, 'length', what);
            assert.equal(r.json, undefined, what);
            assert.ok('json' in r, what);
            assert.ok(matcher.isPrefix(r.text.endsWith('\uFFFD') ? r.text.slice(0, -1) : r.text), what);
          }
        }
      }
      t.diagnostic(`${modelName}: ${complete} of ${total} generations complete`);
      assert.ok(complete >= total / 3, `${modelName}: ${complete} of ${total} generations complete`);
    });
  }
});

describe('the option', () => {
  test('greedy, chat, and what does not combine with it; the model stays usable', async () => {
    const lm = models.builtin;
    const schema = CASES.person.schema;
    const r = await lm.complete(PROMPT, { jsonSchema: schema, temperature: 0, maxTokens: 96 });
    assert.equal(r.finishReason, 'stop', r.text);
    assert.equal(ajvValid(schema, r.json), null);
    assert.deepEqual(lm.lastResult.json, r.json);
    // Cut short: finishReason 'length' and no value.
    const cut = await lm.complete(PROMPT, { jsonSchema: schema, temperature: 0, maxTokens: 3 });
    assert.equal(cut.finishReason, 'length');
    assert.equal(cut.json, undefined);
    assert.ok(r.text.startsWith(cut.text), `${cut.text} begins ${r.text}`);
    // generate() returns it as its result.
    const iterator = lm.generate(PROMPT, { jsonSchema: { type: 'boolean' }, temperature: 0 });
    let text = '', step;
    while (!(step = await iterator.next()).done) text += step.value.text;
    assert.equal(step.value.json, JSON.parse(text));
    // Without it there is no json.
    assert.ok(!('json' in (await lm.complete(PROMPT, { maxTokens: 2 }))));

    const errors = [
      [{ jsonSchema: schema, grammar: 'root ::= "x"\n' }, 'RingLM.generate: give grammar or jsonSchema, not both'],
      [{ jsonSchema: schema, stop: ['}'] }, 'RingLM.generate: stop strings would cut the JSON short; they do not combine with jsonSchema'],
      [{ jsonSchema: schema, special: false }, /special: false does not combine with it/],
      [{ jsonSchema: 'object' }, 'RingLM.generate: jsonSchema must be a JSON Schema (an object or a boolean)'],
      [{ jsonSchema: { type: 'number', multipleOf: 2 } }, "RingLM.generate: jsonSchema: 'multipleOf' at # is not supported"],
      [{ jsonSchema: { enum: [] } }, 'RingLM.generate: jsonSchema: the schema accepts no value: no value listed at # fits the schema\'s other keywords'],
    ];
    lm.reset();
    for (const [options, message] of errors) {
      await assert.rejects(lm.complete(PROMPT, options), typeof message === 'string' ? { message } : message);
      assert.equal(lm.position, 0, 'nothing ran');
    }
    assert.equal((await lm.complete(PROMPT, { maxTokens: 3, temperature: 0 })).tokens.length, 3);
  });

  test('big schemas: long property names, deep nesting, long strings reach the core intact', async () => {
    const lm = models.builtin;
    const name = 'k'.repeat(5000);
    let deep = { type: 'null' };
    for (let i = 0; i < 190; i++) deep = { type: 'array', prefixItems: [deep] };
    const schemas = [
      { type: 'object', properties: { [name]: { type: 'null' }, [`${name}x`]: { type: 'null' } }, additionalProperties: { type: 'integer' } },
      deep,
      { type: 'array', items: { type: 'string', minLength: 2500, maxLength: 4200 }, minItems: 2100, maxItems: 2101 },
    ];
    for (const schema of schemas) {
      const r = await lm.complete(PROMPT, { jsonSchema: schema, maxTokens: 4, seed: 1 });
      assert.ok(r.finishReason === 'length' || ajvValid(schema, r.json) === null, r.text);
    }
  });

  test('chat() returns the reply parsed', async () => {
    const { makeChatModels } = await import('../tools/gguf/chat-models.mjs');
    const lm = await RingLM.load(makeChatModels(path.join(ROOT, 'build/models')).chatml);
    try {
      const schema = { type: 'object', properties: { greeting: { enum: ['Hi', 'Hello'] } }, required: ['greeting'] };
      const messages = [{ role: 'user', content: 'Hi there' }];
      const chat = lm.chat(messages, { jsonSchema: schema, temperature: 0, maxTokens: 32 });
      let reply = '', step;
      while (!(step = await chat.next()).done) reply += step.value.text;
      assert.equal(step.value.finishReason, 'stop');
      assert.deepEqual(step.value.json, JSON.parse(reply));
      assert.equal(ajvValid(schema, step.value.json), null);
    } finally {
      lm.dispose();
    }
  });

  test('ringlm --json-schema FILE', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ringlm-json-schema-'));
    const file = path.join(dir, 'schema.json');
    const schema = CASES['const and nested objects'].schema;
    writeFileSync(file, JSON.stringify(schema));
    const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'wasm/cli.js'), '-m', MODELS.builtin, '-p', 'And God said', '-n', '80', ...args],
      { encoding: 'utf8', timeout: 60_000 });
    const r = cli('--temp', '0', '--json-schema', file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /finish: stop/);
    const value = JSON.parse(r.stdout.slice('And God said'.length));
    assert.equal(ajvValid(schema, value), null, r.stdout);
    writeFileSync(file, '{"type": "string", "pattern": "x"}');
    const bad = cli('--json-schema', file);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').pop(), "ringlm: RingLM.generate: jsonSchema: 'pattern' at # is not supported");
    writeFileSync(file, '{"type": ');
    assert.match(cli('--json-schema', file).stderr, /--json-schema .*schema\.json: not JSON/);
  });
});
