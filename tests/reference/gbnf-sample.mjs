// Random texts of a GBNF grammar, for property tests: a random derivation over the tree that the reference
// matcher's parser reads (tests/reference/gbnf.mjs), which turns to the shortest ways out once it is deep or long,
// so that every derivation ends. Characters of a class are drawn from its ranges, or for a negated class from a
// palette that reaches quotes, backslashes, controls, Latin-1, CJK and emoji.
//
//   const s = gbnfSampler(text);
//   s.sample(random)   one text the grammar matches (random: () => [0, 1))

import { parseGrammar } from './gbnf.mjs';

const PALETTE = [...' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~', '\t', '\n', '\r', '\x00', '\x1f', '\x7f', 'é', 'ß', '\u00a0',
  '\u2028', '中', '文', 'ア', '😀', '🦀'].map((c) => c.codePointAt(0));

export function gbnfSampler(grammarText) {
  const rules = parseGrammar(grammarText);

  // The fewest characters each rule (and so each node) can match: a fixpoint from the rules that need no other.
  const ruleCost = new Map([...rules.keys()].map((name) => [name, Infinity]));
  const cost = (node) => {
    switch (node.t) {
      case 'lit': return node.cps.length;
      case 'chars': return 1;
      case 'ref': return ruleCost.get(node.name);
      case 'group': return altsCost(node.alts);
      case 'rep': return node.min === 0 ? 0 : node.min * cost(node.body);
      default: throw new Error(`gbnf sampler: ${node.t}`);
    }
  };
  const seqCost = (seq) => seq.reduce((sum, node) => sum + cost(node), 0);
  const altsCost = (alts) => Math.min(...alts.map(seqCost));
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, alts] of rules) {
      const c = altsCost(alts);
      if (c < ruleCost.get(name)) {
        ruleCost.set(name, c);
        changed = true;
      }
    }
  }
  if (ruleCost.get('root') === Infinity) throw new Error('gbnf sampler: the grammar matches nothing');

  const inClass = (node, cp) => node.any || node.ranges.some(([lo, hi]) => lo <= cp && cp <= hi) !== node.neg;

  function sample(random) {
    const out = [];
    const pick = (list) => list[Math.floor(random() * list.length)];
    const short = (depth) => depth > 40 || out.length > 400;
    const chooseAlt = (alts, depth) => {
      const finite = alts.filter((seq) => seqCost(seq) < Infinity);
      if (!short(depth)) return pick(finite);
      const best = Math.min(...finite.map(seqCost));
      return pick(finite.filter((seq) => seqCost(seq) === best));
    };
    const walk = (node, depth) => {
      switch (node.t) {
        case 'lit':
          out.push(...node.cps);
          return;
        case 'chars': {
          if (!node.neg && !node.any) {
            const [lo, hi] = pick(node.ranges);
            let cp;
            do cp = lo + Math.floor(random() * (hi - lo + 1)); while (cp >= 0xd800 && cp <= 0xdfff && hi - lo > 0x800);
            out.push(cp);
            return;
          }
          const allowed = PALETTE.filter((cp) => inClass(node, cp));
          if (allowed.length === 0) throw new Error('gbnf sampler: a negated class excludes the whole palette');
          out.push(pick(allowed));
          return;
        }
        case 'ref':
          for (const n of chooseAlt(rules.get(node.name), depth)) walk(n, depth + 1);
          return;
        case 'group':
          for (const n of chooseAlt(node.alts, depth)) walk(n, depth + 1);
          return;
        case 'rep': {
          let count = node.min;
          if (cost(node.body) === Infinity) count = 0;
          else if (!short(depth)) while (count < node.max && random() < (node.max === Infinity ? 0.6 : 0.75)) count++;
          for (let i = 0; i < count; i++) walk(node.body, depth + 1);
          return;
        }
        default:
          throw new Error(`gbnf sampler: ${node.t}`);
      }
    };
    walk({ t: 'ref', name: 'root' }, 0);
    return String.fromCodePoint(...out);
  }

  return { sample };
}
