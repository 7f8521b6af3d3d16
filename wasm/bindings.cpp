// bindings.cpp — the Embind surface of the wasm module. It only converts data: pointers and
// numbers in, strings (error messages, "" for success) and typed-array views out. The JS class
// in ringlm.js turns a non-empty message into an Error; all logic lives in src/.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <malloc.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/engine.h"
#include "model/family.h"
#include "model/preflight.h"
#include "generate/options.h"
#include "generate/score.h"
#include "generate/session.h"
#include "common/thread_pool.h"

using emscripten::val;

namespace {

class WasmEngine {
public:
  // `data` was _malloc'ed by JS and filled with the file; the engine owns it from here on. `pool`
  // (null in the single-threaded module) is the module's one ThreadPool, owned by JS.
  // `parts`: [[address, size, name], ...], one per file part (one for a whole file), each _malloc'ed and
  // owned from here on; the name (a path or URL) is for messages.
  std::string load(val parts, int context_size, double memory_limit, ringlm::ThreadPool* pool, int threads) {
    std::vector<ringlm::Engine::FilePart> owned;
    const int n = parts["length"].as<int>();
    for (int i = 0; i < n; i++) {
      owned.push_back({reinterpret_cast<uint8_t*>(parts[i][0].as<uintptr_t>()), parts[i][1].as<size_t>(),
                       parts[i][2].as<std::string>()});
    }
    ringlm::EngineOptions options;
    options.context_size = context_size;
    options.memory_limit = uint64_t(memory_limit);
    options.pool = pool;
    options.threads = threads;
    const ringlm::Status s = ringlm::Engine::load(std::move(owned), options, &engine_);
    if (s.ok()) session_ = std::make_unique<ringlm::Session>(*engine_);
    return s.message();
  }

  std::string prefill(uintptr_t ids, int n, bool all_logits) {
    session_->set_pending_token(-1);  // the caller drives the cache by hand now
    return engine_->prefill(reinterpret_cast<const int32_t*>(ids), n, all_logits).message();
  }
  std::string decode(int id) {
    session_->set_pending_token(-1);
    return engine_->decode(id).message();
  }
  void reset() {
    engine_->reset();
    session_->reset();
  }

  // --- generation: begin, then step until a step says it is the last ---
  // `o`: the options ringlm.js checked against the schema below; those it leaves out keep their defaults.
  // `reseed`: a continuation restarts the sampler's generator from the seed (JS decides: a seed was given).
  std::string generate_begin(uintptr_t ids, int n, val o, bool reseed) {
    ringlm::GenerateOptions g;
    g.reseed = reseed;
    for (const ringlm::OptionSpec& spec : ringlm::generate_options()) {
      if (ringlm::Status s = read_option(spec, o[spec.name], &g); !s.ok()) return s.message();
    }
    return session_->begin(reinterpret_cast<const int32_t*>(ids), n, g).message();
  }

  // {kind: 'prefill'|'token'|'done', token, text, promptDone, finishReason} or {error}
  val generate_step() {
    ringlm::Step st;
    val r = val::object();
    if (ringlm::Status s = session_->step(&st); !s.ok()) {
      r.set("error", s.message());
      return r;
    }
    r.set("kind", st.kind == ringlm::Step::Kind::Prefill ? "prefill" : st.kind == ringlm::Step::Kind::Token ? "token" : "done");
    r.set("token", st.token);
    r.set("text", st.text);
    r.set("promptDone", st.prompt_done);
    r.set("finishReason", std::string(ringlm::finish_reason_name(st.finish)));
    return r;
  }
  void generate_abort() { session_->abort(); }

  // With the logprobs option, after a 'token' step: {id, logprob, top: [{id, logprob}]} (JS adds the texts).
  val token_logprobs() const {
    const ringlm::TokenLogprobs* lp = session_->logprobs();
    if (!lp) return val::null();
    const auto entry = [](ringlm::TokenLogprob t) {
      val e = val::object();
      e.set("id", t.id);
      e.set("logprob", t.logprob);
      return e;
    };
    val top = val::array();
    for (int i = 0; i < lp->top_count(); i++) top.call<void>("push", entry(lp->top()[i]));
    val o = entry(lp->chosen());
    o.set("top", top);
    return o;
  }

