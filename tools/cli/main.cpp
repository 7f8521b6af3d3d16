// ringlm-cli — the native front end, used by tests and benchmarks.
//
//   ringlm-cli info   -m MODEL                          print the model's hyperparameters
//   ringlm-cli logits -m MODEL --tokens 1,2,3 -o OUT    teacher-forced logits of every position,
//                                                       n * vocab little-endian float32 to OUT
//   options: --ctx N (KV cache capacity), --decode K (run the last K tokens through decode()),
//            --threads N (threads sharing the work; default 1)
//   ringlm-cli score  -m MODEL --tokens 1,2,3 [--ctx N] [--stride N]
//                                                       each token's log-probability given those before it, one
//                                                       per line (%.9g), then "sum S perplexity P windows W"
//   ringlm-cli bench  -m MODEL [--reps N] [--only decode,prefill,cache,stream,ttft] [--threads N] [--pin-threads]
//                                                       timings for bench/run.mjs, as one JSON object; with
//                                                       "threadStats": the pool's and the governor's counts
//                                                       over the timed decode and prefill parts; --pin-threads:
//                                                       every layer on --threads threads, no governor
//   ringlm-cli tokenize   -m MODEL (--text TEXT | --batch FILE) [--special] [--bos|--no-bos] [--eos|--no-eos]
//                                                       token ids, comma-separated (BOS/EOS: the model's default)
//   ringlm-cli detokenize -m MODEL (--tokens 1,2,3 | --batch FILE) [--special] [--keep-space] [--stream]
//                                                       the text (--stream: through the streaming TextDecoder)
//   ringlm-cli prefill -m MODEL --tokens 1,2,3 -o STATE [--ctx N]
//                                                       run the tokens into the cache and write the session's
//                                                       state (what RingLM.restoreState reads, in any build)
//   ringlm-cli generate -m MODEL --tokens 1,2,3 [--state STATE] [generation options]
//                                                       sampled ids; --state restores a saved state first
//   --batch FILE: one input per line (tokenize: the text's bytes in hex; detokenize: comma-separated ids),
//   one output line each (tokenize: ids; detokenize: the text's bytes in hex), or "error: MESSAGE".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/engine.h"
#include "generate/options.h"
#include "generate/score.h"
#include "generate/session.h"
#include "kernels/stream_read.h"

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

// The files of a model: `path`, or, when it names the first part of a split file in gguf-split's
// layout (NAME-00001-of-0000N.gguf), every part's path in order.
std::vector<std::string> split_part_paths(const std::string& path) {
  const std::string tail = "-00001-of-00000.gguf";
  if (path.size() < tail.size()) return {path};
  const std::string end = path.substr(path.size() - tail.size());
  const auto digits = [&](size_t at) {
    return std::all_of(end.begin() + long(at), end.begin() + long(at) + 5, [](char c) { return c >= '0' && c <= '9'; });
  };
  if (end.compare(0, 6, "-00001") != 0 || end.compare(6, 4, "-of-") != 0 || !digits(10) || end.compare(15, 5, ".gguf") != 0) return {path};
  const int count = std::atoi(end.substr(10, 5).c_str());
  const std::string stem = path.substr(0, path.size() - tail.size());
  std::vector<std::string> paths;
  for (int i = 1; i <= count; i++) {
    char name[32];
    std::snprintf(name, sizeof name, "-%05d-of-%05d.gguf", i, count);
    paths.push_back(stem + name);
  }
  return paths.empty() ? std::vector<std::string>{path} : paths;
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

// ---------------------------------------------------------------------------------------------
// bench: the native side of bench/run.mjs. Token ids follow bench/run.mjs's formula, so every
// implementation runs the same sequence; decode is teacher-forced (no sampling cost).
// ---------------------------------------------------------------------------------------------

int32_t bench_token(int i, int vocab) { return i == 0 ? 1 : int32_t(3 + (int64_t(i) * 7919 + 13) % (vocab - 3)); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string json_array(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

// Prompt of `n_prompt` tokens, then `n_new` teacher-forced decode steps; returns decode seconds.
bool time_decode(ringlm::Engine& e, const std::vector<int32_t>& tokens, int n_prompt, int n_new, double* seconds,
                 std::string* error) {
  e.reset();
  if (ringlm::Status s = e.prefill(tokens.data(), n_prompt, false); !s.ok()) return *error = s.message(), false;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = n_prompt; i < n_prompt + n_new; i++) {
    if (ringlm::Status s = e.decode(tokens[size_t(i)]); !s.ok()) return *error = s.message(), false;
  }
  *seconds = seconds_since(t0);
  return true;
}

// Seconds to produce the logits of positions n_prompt-1 .. n_prompt+n_new-2 by re-running the whole
// sequence from an empty cache at every step (what a decoder without a KV cache does).
bool time_recompute(ringlm::Engine& e, const std::vector<int32_t>& tokens, int n_prompt, int n_new, double* seconds,
                    std::string* error) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n_new; i++) {
    e.reset();
    if (ringlm::Status s = e.prefill(tokens.data(), n_prompt + i, false); !s.ok()) return *error = s.message(), false;
  }
  *seconds = seconds_since(t0);
  return true;
}

