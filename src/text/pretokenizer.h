// pretokenizer.h — the word splits that byte-level BPE vocabularies run before merging, as regular
// expressions over Unicode categories, written out by hand the way llama.cpp runs them (llama.cpp's own
// code for these three rules is hand-written too, and its corner cases are part of what a model sees):
//
//   kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//            \s*[\r\n]+|\s+(?!\S)|\s+
//   kQwen2   as kLlama3, with \p{N} (single digits) for \p{N}{1,3}
//   kStarcoder  \p{N} first (every digit a word of its own), then kGpt2 over the text between digits
//            (StarCoder, SmolLM, Command-R, Refact, CodeShell, EXAONE, Minerva)
//   kDefault llama.cpp's fallback for byte-level BPE files that name no split (older GPT-2 conversions):
//            [\p{P}$+<=>^~|]+, then kGpt2, then \p{N}+, then [0-9][0-9][0-9], each over the pieces the
//            one before left
//
// \s is Unicode White_Space; a word never spans two of the spans given (text between special tokens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringlm {

enum class PreTokenizer { kGpt2, kLlama3, kQwen2, kStarcoder, kDefault };

// Cut the codepoints cps[0, n) into words; append each word's length (in codepoints) to *lengths.
// `scratch` is working memory (n bytes), kept by the caller so that repeated calls do not allocate.
void split_words(PreTokenizer rule, const uint32_t* cps, size_t n, std::vector<uint8_t>* scratch,
                 std::vector<uint32_t>* lengths);

}  // namespace ringlm