  // Teacher-forced log-probabilities of `n` ids JS placed in the heap (generate/score.h):
  // {logprobs: Float32Array(n - 1), sum, perplexity, windows} or {error}.
  val score(uintptr_t ids, int n, int stride) {
    val r = val::object();
    if (session_->running()) {
      r.set("error", std::string("a generation is running on this model"));
      return r;
    }
    session_->set_pending_token(-1);  // the cache is emptied: nothing is left to continue
    ringlm::ScoreResult result;
    if (ringlm::Status s = ringlm::score_tokens(*engine_, reinterpret_cast<const int32_t*>(ids), n, stride, &result); !s.ok()) {
      r.set("error", s.message());
      return r;
    }
    r.set("logprobs", val(emscripten::typed_memory_view(result.logprobs.size(), result.logprobs.data())).call<val>("slice"));
    r.set("sum", result.sum);
    r.set("perplexity", result.perplexity);
    r.set("windows", result.windows);
    return r;
  }

  // Snapshots: bytes out (copied into a JS Uint8Array), bytes in (_malloc'ed by JS, freed there).
  val save_state() {
    ringlm::CheckedArray<uint8_t> bytes;
    if (ringlm::Status s = session_->save(&bytes); !s.ok()) return val(s.message());
    return val(emscripten::typed_memory_view(bytes.size(), bytes.data())).call<val>("slice");
  }
  std::string restore_state(uintptr_t data, size_t size) {
    return session_->restore(reinterpret_cast<const uint8_t*>(data), size).message();
  }
  bool generating() const { return session_->running(); }

  val timings() const {
    const ringlm::Timings& t = session_->timings();
    val o = val::object();
    o.set("promptTokens", t.prompt_tokens);
    o.set("generatedTokens", t.generated_tokens);
    o.set("prefillMs", t.prefill_ms);
    o.set("prefillTokensPerSecond", t.prefill_tokens_per_s());
    o.set("decodeMs", t.decode_ms);
    o.set("decodeTokensPerSecond", t.decode_tokens_per_s());
    val times = val(emscripten::typed_memory_view(t.token_ms.size(), t.token_ms.data()));
    o.set("perTokenMs", val::global("Array").call<val>("from", times));  // a copy: the view dies with the session
    return o;
  }

  // How full the KV ring is and which positions it keeps, for display. The window is the one the newest token
  // attended to (the next token's starts one later under 'sinks'), so that dropped = windowStart - anchors.
  val cache_state() const {
    const ringlm::KvCache& c = engine_->cache();
    const int32_t newest = c.next_position() > 0 ? c.next_position() - 1 : 0;
    val o = val::object();
    o.set("position", engine_->position());
    o.set("kept", c.kept());
    o.set("capacity", c.capacity());
    o.set("dropped", double(c.dropped()));
    o.set("policy", std::string(ringlm::context_policy_name(c.policy())));
    o.set("anchors", c.anchors());
    o.set("windowStart", c.window_start(newest));
    return o;
  }
  int position() const { return engine_->position(); }

  // A view of the logits in the wasm heap: valid until the next call; JS copies it.
  val logits() const { return val(emscripten::typed_memory_view(engine_->logits_count(), engine_->logits())); }