// What the threads did over the timed parts of one kind (decode, prefill), summed over repetitions:
// the pool's counts (thread_pool.h) and the governor's (thread_governor.h), for "threadStats".
struct ThreadCounts {
  ringlm::ThreadPool::Stats pool;
  ringlm::ThreadGovernor::Stats governor;
  int tokens = 0;
};

// Runs fn() and adds what the pool and the governor counted meanwhile to `counts`.
template <typename Fn>
bool counted(ringlm::Engine& e, ringlm::ThreadPool& pool, int tokens, ThreadCounts* counts, const Fn& fn) {
  const ringlm::ThreadPool::Stats p0 = pool.stats();
  const ringlm::ThreadGovernor::Stats g0 = e.thread_governor().stats();
  if (!fn()) return false;
  const ringlm::ThreadPool::Stats p1 = pool.stats();
  const ringlm::ThreadGovernor::Stats g1 = e.thread_governor().stats();
  counts->pool.jobs += p1.jobs - p0.jobs;
  counts->pool.items += p1.items - p0.items;
  counts->pool.caller_items += p1.caller_items - p0.caller_items;
  counts->pool.caller_wait_seconds += p1.caller_wait_seconds - p0.caller_wait_seconds;
  counts->pool.caller_sleeps += p1.caller_sleeps - p0.caller_sleeps;
  counts->governor.layers_on_all += g1.layers_on_all - g0.layers_on_all;
  counts->governor.layers_on_one += g1.layers_on_one - g0.layers_on_one;
  counts->governor.probes += g1.probes - g0.probes;
  counts->governor.switches += g1.switches - g0.switches;
  counts->tokens += tokens;
  return true;
}

std::string thread_counts_json(const ThreadCounts& c) {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "{\"tokens\":%d,\"loops\":%llu,\"items\":%llu,\"callerItems\":%llu,\"callerWaitSec\":%.6g,"
                "\"callerSleeps\":%llu,\"layersOnAll\":%llu,\"layersOnOne\":%llu,\"probes\":%llu,\"switches\":%llu}",
                c.tokens, (unsigned long long)c.pool.jobs, (unsigned long long)c.pool.items,
                (unsigned long long)c.pool.caller_items, c.pool.caller_wait_seconds, (unsigned long long)c.pool.caller_sleeps,
                (unsigned long long)c.governor.layers_on_all, (unsigned long long)c.governor.layers_on_one,
                (unsigned long long)c.governor.probes, (unsigned long long)c.governor.switches);
  return buf;
}

