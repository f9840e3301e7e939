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
from torch import nn

SHAPES = [  # name, B, T, C, H, FFN, layers: as bench/bench_core.c
    ("BERT-small", 32, 128, 256, 4, 1024, 4),
    ("BERT-base", 16, 128, 768, 12, 3072, 12),
]

# The whole-model peer is the HF-faithful BERT of tools/make_hf_fixtures.py (the same module
# tree and ops as transformers' eager BertModel), imported without running that script.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import make_hf_fixtures as hf  # noqa: E402


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
    _, B, T, C, H, FF, _ = shape
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


def bert_config(shape):
    """HF BertConfig fields of a benchmark shape (vocab 30522, as bench_core.c)."""
    _, _, _, C, H, FF, L = shape
    return {"vocab_size": 30522, "hidden_size": C, "num_hidden_layers": L,
            "num_attention_heads": H, "intermediate_size": FF, "hidden_act": "gelu",
            "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
            "pad_token_id": 0}


def time_model(shape, reps):
    """Frozen BertModel, forward from token ids and backward to the input embeddings (the word
    embedding lookup's output), as bench_model() in bench/bench_core.c."""
    _, B, T, C, *_ = shape
    torch.manual_seed(0)
    model = hf.BertModel(bert_config(shape), add_pooling_layer=False).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    emb = model.embeddings
    ids = torch.randint(1000, 21000, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    types = torch.zeros(B, T, dtype=torch.long)
    pos = torch.arange(T)[None, :].expand(B, T)
    dh = torch.randn(B, T, C) * 1e-3
    tf, tb = [], []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        x = emb.word_embeddings(ids).requires_grad_(True)
        e = emb.LayerNorm(x + emb.token_type_embeddings(types) + emb.position_embeddings(pos))
        h = model.encoder(e, hf.key_padding_mask(mask, e.dtype))
        t1 = time.perf_counter()
        h.backward(dh)
        t2 = time.perf_counter()
        if r > 0:
            tf.append(t1 - t0)
            tb.append(t2 - t1)
    return statistics.median(tf), statistics.median(tb)


class LoRALinear(nn.Module):
    """peft's LoRA Linear (dropout 0): y = W x + b + (alpha / r) B(A x); A Kaiming-uniform,
    B zeros, the base weight frozen."""

    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


def time_lora(shape, reps):
    """One LoRA fine-tuning step as bench/bench_lora.c: BertForSequenceClassification (vocab
    30522, 2 labels), LoRA r=8 alpha 16 on query and value, zero_grad, forward, cross-entropy,
    backward, clip_grad_norm_(1.0), AdamW on the LoRA weights and the classifier."""
    _, B, T, *_ = shape
    torch.manual_seed(0)
    cfg = bert_config(shape)
    cfg["id2label"] = {"0": "a", "1": "b"}
    model = hf.BertForSequenceClassification(cfg)
    for prm in model.parameters():
        prm.requires_grad_(False)
    for layer in model.bert.encoder.layer:
        att = layer.attention.self
        att.query = LoRALinear(att.query)
        att.value = LoRALinear(att.value)
    for prm in model.classifier.parameters():
        prm.requires_grad_(True)
    params = [prm for prm in model.parameters() if prm.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.01)
    model.train()
    ids = torch.randint(1000, 21000, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    labels = torch.arange(B) % 2
    tt = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, logits = model(ids, mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        t1 = time.perf_counter()
        if r > 0:
            tt.append(t1 - t0)
    return statistics.median(tt), sum(prm.numel() for prm in params)


def bipeft_lora_rows(path):
    rows = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\| (BERT-\w+) LoRA step \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                         r"([\d.]+) \| (\d+) \| ([\d.]+) \|", line)
            if m:
                rows[m.group(1)] = (float(m.group(5)), int(m.group(6)), float(m.group(7)))
    return rows


def lora_main(a):
    """--lora: compare with bipeft's LoRA table; each shape runs in a child process
    (--lora-one NAME) so that its peak RSS is its own, like bipeft-bench's."""
    import json
    import subprocess
    ours = bipeft_lora_rows(a.bipeft_output)
    print(f"\n### PyTorch {torch.__version__} peer, LoRA fine-tuning step, same run "
          f"({a.threads or os.cpu_count()} threads, median of {a.reps})\n")
    print("| shape | PyTorch step ms | bipeft step ms | bipeft speed-up | PyTorch peak RSS MiB "
          "| bipeft peak RSS MiB | bipeft / PyTorch RSS | trainable (torch / bipeft) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")
    for shape in SHAPES:
        if shape[0] not in ours:
            continue
        out = subprocess.run([sys.executable, os.path.abspath(__file__), a.bipeft_output,
                              "--threads", str(a.threads), "--reps", str(a.reps),
                              "--lora-one", shape[0]], capture_output=True, text=True,
                             check=True).stdout
        d = json.loads(out.strip().splitlines()[-1])
        mine_ms, mine_n, mine_rss = ours[shape[0]]
        print(f"| {shape[0]} | {d['ms']:.1f} | {mine_ms:.1f} | {d['ms'] / mine_ms:.2f}x | "
              f"{d['rss']:.0f} | {mine_rss:.0f} | {mine_rss / d['rss']:.2f} | "
              f"{d['trainable']} / {mine_n} |")


def bipeft_model_rows(path):
    rows = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\| (BERT-\w+) model, \d+ layers \| ([\d.]+) \| ([\d.]+) \| "
                         r"([\d.]+) \| ([\d.]+) \|", line)
            if m:
                rows[m.group(1)] = float(m.group(5))
    return rows


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
    ap.add_argument("--lora", action="store_true", help="the LoRA-step comparison only")
    ap.add_argument("--lora-one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:  # bipeft-bench's default: all cores
        torch.set_num_threads(os.cpu_count() or 1)
    if a.lora_one:
        import json
        import resource
        shape = next(s for s in SHAPES if s[0] == a.lora_one)
        ms, n = time_lora(shape, a.reps)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps({"ms": 1e3 * ms, "rss": rss, "trainable": n}))
        return 0
    if a.lora:
        lora_main(a)
        return 0
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
    models = bipeft_model_rows(a.bipeft_output)
    print(f"\n### PyTorch {torch.__version__} peer, whole BERT model, frozen backbone, forward + "
          f"backward to the input embeddings ({torch.get_num_threads()} threads, median of "
          f"{a.reps})\n")
    print("| shape | PyTorch fwd ms | PyTorch bwd ms | PyTorch tokens/s | bipeft tokens/s "
          "| bipeft / PyTorch |\n|---|---:|---:|---:|---:|---:|")
    for shape in SHAPES:
        f, b = time_model(shape, a.reps)
        tps = shape[1] * shape[2] / (f + b)
        mine = models.get(shape[0])
        ratio = f"{mine / tps:.2f}x" if mine else "-"
        print(f"| {shape[0]}, {shape[6]} layers | {1e3 * f:.1f} | {1e3 * b:.1f} | {tps:.0f} | "
              f"{mine if mine else '-'} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
