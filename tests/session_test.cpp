// Generation: stop strings across token boundaries, end-of-generation tokens, maxTokens, the
// context policy `stop`, abort, continuation, and bad options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf_builder.h"
#include "generate/session.h"
#include "test_util.h"

using namespace ringlm;

TEST(StopStrings, HoldBackPossibleStartsAndDropTheMatch) {
  StopStrings s;
  s.reset({"STOP", "ab"});
  std::string out;
  EXPECT_FALSE(s.push("hello S", &out));
  EXPECT_EQ(out, "hello ") << "'S' could start STOP";
  EXPECT_FALSE(s.push("T", &out));
  EXPECT_EQ(out, "hello ");
  EXPECT_FALSE(s.push("x a", &out));
  EXPECT_EQ(out, "hello STx ") << "STx cannot become STOP any more";
  EXPECT_TRUE(s.push("b tail", &out));
  EXPECT_EQ(out, "hello STx ") << "the match and everything after it are dropped";

  s.reset({"END"});
  out.clear();
  EXPECT_FALSE(s.push("xxE", &out));
  EXPECT_FALSE(s.push("N", &out));
  s.flush(&out);
  EXPECT_EQ(out, "xxEN") << "at the end, a partial match is released";

  s.reset({});
  out.clear();
  EXPECT_FALSE(s.push("anything", &out));
  EXPECT_EQ(out, "anything");
}

namespace {

struct Fixture {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Session> session;
  explicit Fixture(int context = 64, uint32_t seed = 3) {
    test::LlamaShape shape;
    shape.pieces = test::test_pieces();
    EXPECT_TRUE(test::load_engine(test::make_llama(shape, seed), &engine, context).ok());
    session = std::make_unique<Session>(*engine);
  }
  // Run to the end; returns the tokens and the text, and the finish reason.
  FinishReason run(const std::vector<int32_t>& prompt, const GenerateOptions& o, std::vector<int32_t>* tokens,
                   std::string* text) {
    EXPECT_TRUE(session->begin(prompt.data(), int(prompt.size()), o).ok());
    for (int guard = 0; guard < 10000; guard++) {
      Step st;
      EXPECT_TRUE(session->step(&st).ok());
      *text += st.text;
      if (st.kind == Step::Kind::Token) tokens->push_back(st.token);
      if (st.finish != FinishReason::None) return st.finish;
    }
    return FinishReason::None;
  }
};

GenerateOptions greedy(int max_tokens) {
  GenerateOptions o;
  o.sampling.temperature = 0.0f;
  o.max_tokens = max_tokens;
  return o;
}

}  // namespace

TEST(Session, MaxTokensIsExactAndTextIsTheDetokenizedTokens) {
  Fixture f;
  std::vector<int32_t> tokens;
  std::string text;
  GenerateOptions o;
  o.sampling.seed = 5;
  o.sampling.temperature = 1.5f;
  o.sampling.top_k = 0;
  o.sampling.top_p = 1.0f;
  o.sampling.min_p = 0.0f;
  const FinishReason r = f.run({1, 270, 290}, o, &tokens, &text);
  // Either maxTokens (256, the default) was reached exactly, or </s> came first.
  if (r == FinishReason::Length) {
    EXPECT_EQ(tokens.size(), 256u);
  } else {
    ASSERT_EQ(r, FinishReason::Stop);
    EXPECT_LT(tokens.size(), 256u);
    EXPECT_EQ(f.session->pending_token(), 2);
  }
  const Tokenizer* tok = nullptr;
  ASSERT_TRUE(f.engine->tokenizer(&tok).ok());
  tokens.clear();
  text.clear();
  GenerateOptions g = greedy(17);
  g.sampling.repeat_penalty = 1.3f;  // keep greedy from looping on an end token... or not: either is fine
  const FinishReason r2 = f.run({1, 270, 290}, g, &tokens, &text);
  std::string expect;
  DetokenizeOptions keep_space = tok->default_detokenize_options();
  keep_space.strip_leading_space = false;  // generated text follows the prompt: its first space stays
  ASSERT_TRUE(tok->detokenize(tokens.data(), tokens.size(), keep_space, &expect).ok());
  if (r2 == FinishReason::Length) EXPECT_EQ(tokens.size(), 17u);
  else EXPECT_EQ(f.session->pending_token(), 2) << "the other way to end is </s>";
  EXPECT_EQ(text, expect);
  EXPECT_EQ(f.session->timings().prompt_tokens, 3);
  EXPECT_EQ(f.session->timings().generated_tokens, int(tokens.size()) + (r2 == FinishReason::Stop ? 1 : 0));
}

