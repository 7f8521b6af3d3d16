// pretokenizer.h — the word splits that byte-level BPE vocabularies run before merging, as regular
// expressions over Unicode categories, written out by hand the way llama.cpp runs them (llama.cpp's own
// code for the first four rules is hand-written too, and its corner cases are part of what a model sees):
//
//   kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//            \s*[\r\n]+|\s+(?!\S)|\s+
//   kQwen2   as kLlama3, with \p{N} (single digits) for \p{N}{1,3}
//   kQwen35  as kQwen2, with combining marks joining letter runs: [\p{L}\p{M}]+ for \p{L}+, and
//            [^\s\p{L}\p{M}\p{N}] for [^\s\p{L}\p{N}] (Qwen 3.5)
//   kGpt4o   [^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|
//            \s+(?!\S)|\s+  with U, W upper- and lower-case letters (only ASCII ones have a case, as llama.cpp
//            runs it) and C a contraction ('s 't 're 've 'm 'll 'd, any case) (GPT-4o, Phi-4-mini, Llama 4)
//
// The others are lists of expressions, each run over the pieces the one before left (its matches and the
// text between them alike), as llama.cpp runs them:
//   kStarcoder     \p{N}; kGpt2 (StarCoder, SmolLM, Command-R, Refact, CodeShell, EXAONE, Minerva)
//   kFalcon        [\p{P}$+<=>^~|`]+; kGpt2; [0-9][0-9][0-9]
//   kDeepseekLlm   [\r\n]; \s?[A-Za-zµÀ-ÖØ-ö...]+ (a list of Latin, Greek, Cyrillic... letters);
//                  \s?[!-/:-~！-／：-～‘-‟　-。]+; \s+$; [一-龥ࠀ-一가-퟿]+; \p{N}+
//   kDeepseekCoder [\r\n]; \s?\p{L}+; \s?\p{P}+; [一-龥ࠀ-一가-퟿]+; \p{N}
//   kDefault       llama.cpp's fallback for byte-level BPE files that name no split (older GPT-2 conversions):
//                  [\p{P}$+<=>^~|]+; kGpt2; \p{N}+; [0-9][0-9][0-9]
//
// \s is Unicode White_Space; a word never spans two of the spans given (text between special tokens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringlm {

enum class PreTokenizer { kGpt2, kLlama3, kQwen2, kQwen35, kStarcoder, kFalcon, kDeepseekLlm, kDeepseekCoder, kGpt4o,
                                kDefault };

// Cut the codepoints cps[0, n) into words; append each word's length (in codepoints) to *lengths.
// `scratch` is working memory (n bytes), kept by the caller so that repeated calls do not allocate.
void split_words(PreTokenizer rule, const uint32_t* cps, size_t n, std::vector<uint8_t>* scratch,
                 std::vector<uint32_t>* lengths);

}  // namespace ringlm