int bench(ringlm::Engine& e, ringlm::ThreadPool& pool, int reps, const std::string& only) {
  const int vocab = e.model().config.vocab_size;
  const auto wants = [&](const char* what) { return only.empty() || only.find(what) != std::string::npos; };
  const bool ttft = only.find("ttft") != std::string::npos;  // only when asked: it needs --ctx of at least 512
  std::vector<int32_t> tokens(512);
  for (int i = 0; i < 512; i++) tokens[size_t(i)] = bench_token(i, vocab);
  if (e.context_size() < (ttft ? 512 : 130)) return fail(ttft ? "bench --only ttft needs --ctx of at least 512" : "bench needs --ctx of at least 130");
  std::string error;
  std::vector<double> decode, prefill, cached, recompute, stream, first_token;
  ThreadCounts decode_counts, prefill_counts;
  {  // untimed warm-up: the first pass over the weights and the scratch buffers
    double t = 0;
    if (!time_decode(e, tokens, 16, 4, &t, &error)) return fail(error);
  }
  for (int r = 0; r < reps; r++) {
    double t = 0;
    if (wants("decode")) {  // 64 tokens after a 16-token prompt (the counts include the prompt's pass)
      if (!counted(e, pool, 64, &decode_counts, [&] { return time_decode(e, tokens, 16, 64, &t, &error); })) return fail(error);
      decode.push_back(64 / t);
    }
    if (wants("prefill")) {  // a 128-token prompt
      e.reset();
      const auto t0 = std::chrono::steady_clock::now();
      ringlm::Status s;
      counted(e, pool, 128, &prefill_counts, [&] { return (s = e.prefill(tokens.data(), 128, false)).ok(); });
      if (!s.ok()) return fail(s.message());
      prefill.push_back(128 / seconds_since(t0));
    }
    if (wants("cache")) {  // 100 tokens after a 29-token prompt, with the cache and without
      e.reset();
      const auto t0 = std::chrono::steady_clock::now();
      if (!time_decode(e, tokens, 29, 100, &t, &error)) return fail(error);
      cached.push_back(seconds_since(t0));
      if (!time_recompute(e, tokens, 29, 100, &t, &error)) return fail(error);
      recompute.push_back(t);
    }
    if (ttft) {  // time to first token: a 512-token prompt to its last token's logits
      e.reset();
      const auto t0 = std::chrono::steady_clock::now();
      if (ringlm::Status s = e.prefill(tokens.data(), 512, false); !s.ok()) return fail(s.message());
      first_token.push_back(seconds_since(t0));
    }
    if (wants("stream")) {  // one pass per layout (src/kernels/stream_read.h)
      static ringlm::bench::StreamReader reader(256);
      for (int parts : {1, 2, 4, 8}) stream.push_back(reader.gbps(parts));
    }
  }
  std::printf("{\"weightBytesPerToken\":%llu,\"decodeTokPerSec\":%s,\"prefillTokPerSec\":%s,"
              "\"withCacheSec\":%s,\"recomputeSec\":%s,\"streamGBps\":%s,\"ttft512Sec\":%s,"
              "\"threadStats\":{\"decode\":%s,\"prefill\":%s}}\n",
              (unsigned long long)e.model().weight_bytes(), json_array(decode).c_str(), json_array(prefill).c_str(),
              json_array(cached).c_str(), json_array(recompute).c_str(), json_array(stream).c_str(),
              json_array(first_token).c_str(), thread_counts_json(decode_counts).c_str(),
              thread_counts_json(prefill_counts).c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// tokenize / detokenize
// ---------------------------------------------------------------------------------------------

struct TokenizerArgs {
  std::string text, batch;
  bool has_text = false, special = false, keep_space = false, stream = false;
  int bos = -1, eos = -1;  // -1: the model's default
};

bool read_lines(const std::string& path, std::vector<std::string>* lines) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::string line;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    if (c == '\n') {
      lines->push_back(line);
      line.clear();
    } else if (c != '\r') {
      line += char(c);
    }
  }
  if (!line.empty()) lines->push_back(line);
  std::fclose(f);
  return true;
}

bool from_hex(const std::string& hex, std::string* out) {
  const auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  if (hex.size() % 2) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (digit(hex[i]) < 0 || digit(hex[i + 1]) < 0) return false;
    out->push_back(char(digit(hex[i]) * 16 + digit(hex[i + 1])));
  }
  return true;
}

std::string to_hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) out += {kHex[uint8_t(c) >> 4], kHex[uint8_t(c) & 15]};
  return out;
}

int tokenize_command(const ringlm::Tokenizer& t, const TokenizerArgs& args) {
  ringlm::TokenizeOptions o;
  o.add_bos = args.bos < 0 ? t.add_bos() : args.bos != 0;
  o.add_eos = args.eos < 0 ? t.add_eos() : args.eos != 0;
  o.parse_special = args.special;
  const auto run = [&](const std::string& text) {
    std::vector<int32_t> ids;
    if (ringlm::Status s = t.tokenize(text, o, &ids); !s.ok()) return "error: " + s.message();
    std::string line;
    for (size_t i = 0; i < ids.size(); i++) line += (i ? "," : "") + std::to_string(ids[i]);
    return line;
  };
  if (args.has_text) {
    std::printf("%s\n", run(args.text).c_str());
    return 0;
  }
  std::vector<std::string> lines;
  if (!read_lines(args.batch, &lines)) return fail("cannot read '" + args.batch + "'");
  for (const std::string& hex : lines) {
    std::string text;
    std::printf("%s\n", from_hex(hex, &text) ? run(text).c_str() : "error: not hex");
  }
  return 0;
}