TEST(Session, SameSeedSameTokensAndStopStringsAcrossTokens) {
  Fixture f;
  GenerateOptions o;
  o.sampling.seed = 42;
  o.sampling.temperature = 1.0f;
  o.max_tokens = 60;
  std::vector<int32_t> a, b;
  std::string ta, tb;
  f.run({1, 300}, o, &a, &ta);
  f.run({1, 300}, o, &b, &tb);
  ASSERT_EQ(a, b) << "same seed, same tokens";
  ASSERT_EQ(ta, tb);
  ASSERT_GT(ta.size(), 6u);
  // Take a stop string from the middle of the text, spanning token boundaries where possible.
  const std::string stop = ta.substr(ta.size() / 2, 3);
  o.stop = {stop};
  std::vector<int32_t> c;
  std::string tc;
  EXPECT_EQ(f.run({1, 300}, o, &c, &tc), FinishReason::Stop);
  EXPECT_EQ(tc, ta.substr(0, ta.find(stop))) << "the text up to the stop string, which is not emitted";
  EXPECT_EQ(tc.find(stop), std::string::npos);
}

TEST(Session, EndOfGenerationTokenStopsAndIsNotEmitted) {
  Fixture f;
  // Make </s> irresistible: a huge bias is not available, so search seeds for a run ending in EOS.
  bool saw_eos = false;
  for (uint64_t seed = 0; seed < 200 && !saw_eos; seed++) {
    GenerateOptions o;
    o.sampling.seed = seed;
    o.sampling.temperature = 3.0f;
    o.sampling.top_k = 0;
    o.sampling.top_p = 1.0f;
    o.sampling.min_p = 0.0f;
    o.max_tokens = 40;
    std::vector<int32_t> t;
    std::string text;
    if (f.run({1}, o, &t, &text) == FinishReason::Stop) {
      saw_eos = true;
      for (int32_t id : t) EXPECT_NE(id, 2) << "EOS is never emitted as a token";
      EXPECT_EQ(f.session->pending_token(), 2);
    }
  }
  EXPECT_TRUE(saw_eos) << "some seed should sample </s> within 40 tokens at temperature 3";
}

TEST(Session, StopTokensEndGenerationLikeEos) {
  Fixture f;
  std::vector<int32_t> all;
  std::string all_text;
  ASSERT_EQ(f.run({1, 270}, greedy(12), &all, &all_text), FinishReason::Length);
  // Stop at the 6th token: the first 5 are emitted, the stop token is not, and it is pending like an EOS.
  GenerateOptions o = greedy(12);
  o.stop_tokens = {all[5]};
  std::vector<int32_t> t;
  std::string text;
  ASSERT_EQ(f.run({1, 270}, o, &t, &text), FinishReason::Stop);
  const size_t first = size_t(std::find(all.begin(), all.end(), all[5]) - all.begin());
  EXPECT_EQ(t, std::vector<int32_t>(all.begin(), all.begin() + long(first)));
  EXPECT_EQ(f.session->pending_token(), all[5]);
  const std::string vocab = std::to_string(f.engine->model().config.vocab_size);
  o.stop_tokens = {f.engine->model().config.vocab_size};
  EXPECT_EQ(f.session->begin(all.data(), 2, o).message(),
            "stop token id " + vocab + " is out of range (vocabulary size " + vocab + ")");
}

