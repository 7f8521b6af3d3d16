"""Step 3: training. AdamW with linear warmup and cosine decay on random windows of the training stream.

Deterministic: fixed seeds, and the batch for step s is drawn from a generator seeded with (seed, s), so a resumed
run sees the same batches as an uninterrupted one. The validation loss (mean cross-entropy over every prediction in
the fixed, non-overlapping held-out windows) is measured every --eval-every steps; the best one is kept in best.pt,
so stopping early still leaves a usable model. last.pt allows --resume.
"""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from model import Config, Llama


def load_tokens(path):
    return torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))


def validation_windows(tokens, context):
    """Non-overlapping windows of `context` tokens; a window's first token has no prediction."""
    n = len(tokens) // context
    return tokens[: n * context].view(n, context)


def batch_for_step(tokens, step, args):
    g = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
    starts = torch.randint(0, len(tokens) - args.context - 1, (args.batch,), generator=g)
    windows = torch.stack([tokens[s: s + args.context + 1] for s in starts.tolist()])
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def evaluate(model, windows, batch=16):
    """Mean negative log-likelihood (nats/token) of tokens 1..context-1 of every window."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        w = windows[i: i + batch]
        logits = model(w[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction='sum').item()
        count += w[:, 1:].numel()
    model.train()
    return total / count


def learning_rate(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * progress))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work', default=os.path.join(os.path.dirname(__file__), 'work'))
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--heads', type=int, default=8)
    parser.add_argument('--ffn', type=int, default=704)
    parser.add_argument('--context', type=int, default=256)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--steps', type=int, default=2400)
    parser.add_argument('--warmup', type=int, default=100)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--min-lr', type=float, default=1e-4)
    parser.add_argument('--weight-decay', type=float, default=0.1)
    parser.add_argument('--grad-clip', type=float, default=1.0)
    parser.add_argument('--eval-every', type=int, default=150)
    parser.add_argument('--log-every', type=int, default=10)
    parser.add_argument('--seed', type=int, default=1611)  # the year of the King James Version
    parser.add_argument('--threads', type=int, default=1, help='results depend on it: keep 1 to reproduce')
    parser.add_argument('--bench-seconds', type=float, default=0, help='only measure tokens/s for this long')
    parser.add_argument('--resume', action='store_true', help='continue from last.pt')
    parser.add_argument('--stop-at', type=int, default=0,
                        help='stop after this step (the schedule still spans --steps), as an interrupted run would')
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = Config(dim=args.dim, n_layers=args.layers, n_heads=args.heads, ffn_dim=args.ffn, context=args.context)
    model = Llama(cfg)
    train_tokens = load_tokens(os.path.join(args.work, 'train.bin'))
    val_windows = validation_windows(load_tokens(os.path.join(args.work, 'val.bin')), cfg.context)
    print(f'train: {model.parameter_count()} parameters, config {cfg.to_dict()}', flush=True)
    print(f'train: {len(train_tokens)} train tokens, {len(val_windows)} validation windows of {cfg.context}; '
          f'{args.steps} steps of {args.batch}x{cfg.context} tokens = '
          f'{args.steps * args.batch * cfg.context / len(train_tokens):.2f} epochs; {args.threads} threads', flush=True)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{'params': decay, 'weight_decay': args.weight_decay}, {'params': no_decay, 'weight_decay': 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    start_step, best_val, elapsed_before = 0, float('inf'), 0.0
    last_path, best_path = os.path.join(args.work, 'last.pt'), os.path.join(args.work, 'best.pt')
    if args.resume and os.path.exists(last_path):
        state = torch.load(last_path)
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        start_step, best_val, elapsed_before = state['step'], state['best_val'], state['elapsed']
        print(f'train: resumed at step {start_step}, best val {best_val:.4f}', flush=True)

    t_start = time.time()
    t_log, tokens_since_log, losses = time.time(), 0, []
    for step in range(start_step, args.steps):
        lr = learning_rate(step, args)
        for group in optimizer.param_groups:
            group['lr'] = lr
        inputs, targets = batch_for_step(train_tokens, step, args)
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        losses.append(loss.item())
        tokens_since_log += inputs.numel()

        done = step + 1
        if done % args.log_every == 0:
            now = time.time()
            print(f'step {done:5d}  lr {lr:.2e}  train {np.mean(losses):.4f}  {tokens_since_log / (now - t_log):.0f} tok/s  '
                  f'elapsed {(elapsed_before + now - t_start) / 60:.1f} min', flush=True)
            t_log, tokens_since_log, losses = now, 0, []
        if args.bench_seconds and time.time() - t_start > args.bench_seconds:
            return
        if done % args.eval_every == 0 or done == args.steps:
            t_eval = time.time()
            val = evaluate(model, val_windows)
            elapsed = elapsed_before + time.time() - t_start
            improved = val < best_val
            if improved:
                best_val = val
                torch.save({'model': model.state_dict(), 'config': cfg.to_dict(), 'step': done, 'val_loss': val,
                            'elapsed': elapsed, 'args': vars(args)}, best_path)
            torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'step': done,
                        'best_val': best_val, 'elapsed': elapsed}, last_path)
            print(f'eval {done:5d}  val {val:.4f}  ppl {math.exp(val):.2f}  {"best, saved" if improved else ""}  '
                  f'({time.time() - t_eval:.0f} s)', flush=True)
            t_log, tokens_since_log = time.time(), 0  # keep eval time out of the throughput
        if args.stop_at and done >= args.stop_at:
            break
    print(f'train: done, best val {best_val:.4f} (ppl {math.exp(best_val):.2f}), '
          f'{(elapsed_before + time.time() - t_start) / 60:.1f} min', flush=True)


if __name__ == '__main__':
    main()
