#!/usr/bin/python3
"""PyTorch peer for `make bench`: the same post-LN encoder layer as src/model/block.c, timed
the same way (median of N runs after a warm-up, forward then backward), on the same CPU in the
same `make bench` run, and a speed-up table against bipeft's numbers.

Usage: peer_torch.py BIPEFT_BENCH_OUTPUT [--threads N] [--reps R]
Reads the "one encoder layer" table from the bipeft-bench output file and prints the peer's
table and the ratio. A developer tool: needs Debian's python3-torch, never used at run time.
"""
import argparse
import os
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = [  # name, B, T, C, H, FFN: as bench/bench_core.c
    ("BERT-small", 32, 128, 256, 4, 1024),
    ("BERT-base", 16, 128, 768, 12, 3072),
]


class Layer(torch.nn.Module):
    """BERT layer: q,k,v,o linears, softmax attention, LayerNorm, GELU (erf) FFN, LayerNorm."""

    def __init__(self, C, H, FF):
        super().__init__()
        self.H = H
        self.q, self.k, self.v, self.o = (torch.nn.Linear(C, C) for _ in range(4))
        self.ln1, self.ln2 = torch.nn.LayerNorm(C, eps=1e-12), torch.nn.LayerNorm(C, eps=1e-12)
        self.up, self.down = torch.nn.Linear(C, FF), torch.nn.Linear(FF, C)

    def forward(self, x):
        B, T, C = x.shape
        D = C // self.H
        def heads(t):
            return t.view(B, T, self.H, D).transpose(1, 2)
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / D ** 0.5, dim=-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, C)
        h1 = self.ln1(x + self.o(a))
        return self.ln2(h1 + self.down(F.gelu(self.up(h1))))


def time_layer(shape, train_weights, reps):
    _, B, T, C, H, FF = shape
    torch.manual_seed(0)
    layer = Layer(C, H, FF)
    for p in layer.parameters():
        p.requires_grad_(train_weights)
    x = torch.randn(B, T, C, requires_grad=True)
    dy = torch.randn(B, T, C) * 1e-3
    tf, tb = [], []
    for r in range(reps + 1):
        layer.zero_grad(set_to_none=False)
        x.grad = None
        t0 = time.perf_counter()
        y = layer(x)
        t1 = time.perf_counter()
        y.backward(dy)
        t2 = time.perf_counter()
        if r > 0:
            tf.append(t1 - t0)
            tb.append(t2 - t1)
    return statistics.median(tf), statistics.median(tb)


def bipeft_rows(path):
    rows = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\| (BERT-\w+), (.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", line)
            if m:
                rows[(m.group(1), m.group(2))] = float(m.group(5))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bipeft_output")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:  # bipeft-bench's default: all cores
        torch.set_num_threads(os.cpu_count() or 1)
    ours = bipeft_rows(a.bipeft_output)
    print(f"\n### PyTorch {torch.__version__} peer, same layer, same run "
          f"({torch.get_num_threads()} threads, median of {a.reps})\n")
    print("| shape | PyTorch fwd ms | PyTorch bwd ms | PyTorch total ms | bipeft total ms "
          "| bipeft speed-up |\n|---|---:|---:|---:|---:|---:|")
    for shape in SHAPES:
        for train, label in ((True, "all weights trained"),
                             (False, "frozen weights (activation grads only)")):
            f, b = time_layer(shape, train, a.reps)
            total = 1e3 * (f + b)
            mine = ours.get((shape[0], label))
            ratio = f"{total / mine:.2f}x" if mine else "-"
            print(f"| {shape[0]}, {label} | {1e3 * f:.1f} | {1e3 * b:.1f} | {total:.1f} | "
                  f"{mine if mine else '-'} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