TEST(Session, StopPolicyEndsWithLengthAtCapacity) {
  Fixture f(20);
  GenerateOptions o = greedy(1000);
  o.policy = ContextPolicy::Stop;
  o.sampling.repeat_penalty = 1.5f;
  std::vector<int32_t> t;
  std::string text;
  const FinishReason r = f.run({1, 270, 280, 290}, o, &t, &text);
  if (r == FinishReason::Length) {
    EXPECT_EQ(f.engine->position(), 20) << "the cache is exactly full";
    EXPECT_EQ(t.size(), 17u) << "4 prompt + 16 decoded + the last sampled one";
  } else {
    ASSERT_EQ(r, FinishReason::Stop);
    EXPECT_EQ(f.session->pending_token(), 2);
  }
  // A prompt longer than the capacity under `stop`: nothing is generated, reason "length".
  std::vector<int32_t> long_prompt(30, 270);
  t.clear();
  EXPECT_EQ(f.run(long_prompt, o, &t, &text), FinishReason::Length);
  EXPECT_TRUE(t.empty());
}

TEST(Session, SinksGenerateFarPastTheCapacity) {
  Fixture f(16);
  GenerateOptions o;
  o.sampling.seed = 1;
  o.max_tokens = 200;
  o.sampling.temperature = 2.0f;
  std::vector<int32_t> t;
  std::string text;
  // With sinks the only ways to end are EOS and maxTokens.
  const FinishReason r = f.run({1, 270}, o, &t, &text);
  if (r == FinishReason::Length) {
    EXPECT_EQ(t.size(), 200u);
    EXPECT_GE(f.engine->cache().dropped(), 150);
  } else {
    ASSERT_EQ(r, FinishReason::Stop);
    EXPECT_EQ(f.session->pending_token(), 2);
  }
}

TEST(Session, PerTokenTimesStopAtTheirCapacitySoALongRunStaysFlat) {
  Fixture f(16);
  GenerateOptions o;
  o.sampling.temperature = 0;  // greedy: this model and prompt never pick the end-of-text token
  o.max_tokens = int(Timings::kMaxTokenTimes) + 300;
  const size_t capacity = f.session->timings().token_ms.capacity();
  EXPECT_GE(capacity, Timings::kMaxTokenTimes);
  // Greedy decoding on a random model soon falls into a loop; find a prompt whose loop has no end-of-text.
  bool ran_to_length = false;
  for (int32_t second = 259; second < 300 && !ran_to_length; second++) {
    std::vector<int32_t> t;
    std::string text;
    ran_to_length = f.run({1, second}, o, &t, &text) == FinishReason::Length;
  }
  ASSERT_TRUE(ran_to_length) << "no prompt ran to maxTokens";
  EXPECT_EQ(f.session->timings().generated_tokens, o.max_tokens);
  EXPECT_EQ(f.session->timings().token_ms.size(), Timings::kMaxTokenTimes);
  EXPECT_EQ(f.session->timings().token_ms.capacity(), capacity) << "the per-token path never grew it";
}

TEST(Session, AbortLeavesTheEngineUsableAndTheNextRunEqualsAFreshOne) {
  Fixture f;
  GenerateOptions o;
  o.sampling.seed = 9;
  o.max_tokens = 30;
  o.prefill_chunk = 2;
  std::vector<int32_t> prompt = {1, 270, 271, 272, 273, 274, 275};
  std::vector<int32_t> fresh;
  std::string fresh_text;
  f.run(prompt, o, &fresh, &fresh_text);
  for (int abort_after : {1, 2, 6, 12}) {  // mid-prefill and mid-decode
    ASSERT_TRUE(f.session->begin(prompt.data(), int(prompt.size()), o).ok());
    for (int i = 0; i < abort_after; i++) {
      Step st;
      ASSERT_TRUE(f.session->step(&st).ok());
      if (st.finish != FinishReason::None) break;
    }
    if (f.session->running()) {
      f.session->abort();
      Step st;
      ASSERT_TRUE(f.session->step(&st).ok());
      EXPECT_EQ(st.finish, FinishReason::Abort);
    }
    std::vector<int32_t> again;
    std::string again_text;
    f.run(prompt, o, &again, &again_text);
    EXPECT_EQ(again, fresh) << "after abort at step " << abort_after;
    EXPECT_EQ(again_text, fresh_text);
  }
}

