// The generation options' table (generate/options.h): its defaults are GenerateOptions', every value out
// of range is refused with a message naming the option and the range, command-line text is parsed
// strictly, typos find the name meant, and the context policy a generation starts with is the model's.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "generate/options.h"
#include "generate/session.h"
#include "gguf_builder.h"
#include "test_util.h"

using namespace ringlm;

TEST(Options, NamesAndFlagsAreUniqueAndEachOptionHasItsOwnField) {
  std::set<std::string> names, flags;
  std::set<const void*> fields;
  GenerateOptions o;
  for (const OptionSpec& spec : generate_options()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    if (*spec.flag) EXPECT_TRUE(flags.insert(spec.flag).second) << spec.flag;
    EXPECT_NE(std::string(spec.doc), "") << spec.name;
    const OptionField f = spec.field(o);
    EXPECT_TRUE(fields.insert(std::visit([](auto* p) { return static_cast<const void*>(p); }, f)).second) << spec.name;
    EXPECT_EQ(find_option(spec.name), &spec);
    EXPECT_EQ(find_option_flag(spec.flag), *spec.flag ? &spec : nullptr);
  }
  EXPECT_STREQ(find_option("keepCache")->flag, "") << "one-shot command lines have nothing to continue";
  EXPECT_EQ(find_option("temprature"), nullptr);
  EXPECT_EQ(find_option_flag("temperature"), nullptr) << "the flag is --temp, as llama.cpp's";
}

TEST(Options, DefaultsAreGenerateOptionsAndLieInTheirRanges) {
  const GenerateOptions d;
  EXPECT_EQ(option_number(*find_option("maxTokens"), d), 256);
  EXPECT_EQ(option_number(*find_option("temperature"), d), 0.8) << "a float read back as the decimal it was written as";
  EXPECT_EQ(option_number(*find_option("topP"), d), 0.95);
  EXPECT_EQ(option_number(*find_option("minP"), d), 0.05);
  EXPECT_EQ(option_number(*find_option("topK"), d), 40);
  EXPECT_EQ(option_number(*find_option("keepCache"), d), 0);
  EXPECT_FALSE(d.policy.has_value()) << "the model chooses";
  EXPECT_STREQ(find_option("seed")->default_text, "random");
  EXPECT_TRUE(check_generate_options(d).ok());
}

TEST(Options, OutOfRangeValuesAreRefusedWithTheOptionAndItsRange) {
  GenerateOptions o;
  const auto set = [&](const char* name, double v) { return set_option_number(*find_option(name), v, &o).message(); };
  EXPECT_EQ(set("topP", 1.5), "topP must be a number in [0, 1] (got 1.5)");
  EXPECT_EQ(set("temperature", NAN), "temperature must be a number in [0, 1000000] (got NaN)");
  EXPECT_EQ(set("maxTokens", -1), "maxTokens must be an integer in [0, 2147483647] (got -1)");
  EXPECT_EQ(set("maxTokens", 3e9), "maxTokens must be an integer in [0, 2147483647] (got 3000000000)");
  EXPECT_EQ(set("topK", 2.5), "topK must be an integer in [0, 2147483647] (got 2.5)");
  EXPECT_EQ(set("repeatPenalty", 0), "repeatPenalty must be a number in (0, 1000000] (got 0)");
  EXPECT_EQ(set("prefillChunk", 0), "prefillChunk must be an integer in [1, 65536] (got 0)");
  EXPECT_EQ(set("presencePenalty", INFINITY), "presencePenalty must be a number in [-1000000, 1000000] (got Infinity)");
  EXPECT_EQ(set("seed", 9007199254740992.0), "seed must be an integer in [0, 9007199254740991] (got 9007199254740992)");
  EXPECT_TRUE(check_generate_options(o).ok()) << "refused values are not stored";

  EXPECT_EQ(set("topK", 7), "");
  EXPECT_EQ(o.sampling.top_k, 7);
  EXPECT_EQ(set("seed", 9007199254740991.0), "");
  EXPECT_EQ(o.sampling.seed, 9007199254740991ull);
  EXPECT_EQ(set("keepCache", 1), "");
  EXPECT_TRUE(o.keep_cache);

  // Values set directly in the struct are checked by begin() through the same table.
  o = GenerateOptions();
  o.sampling.top_p = -1;
  EXPECT_EQ(check_generate_options(o).message(), "topP must be a number in [0, 1] (got -1)");
  o = GenerateOptions();
  o.prefill_chunk = 0;
  EXPECT_NE(check_generate_options(o).message().find("prefillChunk"), std::string::npos);
  SamplingParams p;
  p.penalty_last_n = 1 << 21;
  EXPECT_EQ(check_sampling_params(p).message(), "penaltyLastN must be an integer in [0, 1048576] (got 2097152)");
}

