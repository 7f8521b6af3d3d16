"""Step 2: the tokenizer. Trains a SentencePiece BPE vocabulary on the training text and encodes both splits.

Choices, each made so that llama.cpp's `llama` (SPM) tokenizer reproduces SentencePiece exactly:
  - BPE with byte fallback: any byte outside the vocabulary becomes one of the 256 <0xNN> tokens, so nothing is <unk>.
  - normalization 'identity' and no whitespace collapsing: llama.cpp applies no normalization either.
  - add_dummy_prefix on: SentencePiece prepends a space to every input, so a text's first word is "▁In" like every
    other word. The GGUF declares it with tokenizer.ggml.add_space_prefix = true.
  - ids 0, 1, 2 are <unk>, <s>, </s> (the Llama convention); no padding token.

Output (in the work folder): kjv.model / kjv.vocab, and train.bin / val.bin: uint16 token streams, one document per
chapter as <s> chapter </s>.
"""
import argparse
import os

import numpy as np
import sentencepiece as spm

VOCAB_SIZE = 2048


def train_tokenizer(work):
    spm.SentencePieceTrainer.train(
        input=os.path.join(work, 'train.txt'),
        model_prefix=os.path.join(work, 'kjv'),
        model_type='bpe',
        vocab_size=VOCAB_SIZE,
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name='identity',
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        split_digits=True,
        max_sentence_length=1 << 17,  # a line is a whole chapter (Psalm 119 is ~25 KB)
        input_sentence_size=0,  # use every line, no sampling
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=os.path.join(work, 'kjv.model'))


def encode_split(sp, path):
    """<s> chapter </s> for every line of a text file, as one uint16 stream."""
    ids = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            ids.append(sp.bos_id())
            ids.extend(sp.encode(line.rstrip('\n')))
            ids.append(sp.eos_id())
    return np.array(ids, dtype=np.uint16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work', default=os.path.join(os.path.dirname(__file__), 'work'))
    args = parser.parse_args()

    sp = train_tokenizer(args.work)
    assert sp.get_piece_size() == VOCAB_SIZE
    for split in ('train', 'val'):
        ids = encode_split(sp, os.path.join(args.work, f'{split}.txt'))
        ids.tofile(os.path.join(args.work, f'{split}.bin'))
        n_chars = os.path.getsize(os.path.join(args.work, f'{split}.txt'))
        print(f'tokenizer: {split} {len(ids)} tokens ({n_chars / len(ids):.2f} chars/token)')
    sample = 'And God said, Let there be light: and there was light.'
    print('tokenizer:', sample, '->', sp.encode(sample, out_type=str))


if __name__ == '__main__':
    main()
