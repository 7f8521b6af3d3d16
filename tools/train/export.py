"""Step 4a: export. Turns the best checkpoint and the SentencePiece model into a manifest for export-gguf.mjs.

Writes work/export/manifest.json (GGUF metadata and tensor list) and work/export/tensors.f32 (every tensor as
little-endian float32, row-major, back to back). The GGUF itself is written in JavaScript by the project's own
writer (tools/gguf/writer.mjs), which also quantizes the matrices to Q8_0.

Tensor names and shapes follow llama.cpp. A PyTorch Linear weight (out, in) is `out` rows of `in` values, which is
ggml's ne = [in, out] with the same bytes. No output.weight: the output projection is tied to token_embd.
"""
import argparse
import json
import os

import numpy as np
import sentencepiece as spm
import torch

from model import Config

# SentencePiece piece types -> llama.cpp token types (normal=1, unknown=2, control=3, byte=6).
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_BYTE = 1, 2, 3, 6
LLAMA_FTYPE_MOSTLY_Q8_0 = 7
BLOCK_TENSORS = ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down']


def token_type(sp, i):
    if sp.is_unknown(i):
        return TOKEN_UNKNOWN
    if sp.is_control(i):
        return TOKEN_CONTROL
    if sp.is_byte(i):
        return TOKEN_BYTE
    return TOKEN_NORMAL


def gguf_metadata(cfg, sp, name, train_info):
    n_vocab = sp.get_piece_size()
    return [
        ['general.architecture', 'string', 'llama'],
        ['general.name', 'string', name],
        ['general.description', 'string',
         'A small Llama-architecture model trained from scratch on the King James Bible by ringlm (tools/train). '
         + train_info],
        ['general.license', 'string', 'public-domain'],
        ['general.file_type', 'uint32', LLAMA_FTYPE_MOSTLY_Q8_0],
        ['llama.vocab_size', 'uint32', n_vocab],
        ['llama.context_length', 'uint32', cfg.context],
        ['llama.embedding_length', 'uint32', cfg.dim],
        ['llama.block_count', 'uint32', cfg.n_layers],
        ['llama.feed_forward_length', 'uint32', cfg.ffn_dim],
        ['llama.attention.head_count', 'uint32', cfg.n_heads],
        ['llama.attention.head_count_kv', 'uint32', cfg.n_heads],
        ['llama.attention.layer_norm_rms_epsilon', 'float32', cfg.norm_eps],
        ['llama.rope.dimension_count', 'uint32', cfg.head_dim],
        ['llama.rope.freq_base', 'float32', cfg.rope_base],
        ['tokenizer.ggml.model', 'string', 'llama'],
        ['tokenizer.ggml.tokens', 'string[]', [sp.id_to_piece(i) for i in range(n_vocab)]],
        ['tokenizer.ggml.scores', 'float32[]', [sp.get_score(i) for i in range(n_vocab)]],
        ['tokenizer.ggml.token_type', 'int32[]', [token_type(sp, i) for i in range(n_vocab)]],
        ['tokenizer.ggml.unknown_token_id', 'uint32', sp.unk_id()],
        ['tokenizer.ggml.bos_token_id', 'uint32', sp.bos_id()],
        ['tokenizer.ggml.eos_token_id', 'uint32', sp.eos_id()],
        ['tokenizer.ggml.add_bos_token', 'bool', True],
        ['tokenizer.ggml.add_eos_token', 'bool', False],
        # SentencePiece was trained and is used with add_dummy_prefix: a leading space before the first word.
        ['tokenizer.ggml.add_space_prefix', 'bool', True],
    ]


def gguf_tensors(state, cfg):
    """[(gguf name, torch tensor, ggml type)] in llama.cpp's usual order."""
    out = [('token_embd.weight', state['token_embd.weight'], 'Q8_0')]
    for layer in range(cfg.n_layers):
        for t in BLOCK_TENSORS:
            w = state[f'blocks.{layer}.{t}.weight']
            out.append((f'blk.{layer}.{t}.weight', w, 'F32' if w.dim() == 1 else 'Q8_0'))
    out.append(('output_norm.weight', state['output_norm.weight'], 'F32'))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work', default=os.path.join(os.path.dirname(__file__), 'work'))
    parser.add_argument('--checkpoint', default=None, help='default: <work>/best.pt')
    parser.add_argument('--name', default='ringlm-kjv-3.7m')
    args = parser.parse_args()

    ckpt = torch.load(args.checkpoint or os.path.join(args.work, 'best.pt'))
    cfg = Config(**ckpt['config'])
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.work, 'kjv.model'))
    assert sp.get_piece_size() == cfg.vocab_size
    train_info = f'Step {ckpt["step"]}, validation loss {ckpt["val_loss"]:.4f} nats/token.'

    out_dir = os.path.join(args.work, 'export')
    os.makedirs(out_dir, exist_ok=True)
    tensors, offset = [], 0
    with open(os.path.join(out_dir, 'tensors.f32'), 'wb') as f:
        for name, w, ggml_type in gguf_tensors(ckpt['model'], cfg):
            data = w.detach().float().contiguous().numpy().astype('<f4')
            f.write(data.tobytes())
            tensors.append({'name': name, 'type': ggml_type, 'ne': list(reversed(data.shape)), 'offset': offset})
            offset += data.size
    manifest = {'metadata': gguf_metadata(cfg, sp, args.name, train_info), 'tensors': tensors}
    with open(os.path.join(out_dir, 'manifest.json'), 'w', encoding='utf-8') as f:
        json.dump(manifest, f, ensure_ascii=False)
    n_params = sum(int(np.prod(t['ne'])) for t in tensors)
    print(f'export: {len(tensors)} tensors, {n_params} parameters, from step {ckpt["step"]} -> {out_dir}')


if __name__ == '__main__':
    main()
