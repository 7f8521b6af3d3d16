// The bench's statistics: repetitions that take turns, and their medians.

/** The middle value (mean of the two middle ones for an even count); null for no values. */
export const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The order of repetition r: rotated by r (who goes first changes every time) and, in every other repetition,
 * walked backwards. A rotation alone keeps the cyclic order, so each one would always run right after the same
 * other one: in the main table the 2-thread wasm run always came straight after llama.cpp (in the same process),
 * and whatever one leaves behind for the next would always fall on the same one.
 */
export function turnOrder(r, items) {
  const k = r % items.length;
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return r % 2 ? rotated.reverse() : rotated;
}

/**
 * Runs f for each of the implementations in turn (turnOrder), `reps` times, so that a slow spell of a shared
 * machine falls on all of them alike; returns { name: [f(name) of each repetition] }.
 */
export async function interleave(reps, impls, f) {
  const out = Object.fromEntries(impls.map((name) => [name, []]));
  for (let r = 0; r < reps; r++) {
    for (const name of turnOrder(r, impls)) out[name].push(await f(name));
  }
  return out;
}
