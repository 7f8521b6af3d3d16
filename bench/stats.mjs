// The bench's statistics: repetitions that take turns, and their medians.

/** The middle value (mean of the two middle ones for an even count); null for no values. */
export const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Runs f for each of the implementations in turn, `reps` times, rotating who goes first, so that a slow spell
 * of a shared machine falls on all of them alike; returns { name: [f(name) of each repetition] }.
 */
export async function interleave(reps, impls, f) {
  const out = Object.fromEntries(impls.map((name) => [name, []]));
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < impls.length; k++) {
      const name = impls[(r + k) % impls.length];
      out[name].push(await f(name));
    }
  }
  return out;
}