  val info() const {
    const ringlm::Config& c = engine_->model().config;
    val types = val::array();
    for (const std::string& t : engine_->tensor_types()) types.call<void>("push", t);
    val o = val::object();
    o.set("architecture", c.architecture);
    o.set("family", ringlm::architecture_family(c.architecture));
    o.set("vocabSize", c.vocab_size);
    o.set("contextSize", engine_->context_size());
    o.set("trainedContextSize", c.context_length);
    o.set("contextLimitedBy", std::string(ringlm::context_limit_name(engine_->context_limited_by())));
    o.set("embeddingSize", c.dim);
    o.set("layers", c.n_layers);
    o.set("heads", c.n_heads);
    o.set("kvHeads", c.n_kv_heads);
    o.set("headSize", c.head_dim);
    o.set("feedForwardSize", c.ffn_dim);
    o.set("ropeBase", c.rope_base);
    const ringlm::RopeStyle rope = engine_->model().arch->rope;
    o.set("positionEncoding", engine_->model().arch->learned_positions ? "learned"
                              : rope == ringlm::RopeStyle::Neox      ? "rope-neox"
                                                                     : "rope");
    o.set("tensorTypes", types);
    o.set("fileBytes", double(engine_->file_bytes()));
    o.set("fileParts", engine_->file_parts());
    o.set("weightBytesPerToken", double(engine_->model().weight_bytes()));
    o.set("kvBytes", double(engine_->kv_bytes()));
    o.set("scratchBytes", double(engine_->scratch_bytes()));
    o.set("memoryBytes", double(engine_->budget().total()));  // file + KV + scratch + logits, as planned
    double parameters = 0;
    for (const ringlm::GgufTensor& t : engine_->file().tensors()) parameters += double(t.n_elements());
    o.set("parameters", parameters);
    o.set("tiedOutput", engine_->model().tied_output);
    val policies = val::array();
    for (ringlm::ContextPolicy p : ringlm::kContextPolicies) {
      if (engine_->context_policy_allowed(p).ok()) policies.call<void>("push", std::string(ringlm::context_policy_name(p)));
    }
    o.set("contextPolicies", policies);
    o.set("defaultContextPolicy", std::string(ringlm::context_policy_name(engine_->default_context_policy())));
    o.set("threads", engine_->threads());
    return o;
  }

  // The file's metadata: scalars and strings by key. Arrays (the vocabulary, merges...) are left out; 64-bit
  // integers past 2^53 lose precision as JS numbers.
  val metadata() const {
    val o = val::object();
    for (const ringlm::GgufKV& kv : engine_->file().metadata()) {
      const ringlm::GgufValue& v = kv.value;
      const std::string key(kv.key);
      switch (v.type) {
        case ringlm::GgufValueType::STRING: o.set(key, std::string(v.str)); break;
        case ringlm::GgufValueType::ARRAY: break;
        case ringlm::GgufValueType::BOOL: o.set(key, v.u64 != 0); break;
        default: o.set(key, v.f64); break;  // every number type is decoded into f64 too
      }
    }
    return o;
  }

  // --- tokenizer: results are read through views of the buffers below, valid until the next call ---

  // `text`: `size` bytes JS placed in the heap (UTF-8, or any bytes).
  std::string tokenize(uintptr_t text, size_t size, bool add_bos, bool add_eos, bool special) {
    const ringlm::Tokenizer* t = nullptr;
    if (ringlm::Status s = engine_->tokenizer(&t); !s.ok()) return s.message();
    ringlm::TokenizeOptions o;
    o.add_bos = add_bos;
    o.add_eos = add_eos;
    o.parse_special = special;
    token_ids_.clear();
    return t->tokenize(std::string_view(reinterpret_cast<const char*>(text), size), o, &token_ids_).message();
  }
  val token_ids() const { return val(emscripten::typed_memory_view(token_ids_.size(), token_ids_.data())); }

  // Text (valid UTF-8) of `n` ids JS placed in the heap.
  std::string detokenize(uintptr_t ids, int n, bool special, bool strip_leading_space) {
    const ringlm::Tokenizer* t = nullptr;
    if (ringlm::Status s = engine_->tokenizer(&t); !s.ok()) return s.message();
    return t->detokenize(reinterpret_cast<const int32_t*>(ids), size_t(n > 0 ? n : 0),
                         detokenize_options(special, strip_leading_space), &text_).message();
  }
  // The bytes token `id` stands for (maybe part of a character: JS's streaming TextDecoder joins them).
  std::string piece(int id, bool special) {
    const ringlm::Tokenizer* t = nullptr;
    if (ringlm::Status s = engine_->tokenizer(&t); !s.ok()) return s.message();
    std::string_view p;
    if (ringlm::Status s = t->piece(id, special, &p); !s.ok()) return s.message();
    text_.assign(p);
    return "";
  }
  val text_bytes() const { return val(emscripten::typed_memory_view(text_.size(), reinterpret_cast<const uint8_t*>(text_.data()))); }