TEST(Session, KeepCacheContinuesWithoutReprefilling) {
  Fixture f;
  GenerateOptions o = greedy(5);
  std::vector<int32_t> t1, t2, all;
  std::string s1, s2, s_all;
  f.run({1, 270, 280}, o, &t1, &s1);
  const int pos_after_first = f.engine->position();
  o.keep_cache = true;
  f.run({290, 291}, o, &t2, &s2);
  // The continuation saw: prompt, t1 (the last one pending, fed first), then 290 291.
  EXPECT_EQ(f.session->timings().prompt_tokens, 3) << "pending token + 2 new prompt tokens";
  EXPECT_GE(f.engine->position(), pos_after_first + 3);
  // The same tokens in one go give the same continuation.
  std::vector<int32_t> joined = {1, 270, 280};
  joined.insert(joined.end(), t1.begin(), t1.end());
  joined.push_back(290);
  joined.push_back(291);
  o.keep_cache = false;
  f.run(joined, o, &all, &s_all);
  EXPECT_EQ(all, t2);
}

TEST(Session, BadOptionsAndPromptsAreClearErrors) {
  Fixture f;
  std::vector<int32_t> p = {1, 5};
  GenerateOptions o;
  o.max_tokens = -1;
  EXPECT_NE(f.session->begin(p.data(), 2, o).message().find("maxTokens"), std::string::npos);
  o = GenerateOptions();
  o.sampling.top_p = -1;
  EXPECT_NE(f.session->begin(p.data(), 2, o).message().find("topP"), std::string::npos);
  o = GenerateOptions();
  EXPECT_NE(f.session->begin(p.data(), 0, o).message().find("empty"), std::string::npos);
  std::vector<int32_t> bad = {1, 99999};
  EXPECT_NE(f.session->begin(bad.data(), 2, o).message().find("out of range"), std::string::npos);
  o.sink_tokens = 64;
  EXPECT_NE(f.session->begin(p.data(), 2, o).message().find("less than the context size"), std::string::npos);
  Step st;
  EXPECT_FALSE(f.session->step(&st).ok()) << "no generation is running";
  // Still usable.
  o = greedy(3);
  ASSERT_TRUE(f.session->begin(p.data(), 2, o).ok());
  EXPECT_FALSE(f.session->begin(p.data(), 2, o).ok()) << "one generation at a time";
}

TEST(Session, SaveAndRestoreResumeExactly) {
  Fixture f(24);  // small: the continuation wraps the ring
  GenerateOptions o;
  o.sampling.seed = 77;
  o.sampling.temperature = 1.2f;
  o.sampling.repeat_penalty = 1.3f;  // the penalty history matters
  o.max_tokens = 10;
  std::vector<int32_t> t;
  std::string text;
  f.run({1, 270, 271}, o, &t, &text);
  ringlm::CheckedArray<uint8_t> state;
  ASSERT_TRUE(f.session->save(&state).ok());

  GenerateOptions more = o;
  more.keep_cache = true;
  more.reseed = false;  // go on with the generator's stream
  more.max_tokens = 40;
  std::vector<int32_t> a, b;
  std::string ta, tb;
  f.run({280}, more, &a, &ta);
  const int pos_a = f.engine->position();
  ASSERT_TRUE(f.session->restore(state.data(), state.size()).ok());
  f.run({280}, more, &b, &tb);
  EXPECT_EQ(a, b) << "the continuation after restore equals the uninterrupted one";
  EXPECT_EQ(ta, tb);
  EXPECT_EQ(f.engine->position(), pos_a);

  // Bad states are refused and change nothing.
  std::vector<uint8_t> cut(state.data(), state.data() + state.size() - 3);
  EXPECT_NE(f.session->restore(cut.data(), cut.size()).message().find("truncated or corrupt"), std::string::npos);
  std::vector<uint8_t> junk(64, 7);
  EXPECT_NE(f.session->restore(junk.data(), junk.size()).message().find("not a ringlm state"), std::string::npos);
  Fixture other_context(32);
  EXPECT_EQ(other_context.session->restore(state.data(), state.size()).message(),
            "the state was saved with contextSize 24; this model was loaded with contextSize 32");
  // The same shapes with other weights: only the file's fingerprint tells them apart.
  Fixture other_weights(24, 4);
  EXPECT_NE(other_weights.engine->fingerprint(), f.engine->fingerprint());
  EXPECT_NE(other_weights.session->restore(state.data(), state.size()).message().find("belongs to another model"),
            std::string::npos);
  EXPECT_EQ(other_weights.engine->position(), 0);
  // A state in an older layout (version 2 had no fingerprint) is refused by name.
  std::vector<uint8_t> old(state.data(), state.data() + state.size());
  old[4] = 2;
  EXPECT_EQ(f.session->restore(old.data(), old.size()).message(),
            "the state has format version 2; this ringlm reads version 3 only (save it again with this version)");
  EXPECT_EQ(f.engine->position(), pos_a);
}

