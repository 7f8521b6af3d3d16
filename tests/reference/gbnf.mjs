// An independent GBNF matcher for tests: reads a grammar (llama.cpp's grammars/README.md syntax) into a tree
// and matches texts by memoized recursive descent over code points, computing every place each part of the
// grammar can end (repetitions stay repetitions; nothing is shared with ringlm's C++ parser or matcher).
//
//   const m = gbnfMatcher(text);
//   m.matches('...')    the whole text is a match
//   m.isPrefix('...')   the text is the beginning of a match (it may end inside any part)

const PARTIAL = -1;  // an end position meaning "the text ran out inside this part"

export function parseGrammar(src) {
  let i = 0;
  const fail = (what) => { throw new Error(`gbnf reference: ${what} at offset ${i}: ${JSON.stringify(src.slice(i, i + 20))}`); };
  const space = (newlines) => {
    for (;;) {
      if (src[i] === '#') while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
      else if (src[i] === ' ' || src[i] === '\t' || (newlines && (src[i] === '\n' || src[i] === '\r'))) i++;
      else return;
    }
  };
  const name = () => {
    const m = /^[a-zA-Z0-9-]+/.exec(src.slice(i));
    if (!m) fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const char = () => {
    if (src[i] !== '\\') {
      const cp = src.codePointAt(i);
      i += cp > 0xFFFF ? 2 : 1;
      return cp;
    }
    const e = src[i + 1];
    i += 2;
    const hex = (n) => {
      const h = src.slice(i, i + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail('bad hex escape');
      i += n;
      return parseInt(h, 16);
    };
    const simple = { t: 9, r: 13, n: 10, '\\': 92, '"': 34, '[': 91, ']': 93, '-': 45 };
    if (e === 'x') return hex(2);
    if (e === 'u') return hex(4);
    if (e === 'U') return hex(8);
    if (e in simple) return simple[e];
    return fail('bad escape');
  };
  const alternatives = (nested) => {
    const alts = [sequence(nested)];
    while (src[i] === '|') {
      i++;
      space(true);
      alts.push(sequence(nested));
    }
    return alts;
  };
  const sequence = (nested) => {
    const seq = [];
    for (;;) {
      const c = src[i];
      if (c === '"') {
        i++;
        const cps = [];
        while (src[i] !== '"') cps.push(char());
        i++;
        seq.push({ t: 'lit', cps });
      } else if (c === '[') {
        i++;
        const neg = src[i] === '^';
        if (neg) i++;
        const ranges = [];
        while (src[i] !== ']') {
          const lo = char();
          let hi = lo;
          if (src[i] === '-' && src[i + 1] !== ']') {
            i++;
            hi = char();
          }
          ranges.push([lo, hi]);
        }
        i++;
        seq.push({ t: 'chars', neg, ranges });
      } else if (c === '.') {
        i++;
        seq.push({ t: 'chars', any: true });
      } else if (c === '(') {
        i++;
        space(true);
        const alts = alternatives(true);
        if (src[i] !== ')') fail("expected ')'");
        i++;
        seq.push({ t: 'group', alts });
      } else if (c === '*' || c === '+' || c === '?') {
        i++;
        const [min, max] = { '*': [0, Infinity], '+': [1, Infinity], '?': [0, 1] }[c];
        seq.push({ t: 'rep', body: seq.pop(), min, max });
      } else if (c === '{') {
        const m = /^\{\s*(\d+)\s*(?:(,)\s*(\d+)?\s*)?\}/.exec(src.slice(i));
        if (!m) fail('bad repetition');
        i += m[0].length;
        const min = Number(m[1]);
        const max = m[2] ? (m[3] === undefined ? Infinity : Number(m[3])) : min;
        seq.push({ t: 'rep', body: seq.pop(), min, max });
      } else if (c !== undefined && /[a-zA-Z0-9-]/.test(c)) {
        seq.push({ t: 'ref', name: name() });
      } else {
        return seq;
      }
      space(nested);
    }
  };
  const rules = new Map();
  space(true);
  while (i < src.length) {
    const n = name();
    space(false);
    if (src.slice(i, i + 3) !== '::=') fail("expected '::='");
    i += 3;
    space(true);
    rules.set(n, alternatives(false));
    if (src[i] === '\r') i++;
    if (src[i] === '\n') i++;
    else if (i < src.length) fail('expected the end of the rule');
    space(true);
  }
  if (!rules.has('root')) fail('no root');
  return rules;
}

export function gbnfMatcher(grammarText) {
  const rules = parseGrammar(grammarText);

  function matcher(text) {
    const cps = Array.from(text, (ch) => ch.codePointAt(0));
    const len = cps.length;
    const memo = new Map();
    let nextId = 0;
    const idOf = new WeakMap();
    const key = (node, pos) => {
      if (!idOf.has(node)) idOf.set(node, nextId++);
      return `${idOf.get(node)}:${pos}`;
    };
    const classHas = (e, cp) => e.any || e.ranges.some(([lo, hi]) => lo <= cp && cp <= hi) !== e.neg;

    // Every position where `alts` (a list of sequences) can end when started at pos.
    function altsEnds(alts, pos) {
      const k = key(alts, pos);
      if (memo.has(k)) return memo.get(k);
      memo.set(k, new Set());  // a rule reached again at the same place without reading: no new ends
      const out = new Set();
      for (const seq of alts) for (const e of seqEnds(seq, 0, pos)) out.add(e);
      memo.set(k, out);
      return out;
    }
    function seqEnds(seq, index, pos) {
      if (index === seq.length) return new Set([pos]);
      const out = new Set();
      for (const e of elementEnds(seq[index], pos)) {
        if (e === PARTIAL) out.add(PARTIAL);
        else for (const f of seqEnds(seq, index + 1, e)) out.add(f);
      }
      return out;
    }
    function elementEnds(e, pos) {
      switch (e.t) {
        case 'chars':
          if (pos === len) return new Set([PARTIAL]);
          return new Set(classHas(e, cps[pos]) ? [pos + 1] : []);
        case 'lit': {
          for (let j = 0; j < e.cps.length; j++) {
            if (pos + j === len) return new Set([PARTIAL]);
            if (cps[pos + j] !== e.cps[j]) return new Set();
          }
          return new Set([pos + e.cps.length]);
        }
        case 'ref':
          if (!rules.has(e.name)) throw new Error(`gbnf reference: no rule ${e.name}`);
          return altsEnds(rules.get(e.name), pos);
        case 'group':
          return altsEnds(e.alts, pos);
        case 'rep': {
          const out = new Set(e.min === 0 ? [pos] : []);
          let current = new Set([pos]);
          const seen = new Set([pos]);
          for (let count = 1; count <= e.max && current.size > 0; count++) {
            const next = new Set();
            for (const p of current) {
              for (const f of elementEnds(e.body, p)) {
                if (f === PARTIAL) out.add(PARTIAL);
                else if (e.max !== Infinity || count <= e.min || !seen.has(f)) next.add(f);
              }
            }
            if (count >= e.min) for (const f of next) out.add(f);
            if (e.max === Infinity && count >= e.min) for (const f of next) seen.add(f);
            current = next;
          }
          return out;
        }
        default:
          throw new Error(`gbnf reference: unknown element ${e.t}`);
      }
    }
    return { ends: altsEnds(rules.get('root'), 0), len };
  }

  return {
    matches: (text) => {
      const { ends, len } = matcher(text);
      return ends.has(len);
    },
    isPrefix: (text) => {
      const { ends, len } = matcher(text);
      return ends.has(len) || ends.has(PARTIAL);
    },
  };
}