  // The vocabulary's kind, special tokens and flags; null when the file has no tokenizer ringlm implements.
  val tokenizer_info() const {
    const ringlm::Tokenizer* t = nullptr;
    if (!engine_->tokenizer(&t).ok()) return val::null();
    const auto id = [](int32_t v) { return v < 0 ? val::null() : val(v); };
    val ends = val::array();
    for (int32_t e : t->end_of_generation()) ends.call<void>("push", e);
    val o = val::object();
    o.set("model", t->model());
    o.set("pre", t->pre());
    o.set("tokenCount", t->n_tokens());
    o.set("bos", id(t->bos()));
    o.set("eos", id(t->eos()));
    o.set("eot", id(t->eot()));
    o.set("unknown", id(t->unknown()));
    o.set("padding", id(t->padding()));
    o.set("endOfGeneration", ends);
    o.set("addBos", t->add_bos());
    o.set("addEos", t->add_eos());
    o.set("addSpacePrefix", t->add_space_prefix());
    return o;
  }

private:
  // One option's JS value into `g` (undefined: the default).
  static ringlm::Status read_option(const ringlm::OptionSpec& spec, const val& v, ringlm::GenerateOptions* g) {
    if (v.isUndefined() || v.isNull()) return ringlm::Status();
    switch (spec.kind) {
      case ringlm::OptionKind::Integer:
      case ringlm::OptionKind::Number: return ringlm::set_option_number(spec, v.as<double>(), g);
      case ringlm::OptionKind::Boolean: return ringlm::set_option_number(spec, v.as<bool>() ? 1 : 0, g);
      case ringlm::OptionKind::Choice:
      case ringlm::OptionKind::Text: return ringlm::set_option_text(spec, v.as<std::string>(), g);
      case ringlm::OptionKind::Strings:
        for (const std::string& text : emscripten::vecFromJSArray<std::string>(v)) RINGLM_TRY(ringlm::set_option_text(spec, text, g));
        return ringlm::Status();
      case ringlm::OptionKind::TokenIds:
        *std::get<std::vector<int32_t>*>(spec.field(*g)) = emscripten::vecFromJSArray<int32_t>(v);
        return ringlm::Status();
      case ringlm::OptionKind::TokenBias:  // [[id, bias], ...], as lib/options.js shapes the map
        for (const val& pair : emscripten::vecFromJSArray<val>(v)) {
          RINGLM_TRY(ringlm::add_option_token_bias(spec, pair[0].as<double>(), pair[1].as<double>(), g));
        }
        return ringlm::Status();
    }
    return ringlm::Status();
  }

  static ringlm::DetokenizeOptions detokenize_options(bool special, bool strip_leading_space) {
    ringlm::DetokenizeOptions o;
    o.special = special;
    o.strip_leading_space = strip_leading_space;
    return o;
  }

  std::vector<int32_t> token_ids_;
  std::string text_;
  std::unique_ptr<ringlm::Engine> engine_;
  std::unique_ptr<ringlm::Session> session_;  // after engine_: destroyed first
};

}  // namespace

// The generation options' schema (src/generate/options.h) as data: [{ name, flag, type, default,
// defaultText, min, max, minExclusive, values, doc }]. `default` is null where there is no fixed one
// (defaultText then says what is used); min/max for numbers, values for choices.
val generate_option_schema() {
  const ringlm::GenerateOptions defaults;
  val list = val::array();
  for (const ringlm::OptionSpec& spec : ringlm::generate_options()) {
    val o = val::object();
    o.set("name", std::string(spec.name));
    o.set("flag", std::string(spec.flag));
    o.set("type", std::string(ringlm::option_kind_name(spec.kind)));
    val fallback = val::null();
    if (spec.default_text) {
      o.set("defaultText", std::string(spec.default_text));
    } else if (spec.kind == ringlm::OptionKind::Boolean) {
      fallback = val(ringlm::option_number(spec, defaults) != 0);
    } else if (spec.kind == ringlm::OptionKind::Strings || spec.kind == ringlm::OptionKind::TokenIds) {
      fallback = val::array();
    } else {
      fallback = val(ringlm::option_number(spec, defaults));
    }
    o.set("default", fallback);
    if (spec.kind == ringlm::OptionKind::Integer || spec.kind == ringlm::OptionKind::Number) {
      o.set("min", spec.min);
      o.set("max", spec.max);
      o.set("minExclusive", spec.min_exclusive);
    }
    if (spec.kind == ringlm::OptionKind::Choice) {
      val values = val::array();
      for (const std::string& name : ringlm::option_choices(spec)) values.call<void>("push", name);
      o.set("values", values);
    }
    o.set("rule", ringlm::option_rule(spec));
    o.set("doc", std::string(spec.doc));
    list.call<void>("push", o);
  }
  return list;
}