// Where the kernels read Q4_K repacked (matmul.h: repacking_pays), a load rewrites the Q4_K matrices in
// place; the embeddings (read as rows, and here the tied output too) keep the file's layout, and the
// fingerprint is still that of the file's bytes.
TEST(Engine, RepackingKeepsTheFilesFingerprintAndLeavesTheEmbeddings) {
  test::LlamaShape shape;
  shape.dim = 256, shape.heads = 4, shape.kv_heads = 2, shape.ffn = 512, shape.layers = 1;
  shape.type = TensorType::Q4_K;
  shape.pieces = test::test_pieces();
  for (const bool tied : {false, true}) {
    shape.tied = tied;
    std::vector<uint8_t> bytes = test::make_llama(shape, 5);
    std::unique_ptr<Engine> e;
    ASSERT_TRUE(test::load_engine(bytes, &e, 32).ok());
    EXPECT_EQ(e->fingerprint(), Engine::fingerprint_of({{bytes.data(), bytes.size(), ""}}));
    const Model& m = e->model();
    for (const Weight* w : {&m.layers[0].wq, &m.layers[0].wk, &m.layers[0].wv, &m.layers[0].wo, &m.layers[0].w_gate,
                            &m.layers[0].w_up, &m.layers[0].w_down}) {
      EXPECT_EQ(w->repacked, repacking_pays(TensorType::Q4_K)) << w->name;
    }
    EXPECT_FALSE(m.token_embd.repacked);
    EXPECT_EQ(m.output.repacked, repacking_pays(TensorType::Q4_K) && !tied);
    // The embedding rows are the file's: token 7's row is where the file has it, unchanged.
    const GgufTensor* embd = nullptr;
    for (const GgufTensor& t : e->file().tensors()) embd = t.name == "token_embd.weight" ? &t : embd;
    ASSERT_NE(embd, nullptr);
    ASSERT_EQ(m.token_embd.data, embd->data);
    const uint8_t* in_file = bytes.data() + e->file().data_offset() + embd->offset + 7 * m.token_embd.row_bytes;
    EXPECT_EQ(0, std::memcmp(m.token_embd.row(7), in_file, m.token_embd.row_bytes));
    ASSERT_TRUE(e->decode(7).ok());
    for (size_t i = 0; i < e->logits_count(); i++) ASSERT_TRUE(std::isfinite(e->logits()[i]));
  }
}

TEST(Engine, FingerprintNamesTheFileBytes) {
  test::LlamaShape shape;
  shape.pieces = test::test_pieces();
  std::vector<uint8_t> bytes = test::make_llama(shape, 3);
  std::unique_ptr<Engine> a, b, c;
  ASSERT_TRUE(test::load_engine(bytes, &a, 32).ok());
  ASSERT_TRUE(test::load_engine(bytes, &b, 64).ok());
  EXPECT_EQ(a->fingerprint(), b->fingerprint()) << "the same file, whatever the context size";
  bytes[bytes.size() - 1] ^= 1;  // one bit of the last weight
  ASSERT_TRUE(test::load_engine(bytes, &c, 32).ok());
  EXPECT_NE(a->fingerprint(), c->fingerprint());
}

