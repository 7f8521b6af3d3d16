// cli-logprobs.js — the command line's side of issue 17's numbers: `--logit-bias ID=BIAS` and the table
// `--logprobs N` writes (`ringlm score` is in cli-score.js).

/** One `--logit-bias ID=BIAS` (BIAS a number, or -inf / -Infinity to ban) added to the map `into`. */
export function parseLogitBias(flag, value, into = {}, UsageError = Error) {
  const m = /^(\d+)=(.+)$/.exec(value);
  const bias = m && (/^-inf(inity)?$/i.test(m[2]) ? -Infinity : m[2].trim() === m[2] ? Number(m[2]) : NaN);
  if (!m || !Number.isSafeInteger(Number(m[1])) || Number.isNaN(bias) || bias === Infinity) {
    throw new UsageError(`${flag} needs ID=BIAS with a token id and a finite bias or -inf to ban the token (got '${value}')`);
  }
  into[m[1]] = (into[m[1]] ?? 0) + bias;  // repeated for one token: the biases add up, as in llama.cpp
  return into;
}

/** A token's text as the tables show it: JSON, so spaces, newlines and control bytes are visible. */
export const shown = (text) => JSON.stringify(text);

/** --logprobs: one line per generated token, its log-probability and the alternatives. */
export function logprobsReport(entries) {
  return entries.map((e, i) => {
    const top = e.topLogprobs.map((t) => `${shown(t.token)} ${t.logprob.toFixed(4)}`).join(', ');
    return `${String(i).padStart(4)}  ${String(e.id).padStart(6)}  ${e.logprob.toFixed(4).padStart(9)}  ${shown(e.token)}${top ? `  [${top}]` : ''}\n`;
  }).join('');
}
