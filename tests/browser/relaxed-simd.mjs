// The comparison behind tests/relaxed-simd.test.mjs (in Node, through tests/relaxed-simd/logits.mjs)
// and tests/relaxed-simd-browser.test.mjs (in Chromium, on tests/browser/harness.html): for each model,
// the logits of a prefill and of 24 greedy decode steps (decode is where the relaxed kernels run),
// once in the default build and once in the relaxed-SIMD build (simd: 'relaxed'), on the same number of
// threads (load.threads, default 1: the single-threaded builds; more: the threaded ones).

async function logits(RingLM, source, options) {
  const lm = await RingLM.load(source, { contextSize: 64, ...options });
  try {
    const vocab = lm.info.vocabSize;
    const prompt = Array.from({ length: 12 }, (_, i) => (i * 37 + 11) % vocab);
    const steps = [lm.prefill(prompt).slice()];
    for (let i = 0; i < 24; i++) {
      const last = steps[steps.length - 1];
      let best = 0;
      for (let v = 1; v < vocab; v++) if (last[v] > last[best]) best = v;
      steps.push(lm.decode(best).slice());
    }
    return Object.assign(steps, { threads: lm.info.threads });
  } finally {
    lm.dispose();
  }
}

/**
 * Per source: { steps, vocab, compared: logits compared, firstDiff: the first that differs in any
 * bit (null when none does) }. `load` adds load options (e.g. cache: false in a browser).
 */
export async function compareBuilds(RingLM, sources, load = {}) {
  const results = [];
  for (const source of sources) {
    const threads = load.threads ?? 1;
    const plain = await logits(RingLM, source, { ...load, threads });
    const relaxed = await logits(RingLM, source, { ...load, threads, simd: 'relaxed' });
    if (plain.threads !== threads || relaxed.threads !== threads) {
      throw new Error(`threads: ${threads} ran on ${plain.threads} (default) and ${relaxed.threads} (relaxed)`);
    }
    let compared = 0, firstDiff = null;
    plain.forEach((values, step) => {
      const a = new Uint32Array(values.buffer), b = new Uint32Array(relaxed[step].buffer);
      if (a.length !== b.length && !firstDiff) firstDiff = { step, lengths: [a.length, b.length] };
      for (let i = 0; i < Math.min(a.length, b.length); i++, compared++) {
        if (a[i] !== b[i] && !firstDiff) firstDiff = { step, index: i, default: values[i], relaxed: relaxed[step][i] };
      }
    });
    results.push({ steps: plain.length, vocab: plain[0].length, compared, firstDiff });
  }
  return results;
}