// kvCache off re-runs the whole sequence for every token; the same seed must give exactly the cached
// loop's tokens on every architecture (rotary and learned positions, biases, q/k norms, NoPE layers),
// greedy and sampled, and one time per generated token.
TEST(Session, NoCacheGivesTheCachedTokensOnEveryArchitecture) {
  for (const char* arch : {"llama", "qwen2", "gpt2", "qwen3", "smollm3"}) {
    for (float temperature : {0.0f, 0.9f}) {
      SCOPED_TRACE(std::string(arch) + " temperature " + std::to_string(temperature));
      test::LlamaShape shape;
      shape.arch = arch;
      shape.layers = 4;  // smollm3: the fourth layer has no RoPE
      shape.pieces = test::test_pieces();
      std::unique_ptr<Engine> engine;
      ASSERT_TRUE(test::load_engine(test::make_llama(shape, 3), &engine, 64).ok());
      Session session(*engine);
      std::vector<int32_t> runs[2];
      for (bool kv_cache : {true, false}) {
        GenerateOptions o;
        o.sampling.temperature = temperature;
        o.sampling.seed = 11;
        o.max_tokens = 30;
        o.prefill_chunk = 4;  // the prompt and every re-run in several chunks
        o.kv_cache = kv_cache;
        const std::vector<int32_t> prompt = {1, 270, 280, 290, 300, 271};  // seed 3 and this prompt: no model ends at once
        ASSERT_TRUE(session.begin(prompt.data(), int(prompt.size()), o).ok());
        Step st;
        do {
          ASSERT_TRUE(session.step(&st).ok());
          if (st.kind == Step::Kind::Token) runs[kv_cache].push_back(st.token);
        } while (st.finish == FinishReason::None);
        EXPECT_EQ(session.timings().token_ms.size(), runs[kv_cache].size() + (st.kind == Step::Kind::Done ? 1u : 0u))
            << "one time per sampled token (an end-of-generation token too)";
      }
      EXPECT_GE(runs[1].size(), 5u);
      EXPECT_EQ(runs[0], runs[1]);
    }
  }
}

TEST(Session, NoCacheAtTheContextEndsLikeTheCacheOrRefuses) {
  // `stop`: the re-run ends where the cached ring is full, with the same tokens.
  std::vector<int32_t> runs[2];
  Fixture f(20);
  for (bool kv_cache : {true, false}) {
    GenerateOptions o = greedy(1000);
    o.policy = ContextPolicy::Stop;
    o.sampling.repeat_penalty = 1.5f;
    o.kv_cache = kv_cache;
    std::string text;
    const FinishReason r = f.run({1, 270, 280, 290}, o, &runs[kv_cache], &text);
    EXPECT_EQ(r, FinishReason::Length);
    EXPECT_EQ(f.engine->position(), 20) << "the sequence fills the context exactly, as the cached ring does";
  }
  EXPECT_EQ(runs[0].size(), 17u);
  EXPECT_EQ(runs[0], runs[1]);

  // `sinks` / `shift` would drop tokens past the context, which a re-run cannot: refused, saying why.
  for (ContextPolicy policy : {ContextPolicy::Sinks, ContextPolicy::Shift}) {
    GenerateOptions o = greedy(17);
    o.policy = policy;
    o.kv_cache = false;
    const std::vector<int32_t> prompt = {1, 270, 280, 290};
    const Status s = f.session->begin(prompt.data(), 4, o);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("prompt 4 + maxTokens 17 tokens > contextSize 20"), std::string::npos) << s.message();
    o.max_tokens = 16;  // fits exactly
    EXPECT_TRUE(f.session->begin(prompt.data(), 4, o).ok());
    Step st;
    do ASSERT_TRUE(f.session->step(&st).ok());
    while (st.finish == FinishReason::None);
  }
  // Nothing to continue from without a cache.
  GenerateOptions o = greedy(4);
  o.kv_cache = false;
  o.keep_cache = true;
  const int32_t t = 270;
  const Status s = f.session->begin(&t, 1, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("keepCache needs the KV cache"), std::string::npos) << s.message();
}
