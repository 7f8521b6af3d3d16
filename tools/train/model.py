"""The model: a Llama-architecture decoder in PyTorch, laid out exactly as llama.cpp's `llama` graph computes it.

  x = token_embd[tokens]
  per block:  h = x + attn_output(attention(rope(attn_q(n)), rope(attn_k(n)), attn_v(n)))   n = rms_norm(x) * attn_norm
              x = h + ffn_down(silu(ffn_gate(m)) * ffn_up(m))                                 m = rms_norm(h) * ffn_norm
  logits = (rms_norm(x) * output_norm) @ token_embd^T            (tied: the GGUF has no output.weight)

RoPE uses llama.cpp's `llama` layout: ADJACENT pairs (x[2i], x[2i+1]) of each head rotate by
pos * base^(-2i/head_dim). Because training uses the same layout, Q/K rows are exported without any permutation.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 2048
    dim: int = 256
    n_layers: int = 4
    n_heads: int = 8
    ffn_dim: int = 704  # a multiple of 32, so every matrix row is whole Q8_0 blocks
    context: int = 256
    norm_eps: float = 1e-5
    rope_base: float = 10000.0

    @property
    def head_dim(self):
        return self.dim // self.n_heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg):
    """cos and sin of pos * base^(-2i/head_dim), shape (context, head_dim/2)."""
    i = torch.arange(0, cfg.head_dim, 2, dtype=torch.float64)
    inv_freq = cfg.rope_base ** (-i / cfg.head_dim)
    angles = torch.arange(cfg.context, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return angles.cos().float(), angles.sin().float()


def apply_rope(x, cos, sin):
    """x: (batch, heads, time, head_dim). Rotates adjacent pairs (x[2i], x[2i+1])."""
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated_even = even * cos - odd * sin
    rotated_odd = even * sin + odd * cos
    return torch.stack((rotated_even, rotated_odd), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attn_q = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.attn_k = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.attn_v = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.attn_output = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.ffn_gate = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.ffn_up = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.ffn_down = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin, causal_mask):
        batch, time, _ = x.shape
        heads, head_dim = self.cfg.n_heads, self.cfg.head_dim
        n = self.attn_norm(x)
        q = self.attn_q(n).view(batch, time, heads, head_dim).transpose(1, 2)  # (batch, heads, time, head_dim)
        k = self.attn_k(n).view(batch, time, heads, head_dim).transpose(1, 2)
        v = self.attn_v(n).view(batch, time, heads, head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(head_dim))
        scores = scores.masked_fill(causal_mask, float('-inf'))
        attended = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, time, self.cfg.dim)
        h = x + self.attn_output(attended)
        m = self.ffn_norm(h)
        return h + self.ffn_down(F.silu(self.ffn_gate(m)) * self.ffn_up(m))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.token_embd = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.output_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        cos, sin = rope_tables(cfg)
        self.register_buffer('rope_cos', cos, persistent=False)
        self.register_buffer('rope_sin', sin, persistent=False)
        mask = torch.ones(cfg.context, cfg.context, dtype=torch.bool).triu(1)  # True above the diagonal: future
        self.register_buffer('causal_mask', mask, persistent=False)
        self._init_weights()

    def _init_weights(self):
        # GPT-2 style: N(0, 0.02), with the two projections that add into the residual stream scaled down by depth.
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if name.endswith('attn_output.weight') or name.endswith('ffn_down.weight'):
                    std /= math.sqrt(2 * self.cfg.n_layers)
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, tokens):
        """tokens (batch, time) -> logits (batch, time, vocab); positions are 0..time-1."""
        time = tokens.shape[1]
        cos, sin = self.rope_cos[:time], self.rope_sin[:time]
        mask = self.causal_mask[:time, :time]
        x = self.token_embd(tokens)
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return self.output_norm(x) @ self.token_embd.weight.t()

    def parameter_count(self):
        return sum(p.numel() for p in self.parameters())
