// bindings.cpp — the Embind surface of the wasm module. It only converts data: pointers and
// numbers in, strings (error messages, "" for success) and typed-array views out. The JS class
// in ringlm.js turns a non-empty message into an Error; all logic lives in src/.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <memory>
#include <string>

#include "engine.h"

using emscripten::val;

namespace {

class WasmEngine {
public:
  // `data` was _malloc'ed by JS and filled with the file; the engine owns it from here on.
  std::string load(uintptr_t data, size_t size, int context_size) {
    ringlm::EngineOptions options;
    options.context_size = context_size;
    return ringlm::Engine::load(reinterpret_cast<uint8_t*>(data), size, options, &engine_).message();
  }

  std::string prefill(uintptr_t ids, int n, bool all_logits) {
    return engine_->prefill(reinterpret_cast<const int32_t*>(ids), n, all_logits).message();
  }
  std::string decode(int id) { return engine_->decode(id).message(); }
  void reset() { engine_->reset(); }
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
    o.set("tensorTypes", types);
    o.set("fileBytes", double(engine_->file_bytes()));
    o.set("weightBytesPerToken", double(engine_->model().weight_bytes()));
    o.set("kvBytes", double(engine_->kv_bytes()));
    o.set("scratchBytes", double(engine_->scratch_bytes()));
    return o;
  }

private:
  std::unique_ptr<ringlm::Engine> engine_;
};

}  // namespace

EMSCRIPTEN_BINDINGS(ringlm) {
  emscripten::class_<WasmEngine>("Engine")
      .constructor<>()
      .function("load", &WasmEngine::load)
      .function("prefill", &WasmEngine::prefill)
      .function("decode", &WasmEngine::decode)
      .function("reset", &WasmEngine::reset)
      .function("position", &WasmEngine::position)
      .function("logits", &WasmEngine::logits)
      .function("info", &WasmEngine::info);
}
