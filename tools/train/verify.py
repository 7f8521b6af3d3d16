"""Step 5: verification against llama.cpp (node-llama-cpp), for the model card.

  - llama.cpp loads the GGUF;
  - llama.cpp's tokenization of verses (and a few awkward strings) equals SentencePiece's;
  - held-out perplexity: PyTorch with the GGUF's own (Q8_0) weights, PyTorch with the float checkpoint, and llama.cpp,
    all on the same non-overlapping validation windows (every token after a window's first is predicted);
    llama.cpp must match PyTorch-on-the-same-weights within 1%;
  - greedy continuation of fixed prompts: PyTorch's token ids against llama.cpp's; plus sampled text from llama.cpp.

Writes <work>/verify/report.json and prints a summary; exits non-zero if a check fails.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import sentencepiece as spm
import torch

from gguf_read import read_gguf
from model import Config, Llama
from train import evaluate, load_tokens, validation_windows

PROMPTS = ['And God said', 'In the beginning', 'The LORD is my shepherd', 'Blessed are the']
AWKWARD_TEXTS = [
    'And God said, Let there be light: and there was light.',
    'In the six hundredth year of Noah\'s life, 1611 and 2026.',
    '  two leading spaces,  double  spaces and a trailing space ',
    'Unusual letters: café, naïve, Ἰησοῦς, 神, 🙂.',
    'Zerubbabel; Maher-shalal-hash-baz! (Selah.) "Quoted" text?',
]
GREEDY_TOKENS = 64


def model_from_gguf(path):
    meta, tensors = read_gguf(path)
    cfg = Config(vocab_size=len(meta['tokenizer.ggml.tokens']), dim=meta['llama.embedding_length'],
                 n_layers=meta['llama.block_count'], n_heads=meta['llama.attention.head_count'],
                 ffn_dim=meta['llama.feed_forward_length'], context=meta['llama.context_length'],
                 norm_eps=meta['llama.attention.layer_norm_rms_epsilon'], rope_base=meta['llama.rope.freq_base'])
    state = {'token_embd.weight': tensors['token_embd.weight'], 'output_norm.weight': tensors['output_norm.weight']}
    for name, value in tensors.items():
        if name.startswith('blk.'):
            _, layer, rest = name.split('.', 2)
            state[f'blocks.{layer}.{rest}'] = value
    model = Llama(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model.eval(), meta


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    for _ in range(n):
        logits = model(torch.tensor([ids[-model.cfg.context:]]))[0, -1]
        ids.append(int(logits.argmax()))
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('gguf')
    parser.add_argument('--work', default=os.path.join(os.path.dirname(__file__), 'work'))
    parser.add_argument('--checkpoint', default=None, help='float checkpoint, default <work>/best.pt')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out_dir = os.path.join(args.work, 'verify')
    os.makedirs(out_dir, exist_ok=True)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.work, 'kjv.model'))
    model, meta = model_from_gguf(args.gguf)
    windows = validation_windows(load_tokens(os.path.join(args.work, 'val.bin')), model.cfg.context)

    ckpt = torch.load(args.checkpoint or os.path.join(args.work, 'best.pt'))
    float_model = Llama(Config(**ckpt['config']))
    float_model.load_state_dict(ckpt['model'])
    nll_float = evaluate(float_model, windows)
    nll_gguf = evaluate(model, windows)

    with open(os.path.join(args.work, 'val.txt'), encoding='utf-8') as f:
        chapters = [line.rstrip('\n') for line in f]
    verses = [c.split('. ')[0] + '.' for c in chapters[::7]] + chapters[-1:]
    texts = AWKWARD_TEXTS + verses
    prompt_ids = [[sp.bos_id()] + sp.encode(p) for p in PROMPTS]
    inputs = {
        'windows': windows.tolist(),
        'texts': texts,
        'prompts': PROMPTS,
        'greedyTokens': GREEDY_TOKENS,
    }
    inputs_path, outputs_path = os.path.join(out_dir, 'inputs.json'), os.path.join(out_dir, 'llamacpp.json')
    with open(inputs_path, 'w', encoding='utf-8') as f:
        json.dump(inputs, f, ensure_ascii=False)
    node = ['node', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'verify-llamacpp.mjs'),
            args.gguf, inputs_path, outputs_path]
    subprocess.run(node, check=True)
    with open(outputs_path, encoding='utf-8') as f:
        ref = json.load(f)

    failures = []
    token_checks = []
    for text, ids in zip(texts, ref['tokenized']):
        same = ids == sp.encode(text)
        token_checks.append({'text': text, 'same': same})
        if not same:
            failures.append(f'tokenization differs for {text!r}: llama.cpp {ids} vs SentencePiece {sp.encode(text)}')
    ppl_ref = math.exp(ref['nll'] / ref['count'])
    ppl_gguf, ppl_float = math.exp(nll_gguf), math.exp(nll_float)
    if abs(ppl_ref / ppl_gguf - 1) > 0.01:
        failures.append(f'llama.cpp perplexity {ppl_ref:.4f} vs PyTorch {ppl_gguf:.4f}: more than 1% apart')

    greedy_checks = []
    for prompt, ids, ref_greedy in zip(PROMPTS, prompt_ids, ref['greedy']):
        ours = greedy(model, ids, GREEDY_TOKENS)[len(ids):]
        same_prefix = next((i for i, (a, b) in enumerate(zip(ours, ref_greedy['tokens'])) if a != b), len(ours))
        greedy_checks.append({'prompt': prompt, 'pytorch': sp.decode(ours), 'llamacpp': ref_greedy['text'],
                              'matching_tokens': same_prefix, 'of': len(ours)})

    report = {
        'gguf': os.path.basename(args.gguf),
        'gguf_bytes': os.path.getsize(args.gguf),
        'checkpoint': {'step': ckpt['step'], 'val_loss': ckpt['val_loss'], 'train_minutes': ckpt['elapsed'] / 60},
        'validation': {'windows': len(windows), 'context': model.cfg.context,
                       'predicted_tokens': int(windows[:, 1:].numel())},
        'perplexity': {'pytorch_float': ppl_float, 'pytorch_gguf_weights': ppl_gguf, 'llamacpp': ppl_ref,
                       'llamacpp_vs_pytorch_gguf': ppl_ref / ppl_gguf - 1},
        'nll': {'pytorch_float': nll_float, 'pytorch_gguf_weights': nll_gguf, 'llamacpp': ref['nll'] / ref['count']},
        'tokenization': token_checks,
        'greedy': greedy_checks,
        'sampled': ref['sampled'],
        'failures': failures,
    }
    with open(os.path.join(out_dir, 'report.json'), 'w', encoding='utf-8') as f:
        json.dump(report, f, ensure_ascii=False, indent=1)

    print(f'verify: perplexity PyTorch float {ppl_float:.3f}, PyTorch GGUF weights {ppl_gguf:.3f}, '
          f'llama.cpp {ppl_ref:.3f} ({100 * (ppl_ref / ppl_gguf - 1):+.3f}%) on {len(windows)} windows')
    print(f'verify: tokenization {sum(c["same"] for c in token_checks)}/{len(token_checks)} texts identical')
    for g in greedy_checks:
        print(f'verify: greedy {g["prompt"]!r}: {g["matching_tokens"]}/{g["of"]} tokens equal; llama.cpp: {g["llamacpp"]!r}')
    for s in ref['sampled']:
        print(f'verify: sampled {s["prompt"]!r}: {s["text"]!r}')
    for failure in failures:
        print('FAIL:', failure)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