int detokenize_command(const ringlm::Tokenizer& t, const std::string& tokens_arg, const TokenizerArgs& args) {
  ringlm::DetokenizeOptions o = t.default_detokenize_options();
  o.special = args.special;
  if (args.keep_space) o.strip_leading_space = false;
  const auto run = [&](const std::vector<int32_t>& ids, std::string* text) -> ringlm::Status {
    if (!args.stream) return t.detokenize(ids.data(), ids.size(), o, text);
    ringlm::TextDecoder decoder(t, o);
    for (int32_t id : ids) RINGLM_TRY(decoder.push(id, text));
    decoder.flush(text);
    return ringlm::Status();
  };
  if (args.batch.empty()) {
    std::vector<int32_t> ids;
    if (!parse_tokens(tokens_arg, &ids)) return fail("--tokens needs a comma-separated list of token ids");
    std::string text;
    if (ringlm::Status s = run(ids, &text); !s.ok()) return fail(s.message());
    std::printf("%s\n", text.c_str());
    return 0;
  }
  std::vector<std::string> lines;
  if (!read_lines(args.batch, &lines)) return fail("cannot read '" + args.batch + "'");
  for (const std::string& line : lines) {
    std::vector<int32_t> ids;
    std::string text;
    if (!line.empty() && !parse_tokens(line, &ids)) {
      std::printf("error: not a list of ids\n");
    } else if (ringlm::Status s = run(ids, &text); !s.ok()) {
      std::printf("error: %s\n", s.message().c_str());
    } else {
      std::printf("%s\n", to_hex(text).c_str());
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// flags
// ---------------------------------------------------------------------------------------------

// The flags of every command, for suggestions; the generation options' come from their table.
std::vector<std::string> known_flags() {
  std::vector<std::string> flags = {"-m", "--model", "-o", "--out", "--tokens", "--ctx", "--decode", "--reps", "--threads", "--pin-threads",
                                    "--only", "--stride", "--text", "--batch", "--special", "--keep-space", "--stream", "--bos",
                                    "--no-bos", "--eos", "--no-eos", "-n", "--grammar-file"};
  for (const ringlm::OptionSpec& spec : ringlm::generate_options()) {
    if (*spec.flag) flags.push_back("--" + std::string(spec.flag));
  }
  return flags;
}

std::string unknown_flag(const std::string& flag) {
  const std::string near = ringlm::closest_name(flag, known_flags());
  return "unknown option '" + flag + "'" + (near.empty() ? " (see --help)" : " (did you mean '" + near + "'?)");
}

std::string generate_help() {
  std::string text;
  for (const ringlm::OptionSpec& spec : ringlm::generate_options()) {
    if (!*spec.flag) continue;
    const bool boolean = spec.kind == ringlm::OptionKind::Boolean;
    std::string line = "  --" + std::string(spec.flag) + (boolean ? "" : " X");
    line.resize(std::max<size_t>(line.size() + 1, 24), ' ');
    text += line + spec.doc + " (" + ringlm::option_rule(spec) + ")\n";
  }
  return text + "  -n N                  the same as --max-tokens\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::printf("usage: ringlm-cli info -m MODEL\n"
                "       ringlm-cli logits -m MODEL --tokens 1,2,3 -o OUT.f32 [--ctx N] [--decode K]\n"
                "       ringlm-cli score -m MODEL --tokens 1,2,3 [--ctx N] [--stride N]\n"
                "       ringlm-cli bench -m MODEL [--ctx N] [--reps N] [--only decode,prefill,cache,stream,ttft] [--threads N] [--pin-threads]\n"
                "       ringlm-cli tokenize -m MODEL (--text TEXT | --batch FILE) [--special] [--bos|--no-bos] [--eos|--no-eos]\n"
                "       ringlm-cli detokenize -m MODEL (--tokens 1,2,3 | --batch FILE) [--special] [--keep-space] [--stream]\n"
                "       ringlm-cli prefill -m MODEL --tokens 1,2,3 -o STATE [--ctx N]\n"
                "       ringlm-cli generate -m MODEL --tokens 1,2,3 [--state STATE] [--grammar-file FILE] [generation options]\n\n"
                "generation options (src/generate/options.h):\n%s", generate_help().c_str());
    return argc < 2 ? 1 : 0;
  }
  const std::string command = argv[1];
  std::string model_path, out_path, tokens_arg, state_path;
  std::string only;
  int ctx = 0, decode_count = 0, reps = 3, threads = 1, stride = 0;
  bool pin_threads = false;  // every layer on --threads threads (else the governor picks: thread_governor.h)
  TokenizerArgs tok;
  ringlm::GenerateOptions gen;  // generate: sampled ids to stdout (tests compare them with wasm's)
  bool seed_given = false;
  std::string flag_error;
  const auto generate_flag = [&](const ringlm::OptionSpec* spec, const char* text) {
    seed_given |= std::strcmp(spec->name, "seed") == 0;
    if (ringlm::Status s = ringlm::set_option_text(*spec, text, &gen); !s.ok()) flag_error = "--" + std::string(spec->flag) + ": " + s.message();
  };
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
    else if (a == "--state" && (v = value("state"))) state_path = v;
    else if (a == "--ctx" && (v = value("ctx"))) ctx = std::atoi(v);
    else if (a == "--decode" && (v = value("decode"))) decode_count = std::atoi(v);
    else if (a == "--reps" && (v = value("reps"))) reps = std::atoi(v);
    else if (a == "--stride" && (v = value("stride"))) stride = std::atoi(v);
    else if (a == "--threads" && (v = value("threads"))) threads = std::atoi(v);
    else if (a == "--pin-threads") pin_threads = true;
    else if (a == "--only" && (v = value("only"))) only = v;
    else if (a == "--text" && (v = value("text"))) tok.text = v, tok.has_text = true;
    else if (a == "--batch" && (v = value("batch"))) tok.batch = v;
    else if (a == "--special") tok.special = gen.special = true;  // tokenize's and generate's
    else if (a == "--keep-space") tok.keep_space = true;
    else if (a == "--stream") tok.stream = true;
    else if (a == "--bos" || a == "--no-bos") tok.bos = a == "--bos";
    else if (a == "--eos" || a == "--no-eos") tok.eos = a == "--eos";
    else if (a == "-n" && (v = value("n"))) generate_flag(ringlm::find_option("maxTokens"), v);
    else if (a == "--grammar-file" && (v = value("grammar-file"))) {  // --grammar's text, from a file
      uint8_t* text = nullptr;
      size_t n = 0;
      std::string why;
      if (!read_file(v, &text, &n, &why)) {
        std::free(text);
        return fail(why);
      }
      gen.grammar.assign(reinterpret_cast<const char*>(text), n);
      std::free(text);
    }
    else if (const ringlm::OptionSpec* spec = a.rfind("--", 0) == 0 ? ringlm::find_option_flag(a.substr(2)) : nullptr) {
      // The generation options, flagged as the table in generate/options.h names them.
      // A Boolean's flag sets the opposite of its default (--special on, --no-kv-cache off).
      if (spec->kind == ringlm::OptionKind::Boolean) generate_flag(spec, ringlm::option_number(*spec, {}) != 0 ? "false" : "true");
      else if ((v = value(spec->flag))) generate_flag(spec, v);
      else return fail(a + " needs a value");
    }
    else if (a.rfind("-", 0) == 0) return fail(unknown_flag(a));
    else return fail("unknown or incomplete option '" + a + "' (see --help)");
    if (!flag_error.empty()) return fail(flag_error);
  }
  if (model_path.empty()) return fail("missing -m MODEL");
  if (threads < 1 || threads > 255) return fail("--threads must be between 1 and 255");

  std::string error;
  std::vector<ringlm::Engine::FilePart> parts;
  for (const std::string& path : split_part_paths(model_path)) {
    uint8_t* data = nullptr;
    size_t size = 0;
    const bool read = read_file(path, &data, &size, &error);
    parts.push_back({data, size, path});  // the engine frees them, or the loop below on failure
    if (!read) {
      for (auto& p : parts) std::free(p.data);
      return fail(error);
    }
  }
  ringlm::ThreadPool pool(threads);
  ringlm::EngineOptions options;
  options.context_size = ctx;
  options.pool = &pool;
  std::unique_ptr<ringlm::Engine> engine;
  if (ringlm::Status s = ringlm::Engine::load(std::move(parts), options, &engine); !s.ok()) {
    return fail(model_path + ": " + s.message());
  }
  const ringlm::Config& c = engine->model().config;
  if (pin_threads) engine->thread_governor().pin(threads);

  if (command == "info") {
    std::printf("architecture %s\nvocab %d\ndim %d\nlayers %d\nheads %d\nkv_heads %d\nffn %d\ncontext %d\n"
                "trained_context %d\ncontext_limited_by %s\n",
                c.architecture.c_str(), c.vocab_size, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim,
                engine->context_size(), c.context_length, ringlm::context_limit_name(engine->context_limited_by()));
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
  if (command == "score") {
    std::vector<int32_t> tokens;
    if (!parse_tokens(tokens_arg, &tokens)) return fail("--tokens needs a comma-separated list of token ids");
    ringlm::ScoreResult r;
    if (ringlm::Status s = ringlm::score_tokens(*engine, tokens.data(), int(tokens.size()), stride, &r); !s.ok()) return fail(s.message());
    for (float lp : r.logprobs) std::printf("%.9g\n", double(lp));
    std::printf("sum %.17g perplexity %.17g windows %d\n", r.sum, r.perplexity, r.windows);
    return 0;
  }
  if (command == "bench") return bench(*engine, pool, reps, only);
  if (command == "tokenize" || command == "detokenize") {
    const ringlm::Tokenizer* t = nullptr;
    if (ringlm::Status s = engine->tokenizer(&t); !s.ok()) return fail(model_path + ": " + s.message());
    if (command == "tokenize") {
      if (tok.has_text == !tok.batch.empty()) return fail("tokenize needs one of --text and --batch");
      return tokenize_command(*t, tok);
    }
    if (tokens_arg.empty() == tok.batch.empty()) return fail("detokenize needs one of --tokens and --batch");
    return detokenize_command(*t, tokens_arg, tok);
  }
  if (command == "prefill") {
    std::vector<int32_t> tokens;
    if (!parse_tokens(tokens_arg, &tokens)) return fail("--tokens needs a comma-separated list of token ids");
    if (out_path.empty()) return fail("missing -o STATE");
    if (ringlm::Status s = engine->prefill(tokens.data(), int(tokens.size()), false); !s.ok()) return fail(s.message());
    ringlm::CheckedArray<uint8_t> state;
    if (ringlm::Status s = ringlm::Session(*engine).save(&state); !s.ok()) return fail(s.message());
    FILE* f = std::fopen(out_path.c_str(), "wb");
    const bool written = f && std::fwrite(state.data(), 1, state.size(), f) == state.size();
    if (f) std::fclose(f);
    if (!written) return fail("cannot write '" + out_path + "'");
    return 0;
  }
  if (command == "generate") {
    std::vector<int32_t> prompt;
    if (!parse_tokens(tokens_arg, &prompt)) return fail("--tokens needs a comma-separated list of token ids");
    ringlm::Session session(*engine);
    if (!state_path.empty()) {
      uint8_t* state = nullptr;
      size_t state_size = 0;
      const bool read = read_file(state_path, &state, &state_size, &error);
      const ringlm::Status s = read ? session.restore(state, state_size) : ringlm::Status::error(error);
      std::free(state);
      if (!s.ok()) return fail(state_path + ": " + s.message());
      gen.keep_cache = true;  // the tokens continue the restored session
    }
    if (!seed_given) gen.sampling.seed = std::random_device()() & 0xffffffffu;  // the schema's default: random
    if (ringlm::Status s = session.begin(prompt.data(), int(prompt.size()), gen); !s.ok()) return fail(s.message());
    for (;;) {
      ringlm::Step st;
      if (ringlm::Status s = session.step(&st); !s.ok()) return fail(s.message());
      if (st.kind == ringlm::Step::Kind::Token && session.logprobs()) {  // --logprobs: id:logprob (raw logits)
        std::printf("%d:%.6f ", st.token, double(session.logprobs()->chosen().logprob));
      } else if (st.kind == ringlm::Step::Kind::Token) {
        std::printf("%d ", st.token);
      }
      if (st.finish != ringlm::FinishReason::None) break;
    }
    std::printf("\n");
    return 0;
  }
  return fail("unknown command '" + command + "' (see --help)");
}
