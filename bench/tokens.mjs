// The token sequence every implementation runs (tools/cli/main.cpp's bench_token is the same formula):
// BOS, then ids spread over the vocabulary. Decoding is teacher-forced, so no sampling cost is timed.
export function benchTokens(vocab, n) {
  const ids = [1];
  for (let i = 1; i < n; i++) ids.push(3 + ((i * 7919 + 13) % (vocab - 3)));
  return ids;
}
