// Never silently wrong, through the npm package: files written by our GGUF writer that ask for what ringlm does not
// implement (or break an architecture's rules) are refused by RingLM.load with an Error naming the key or tensor and
// what it is, and a model loaded before stays usable. (tests/model_audit_test.cpp covers every rule natively and in
// wasm; the architectures themselves are held to llama.cpp by tests/llamacpp-compare.test.mjs.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { RingLM } from '../wasm/ringlm.js';
import { GgmlType } from '../tools/gguf/writer.mjs';
import { makeRandomLlama } from '../tools/gguf/random-llama.mjs';

const SHAPE = { seed: 5, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, ctx: 256 };

/** A model of `opts`, changed by `edit(writer)` before it is written. */
function file(opts, edit = () => {}) {
  const w = makeRandomLlama({ ...SHAPE, ...opts });
  edit(w);
  return w.toBuffer();
}
const withoutTensor = (name) => (w) => { w.tensors = w.tensors.filter((t) => t.name !== name); };
const withTensor = (name, ne) => (w) => w.addTensor(name, GgmlType.F32, ne, new Float32Array(ne.reduce((a, b) => a * b, 1)).fill(1));

const CASES = [
  {
    what: 'phi3 with LongRoPE factors of the wrong length (sized for the whole head, 4 of whose 8 pairs rotate)',
    bytes: () => file({ arch: 'phi3', ropeDims: 8, ctx: 256, longRope: { original: 64 } }, (w) => {
      withoutTensor('rope_factors_long.weight')(w);
      withTensor('rope_factors_long.weight', [8])(w);
    }),
    message: "tensor 'rope_factors_long.weight' (LongRoPE frequency factors for long contexts) has shape [8], expected [4]: " +
      'one factor per rotated pair of the 8 rotated dims (rope.dimension_count)',
  },
  {
    what: 'phi3 with short LongRoPE factors of the wrong length',
    bytes: () => file({ arch: 'phi3', ctx: 256, longRope: { original: 64 } }, (w) => {
      withoutTensor('rope_factors_short.weight')(w);
      withTensor('rope_factors_short.weight', [6])(w);
    }),
    message: "tensor 'rope_factors_short.weight' (LongRoPE frequency factors for short contexts) has shape [6], expected [8]: " +
      'one factor per rotated pair of the 16 rotated dims (rope.dimension_count)',
  },
  {
    what: 'LongRoPE factors on llama',
    bytes: () => file({}, withTensor('rope_factors_long.weight', [8])),
    message: "tensor 'rope_factors_long.weight' (LongRoPE frequency factors for long contexts, as in Phi-3) is not supported for architecture 'llama'",
  },
  {
    what: 'a llama file carrying q/k norm tensors',
    bytes: () => file({}, withTensor('blk.0.attn_q_norm.weight', [16])),
    message: "tensor 'blk.0.attn_q_norm.weight' (per-head RMSNorm of the queries, as in Qwen3) is not supported for architecture 'llama'",
  },
  {
    what: 'qwen3 without its k norm',
    bytes: () => file({ arch: 'qwen3' }, withoutTensor('blk.1.attn_k_norm.weight')),
    message: "missing tensor 'blk.1.attn_k_norm.weight'",
  },
  {
    what: 'rope_freqs of the wrong size',
    bytes: () => file({}, withTensor('rope_freqs.weight', [16])),
    message: "tensor 'rope_freqs.weight' (Llama 3 RoPE frequency factors) has shape [16], expected [8]: one factor per " +
      'rotated pair of the 16 rotated dims (rope.dimension_count)',
  },
  {
    what: 'Llama 3 RoPE factors on smollm3',
    bytes: () => file({ arch: 'smollm3' }, withTensor('rope_freqs.weight', [8])),
    message: "tensor 'rope_freqs.weight' (Llama 3 RoPE frequency factors) is not supported for architecture 'smollm3'",
  },
  {
    what: 'gemma3 with a sliding window of 0 (llama.cpp would run every layer global; a file without the key does)',
    bytes: () => file({ arch: 'gemma3', slidingWindow: 0 }),
    message: "key 'gemma3.attention.sliding_window' is 0 (expected 1 to 1073741824 tokens; leave the key out for a model " +
      'with no sliding-window layers)',
  },
  {
    what: 'gemma3 without its post-FFN norm',
    bytes: () => file({ arch: 'gemma3', slidingWindow: 4 }, withoutTensor('blk.1.post_ffw_norm.weight')),
    message: "missing tensor 'blk.1.post_ffw_norm.weight'",
  },
  {
    what: "a RoPE scaling type llama.cpp does not know ('llama3')",
    bytes: () => file({ ropeScaling: { type: 'llama3', factor: 8 } }),
    message: "key 'llama.rope.scaling.type' is 'llama3', which is not a RoPE scaling type (llama.cpp knows none, linear, yarn and longrope)",
  },
  {
    what: 'YaRN',
    bytes: () => file({ arch: 'qwen3', ropeScaling: { type: 'yarn', factor: 4 } }),
    message: "key 'qwen3.rope.scaling.type' is 'yarn' (YaRN RoPE scaling), which is not supported",
  },
  {
    what: 'sliding windows',
    bytes: () => file({}, (w) => w.addUint32('llama.attention.sliding_window', 512)),
    message: "key 'llama.attention.sliding_window' (sliding-window (local) attention) is not supported",
  },
  {
    what: 'final-logit soft-capping',
    bytes: () => file({}, (w) => w.addFloat32('llama.final_logit_softcapping', 30)),
    message: "key 'llama.final_logit_softcapping' (soft-capping of the final logits, as in Gemma 2) is not supported",
  },
  {
    what: 'a norm after attention',
    bytes: () => file({ arch: 'qwen3' }, withTensor('blk.0.post_attention_norm.weight', [64])),
    message: "tensor 'blk.0.post_attention_norm.weight' (a norm after attention, as in Gemma 2 and 3) is not supported for architecture 'qwen3'",
  },
  {
    what: 'an unknown tensor',
    bytes: () => file({}, withTensor('blk.1.mystery.weight', [64])),
    message: "tensor 'blk.1.mystery.weight' is not one ringlm knows for architecture 'llama'; it may change the model's output, so the file is refused",
  },
];

