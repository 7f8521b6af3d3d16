// ringlm-cli — the native front end, used by tests and benchmarks.
//
//   ringlm-cli info   -m MODEL                          print the model's hyperparameters
//   ringlm-cli logits -m MODEL --tokens 1,2,3 -o OUT    teacher-forced logits of every position,
//                                                       n * vocab little-endian float32 to OUT
//   options: --ctx N (KV cache capacity), --decode K (run the last K tokens through decode())
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "ringlm-cli: %s\n", message.c_str());
  return 1;
}

bool read_file(const std::string& path, uint8_t** data, size_t* size, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::fseek(f, 0, SEEK_END);
  const long n = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  *data = static_cast<uint8_t*>(std::malloc(size_t(n > 0 ? n : 1)));
  *size = size_t(n);
  const bool ok = *data && std::fread(*data, 1, *size, f) == *size;
  std::fclose(f);
  if (!ok) *error = "cannot read '" + path + "'";
  return ok;
}

bool parse_tokens(const std::string& s, std::vector<int32_t>* out) {
  size_t i = 0;
  while (i < s.size()) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str() + i, &end, 10);
    if (end == s.c_str() + i) return false;
    out->push_back(int32_t(v));
    i = size_t(end - s.c_str());
    if (i < s.size() && s[i] == ',') i++;
  }
  return !out->empty();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::printf("usage: ringlm-cli info -m MODEL\n"
                "       ringlm-cli logits -m MODEL --tokens 1,2,3 -o OUT.f32 [--ctx N] [--decode K]\n");
    return argc < 2 ? 1 : 0;
  }
  const std::string command = argv[1];
  std::string model_path, out_path, tokens_arg;
  int ctx = 0, decode_count = 0;
  for (int i = 2; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    const char* v = nullptr;
    if ((a == "-m" || a == "--model") && (v = value("model"))) model_path = v;
    else if ((a == "-o" || a == "--out") && (v = value("out"))) out_path = v;
    else if (a == "--tokens" && (v = value("tokens"))) tokens_arg = v;
    else if (a == "--ctx" && (v = value("ctx"))) ctx = std::atoi(v);
    else if (a == "--decode" && (v = value("decode"))) decode_count = std::atoi(v);
    else return fail("unknown or incomplete option '" + a + "' (see --help)");
  }
  if (model_path.empty()) return fail("missing -m MODEL");

  uint8_t* data = nullptr;
  size_t size = 0;
  std::string error;
  if (!read_file(model_path, &data, &size, &error)) {
    std::free(data);
    return fail(error);
  }
  ringlm::EngineOptions options;
  options.context_size = ctx;
  std::unique_ptr<ringlm::Engine> engine;
  if (ringlm::Status s = ringlm::Engine::load(data, size, options, &engine); !s.ok()) {
    return fail(model_path + ": " + s.message());
  }
  const ringlm::Config& c = engine->model().config;

  if (command == "info") {
    std::printf("architecture %s\nvocab %d\ndim %d\nlayers %d\nheads %d\nkv_heads %d\nffn %d\ncontext %d\n",
                c.architecture.c_str(), c.vocab_size, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim,
                engine->context_size());
    return 0;
  }
  if (command == "logits") {
    std::vector<int32_t> tokens;
    if (!parse_tokens(tokens_arg, &tokens)) return fail("--tokens needs a comma-separated list of token ids");
    if (out_path.empty()) return fail("missing -o OUT");
    const int n = int(tokens.size());
    if (decode_count < 0 || decode_count >= n) return fail("--decode must be between 0 and the token count - 1");
    const size_t vocab = size_t(c.vocab_size);
    std::vector<float> all(size_t(n) * vocab);
    const int n_prefill = n - decode_count;
    if (ringlm::Status s = engine->prefill(tokens.data(), n_prefill, true); !s.ok()) return fail(s.message());
    std::memcpy(all.data(), engine->logits(), size_t(n_prefill) * vocab * sizeof(float));
    for (int i = n_prefill; i < n; i++) {
      if (ringlm::Status s = engine->decode(tokens[size_t(i)]); !s.ok()) return fail(s.message());
      std::memcpy(&all[size_t(i) * vocab], engine->logits(), vocab * sizeof(float));
    }
    FILE* f = std::fopen(out_path.c_str(), "wb");
    if (!f || std::fwrite(all.data(), sizeof(float), all.size(), f) != all.size()) return fail("cannot write '" + out_path + "'");
    std::fclose(f);
    return 0;
  }
  return fail("unknown command '" + command + "' (see --help)");
}
