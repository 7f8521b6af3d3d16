// Comparing next-token distributions: log-softmax in float64, max |difference|, top-1 agreement.

/** Row-wise log-softmax (float64) of n rows of `vocab` raw logits. */
export function logSoftmaxRows(logits, vocab) {
  const n = logits.length / vocab;
  if (!Number.isInteger(n)) throw new Error(`${logits.length} logits are not rows of ${vocab}`);
  const out = new Float64Array(logits.length);
  for (let r = 0; r < n; r++) {
    const o = r * vocab;
    let max = -Infinity;
    for (let t = 0; t < vocab; t++) max = Math.max(max, logits[o + t]);
    let sum = 0;
    for (let t = 0; t < vocab; t++) sum += Math.exp(logits[o + t] - max);
    const lse = max + Math.log(sum);
    for (let t = 0; t < vocab; t++) out[o + t] = logits[o + t] - lse;
  }
  return out;
}

/** Index of the largest value and the gap to the second largest, in row r. */
export function top2(row, vocab, r = 0) {
  let best = -1, first = -Infinity, second = -Infinity;
  for (let t = 0; t < vocab; t++) {
    const v = row[r * vocab + t];
    if (v > first) { second = first; first = v; best = t; } else if (v > second) second = v;
  }
  return { index: best, gap: first - second };
}

/**
 * Compares candidate log-probabilities with reference ones (both n*vocab).
 * The argmax must agree wherever the reference's top-1/top-2 gap exceeds `tolerance` (closer calls may flip).
 * @returns {{maxAbs:number, worstPosition:number, top1Agree:number, positions:number, requiredMismatches:number[]}}
 */
export function compareLogprobs(reference, candidate, vocab, tolerance) {
  if (reference.length !== candidate.length) {
    throw new Error(`length mismatch: reference ${reference.length}, candidate ${candidate.length}`);
  }
  const n = reference.length / vocab;
  let maxAbs = 0, worstPosition = -1, top1Agree = 0;
  const requiredMismatches = [];
  for (let r = 0; r < n; r++) {
    for (let t = 0; t < vocab; t++) {
      const d = Math.abs(reference[r * vocab + t] - candidate[r * vocab + t]);
      if (!(d <= maxAbs)) { maxAbs = Number.isNaN(d) ? Infinity : d; worstPosition = r; }
    }
    const ref = top2(reference, vocab, r);
    const cand = top2(candidate, vocab, r);
    if (ref.index === cand.index) top1Agree++;
    else if (ref.gap > tolerance) requiredMismatches.push(r);
  }
  return { maxAbs, worstPosition, top1Agree, positions: n, requiredMismatches };
}

/** Spread statistics of raw logits or log-probabilities: mean per-row std and mean top1-top2 gap. */
export function spread(rows, vocab) {
  const n = rows.length / vocab;
  let stdSum = 0, gapSum = 0, rangeSum = 0;
  for (let r = 0; r < n; r++) {
    let mean = 0, min = Infinity, max = -Infinity;
    for (let t = 0; t < vocab; t++) {
      const v = rows[r * vocab + t];
      mean += v; min = Math.min(min, v); max = Math.max(max, v);
    }
    mean /= vocab;
    let varSum = 0;
    for (let t = 0; t < vocab; t++) varSum += (rows[r * vocab + t] - mean) ** 2;
    stdSum += Math.sqrt(varSum / vocab);
    gapSum += top2(rows, vocab, r).gap;
    rangeSum += max - min;
  }
  return { std: stdSum / n, top1Gap: gapSum / n, range: rangeSum / n };
}