let previous = null;
let previousLogits = null;
const PROMPT = Int32Array.from([1, 40, 80, 120]);

before(async () => {
  previous = await RingLM.load(file({}), { contextSize: 64 });
  previousLogits = Float32Array.from(await previous.prefill(PROMPT));
});

after(() => previous?.dispose());

for (const c of CASES) {
  test(`refused by name: ${c.what}`, async () => {
    await assert.rejects(RingLM.load(c.bytes(), { contextSize: 64 }), (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.message, `RingLM.load: ${c.message}`);
      return true;
    });
    // The model loaded before still runs, and computes what it did.
    previous.reset();
    assert.deepEqual(Float32Array.from(await previous.prefill(PROMPT)), previousLogits);
  });
}

test('the architectures load with their own tensors, and say which they are', async () => {
  for (const [arch, opts] of [['llama', { ropeFreqs: 'llama3' }], ['qwen3', { headDim: 32 }], ['smollm3', { layers: 4 }],
    ['phi3', { ropeDims: 8 }], ['phi3', { ropeDims: 8, longRope: { original: 64 } }], ['gemma3', { slidingWindow: 4, swaPeriod: 2 }],
    ['gemma3', {}]]) {
    const lm = await RingLM.load(file({ arch, ...opts }), { contextSize: 64 });
    try {
      assert.equal(lm.info.architecture, arch);
      assert.equal((await lm.prefill(PROMPT)).length, SHAPE.vocab);
    } finally {
      lm.dispose();
    }
  }
});
