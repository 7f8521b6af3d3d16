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
#include "generate/session.h"
#include "common/thread_pool.h"

using emscripten::val;

namespace {

class WasmEngine {
public:
  // `data` was _malloc'ed by JS and filled with the file; the engine owns it from here on. `pool`
  // (null in the single-threaded module) is the module's one ThreadPool, owned by JS.
  std::string load(uintptr_t data, size_t size, int context_size, double memory_limit, ringlm::ThreadPool* pool,
                   int threads) {
    ringlm::EngineOptions options;
    options.context_size = context_size;
    options.memory_limit = uint64_t(memory_limit);
    options.pool = pool;
    options.threads = threads;
    const ringlm::Status s = ringlm::Engine::load(reinterpret_cast<uint8_t*>(data), size, options, &engine_);
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
  std::string generate_begin(uintptr_t ids, int n, val o) {
    ringlm::GenerateOptions g;
    g.sampling.temperature = o["temperature"].as<float>();
    g.sampling.top_k = o["topK"].as<int>();
    g.sampling.top_p = o["topP"].as<float>();
    g.sampling.min_p = o["minP"].as<float>();
    g.sampling.repeat_penalty = o["repeatPenalty"].as<float>();
    g.sampling.presence_penalty = o["presencePenalty"].as<float>();
    g.sampling.frequency_penalty = o["frequencyPenalty"].as<float>();
    g.sampling.penalty_last_n = o["penaltyLastN"].as<int>();
    g.sampling.seed = uint64_t(o["seed"].as<double>());
    g.max_tokens = o["maxTokens"].as<int>();
    g.stop = emscripten::vecFromJSArray<std::string>(o["stop"]);
    g.stop_tokens = emscripten::vecFromJSArray<int32_t>(o["stopTokens"]);
    g.keep_cache = o["keepCache"].as<bool>();
    g.reseed = o["reseed"].as<bool>();
    if (ringlm::Status s = ringlm::parse_context_policy(o["contextPolicy"].as<std::string>(), &g.policy); !s.ok()) {
      return s.message();
    }
    g.anchors = o["anchors"].as<int>();
    g.prefill_chunk = o["prefillChunk"].as<int>();
    g.special = o["special"].as<bool>();
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

  // Snapshots: bytes out (copied into a JS Uint8Array), bytes in (_malloc'ed by JS, freed there).
  val save_state() {
    std::vector<uint8_t> bytes;
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
    return o;
  }

  // How full the KV ring is, for display.
  val cache_state() const {
    const ringlm::KvCache& c = engine_->cache();
    val o = val::object();
    o.set("position", engine_->position());
    o.set("kept", c.kept());
    o.set("capacity", c.capacity());
    o.set("dropped", double(c.dropped()));
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
    o.set("vocabSize", c.vocab_size);
    o.set("contextSize", engine_->context_size());
    o.set("trainedContextSize", c.context_length);
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
    o.set("weightBytesPerToken", double(engine_->model().weight_bytes()));
    o.set("kvBytes", double(engine_->kv_bytes()));
    o.set("scratchBytes", double(engine_->scratch_bytes()));
    o.set("memoryBytes", double(engine_->budget().total()));  // file + KV + scratch + logits, as planned
    double parameters = 0;
    for (const ringlm::GgufTensor& t : engine_->file().tensors()) parameters += double(t.n_elements());
    o.set("parameters", parameters);
    o.set("tiedOutput", engine_->model().tied_output);
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

// Bytes of the wasm heap in use (malloc'ed and not freed): what leak tests watch.
double heap_bytes_in_use() { return double(mallinfo().uordblks); }

EMSCRIPTEN_BINDINGS(ringlm) {
  emscripten::function("heapBytesInUse", &heap_bytes_in_use);
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