// Of `known` (an array of strings), the one `name` is most likely a typo of, or "".
std::string closest_name(const std::string& name, val known) {
  return ringlm::closest_name(name, emscripten::vecFromJSArray<std::string>(known));
}

// What loading a model would take, from its files' first bytes (src/model/preflight.h). `parts`:
// [[address, bytes there, file size, name], ...], read during the call only. Returns { error } or
// { needPart, needBytes } (more of that part's header first) or { contextSize, contextLimitedBy,
// architecture, fileBytes, kvBytes, scratchBytes, totalBytes }.
val preflight(val parts, int context_size, double memory_limit, ringlm::ThreadPool* pool, int threads) {
  std::vector<ringlm::HeaderPart> headers;
  const int n = parts["length"].as<int>();
  for (int i = 0; i < n; i++) {
    headers.push_back({reinterpret_cast<const uint8_t*>(parts[i][0].as<uintptr_t>()), parts[i][1].as<size_t>(),
                       uint64_t(parts[i][2].as<double>()), parts[i][3].as<std::string>()});
  }
  ringlm::EngineOptions options;
  options.context_size = context_size;
  options.memory_limit = uint64_t(memory_limit);
  options.pool = pool;
  options.threads = threads;
  ringlm::Preflight p;
  const ringlm::Status s = ringlm::preflight(headers, options, &p);
  val o = val::object();
  if (!s.ok()) {
    o.set("error", s.message());
  } else if (p.need_part >= 0) {
    o.set("needPart", p.need_part);
    o.set("needBytes", double(p.need_bytes));
  } else {
    const ringlm::MemoryBudget& b = p.fit.budget;
    o.set("contextSize", p.fit.context_size);
    o.set("contextLimitedBy", std::string(ringlm::context_limit_name(p.fit.limited_by)));
    o.set("architecture", p.architecture);
    o.set("fileBytes", double(b.file_bytes));
    o.set("kvBytes", double(b.kv_bytes));
    o.set("scratchBytes", double(b.scratch_bytes + b.logits_bytes));
    o.set("totalBytes", double(b.total()));
  }
  return o;
}

// Bytes of the wasm heap in use (malloc'ed and not freed): what leak tests watch.
double heap_bytes_in_use() { return double(mallinfo().uordblks); }

EMSCRIPTEN_BINDINGS(ringlm) {
  emscripten::function("heapBytesInUse", &heap_bytes_in_use);
  emscripten::function("generateOptionSchema", &generate_option_schema);
  emscripten::function("closestName", &closest_name);
  emscripten::function("preflight", &preflight, emscripten::allow_raw_pointers());
  // Threads that engines use in turn; JS makes one per module (the threaded one) and never frees it.
  emscripten::class_<ringlm::ThreadPool>("ThreadPool")
      .constructor<int>()
      .function("size", &ringlm::ThreadPool::size);
  emscripten::class_<WasmEngine>("Engine")
      .constructor<>()
      .function("load", &WasmEngine::load, emscripten::allow_raw_pointers())
      .function("prefill", &WasmEngine::prefill)
      .function("decode", &WasmEngine::decode)
      .function("reset", &WasmEngine::reset)
      .function("position", &WasmEngine::position)
      .function("logits", &WasmEngine::logits)
      .function("info", &WasmEngine::info)
      .function("metadata", &WasmEngine::metadata)
      .function("generateBegin", &WasmEngine::generate_begin)
      .function("generateStep", &WasmEngine::generate_step)
      .function("generateAbort", &WasmEngine::generate_abort)
      .function("tokenLogprobs", &WasmEngine::token_logprobs)
      .function("score", &WasmEngine::score)
      .function("saveState", &WasmEngine::save_state)
      .function("restoreState", &WasmEngine::restore_state)
      .function("generating", &WasmEngine::generating)
      .function("timings", &WasmEngine::timings)
      .function("cacheState", &WasmEngine::cache_state)
      .function("tokenize", &WasmEngine::tokenize)
      .function("tokenIds", &WasmEngine::token_ids)
      .function("detokenize", &WasmEngine::detokenize)
      .function("piece", &WasmEngine::piece)
      .function("textBytes", &WasmEngine::text_bytes)
      .function("tokenizerInfo", &WasmEngine::tokenizer_info);
}