TEST(Options, CommandLineTextIsParsedStrictly) {
  GenerateOptions o;
  const auto set = [&](const char* flag, const char* text) { return set_option_text(*find_option_flag(flag), text, &o).message(); };
  EXPECT_EQ(set("temp", "0.5"), "");
  EXPECT_FLOAT_EQ(o.sampling.temperature, 0.5f);
  EXPECT_EQ(set("temp", "0.5x"), "temperature must be a number in [0, 1000000] (got '0.5x')");
  EXPECT_EQ(set("temp", ""), "temperature must be a number in [0, 1000000] (got '')");
  EXPECT_EQ(set("top-k", "1.5"), "topK must be an integer in [0, 2147483647] (got 1.5)");
  EXPECT_EQ(set("context-policy", "shift"), "");
  EXPECT_EQ(o.policy.value_or(ContextPolicy::Stop), ContextPolicy::Shift);
  EXPECT_EQ(set("context-policy", "sink"), "contextPolicy must be one of 'stop', 'shift', 'sinks' (got 'sink')");
  EXPECT_EQ(set("stop", "\n\n"), "");
  EXPECT_EQ(set("stop", "END"), "");
  EXPECT_EQ(o.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(set("stop-tokens", "2,7"), "");
  EXPECT_EQ(o.stop_tokens, (std::vector<int32_t>{2, 7}));
  EXPECT_NE(set("stop-tokens", "2,,7"), "");
  EXPECT_NE(set("stop-tokens", "-1"), "");
  EXPECT_EQ(set("special", "true"), "");
  EXPECT_TRUE(o.special);
  EXPECT_EQ(option_rule(*find_option("contextPolicy")), "one of 'stop', 'shift', 'sinks'");
  EXPECT_EQ(option_choices(*find_option("contextPolicy")), (std::vector<std::string>{"stop", "shift", "sinks"}));
}

TEST(Options, ClosestNameFindsTyposAndNothingElse) {
  std::vector<std::string> names;
  for (const OptionSpec& spec : generate_options()) names.emplace_back(spec.name);
  EXPECT_EQ(closest_name("temprature", names), "temperature");
  EXPECT_EQ(closest_name("maxToken", names), "maxTokens");
  EXPECT_EQ(closest_name("topk", names), "topK");
  EXPECT_EQ(closest_name("top_p", names), "topP");
  EXPECT_EQ(closest_name("stopToken", names), "stopTokens");
  EXPECT_EQ(closest_name("contextpolicy", names), "contextPolicy");
  EXPECT_EQ(closest_name("banana", names), "");
  EXPECT_EQ(closest_name("x", names), "");
  EXPECT_EQ(closest_name("--temperature", {"--temp", "--top-k"}), "--temp") << "a lengthened name";
}

TEST(Options, TheContextPolicyDefaultsToTheModels) {
  std::unique_ptr<Engine> llama, gpt2;
  test::LlamaShape shape;
  shape.pieces = test::test_pieces();
  ASSERT_TRUE(test::load_engine(test::make_llama(shape, 3), &llama, 16).ok());
  shape.arch = "gpt2";
  ASSERT_TRUE(test::load_engine(test::make_llama(shape, 3), &gpt2, 16).ok());
  EXPECT_EQ(llama->default_context_policy(), ContextPolicy::Sinks);
  EXPECT_EQ(gpt2->default_context_policy(), ContextPolicy::Shift) << "learned positions cannot use sinks";
  EXPECT_NE(gpt2->context_policy_allowed(ContextPolicy::Sinks).message().find("learned positions"), std::string::npos);

  // A generation without a policy runs under the model's, with that policy's anchors.
  for (Engine* e : {llama.get(), gpt2.get()}) {
    Session session(*e);
    GenerateOptions o;
    o.sampling.temperature = 0;
    o.max_tokens = 40;  // past the 16-token ring: the policy acts
    o.sink_tokens = 2;
    o.keep_tokens = 3;
    const int32_t prompt[] = {1, 5};
    ASSERT_TRUE(session.begin(prompt, 2, o).ok());
    EXPECT_EQ(e->cache().policy(), e->default_context_policy());
    EXPECT_EQ(e->cache().anchors(), e == llama.get() ? 2 : 3);
    Step st;
    do {
      const Status s = session.step(&st);
      ASSERT_TRUE(s.ok()) << s.message();
    } while (st.finish == FinishReason::None);
    EXPECT_EQ(st.finish, FinishReason::Length);
    EXPECT_GT(e->cache().dropped(), 0);
  }
  // Asking gpt2 for sinks is refused before anything changes.
  Session session(*gpt2);
  GenerateOptions o;
  o.policy = ContextPolicy::Sinks;
  const int32_t prompt[] = {1, 5};
  EXPECT_NE(session.begin(prompt, 2, o).message().find("'sinks' needs rotary positions"), std::string::npos);
  EXPECT_FALSE(session.running());
}
