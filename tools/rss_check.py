#!/usr/bin/env python3
"""Peak-memory check for loading a BERT-base-sized checkpoint (issue 3, `make check-rss`).

Writes a BERT-base checkpoint (12 layers, hidden 768, vocab 30522, F32, about 440 MB) in HF
layout to a temporary folder with a WordPiece tokenizer from tests/data/tok/bert, runs
`bipeft forward` on one short text, and compares the child's peak resident set size
(getrusage RUSAGE_CHILDREN ru_maxrss) with the size of model.safetensors. Fails (exit 1) when
the ratio exceeds 1.15. Standard library only; the weights are a deterministic pattern (the
loader reads every byte either way, so RSS does not depend on the values).

Usage: tools/rss_check.py [BIPEFT_BIN]   (default bin/bipeft)
"""
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L, C, F, V, P, TV = 12, 768, 3072, 30522, 512, 2


def tensors():
    yield "bert.embeddings.word_embeddings.weight", (V, C)
    yield "bert.embeddings.position_embeddings.weight", (P, C)
    yield "bert.embeddings.token_type_embeddings.weight", (TV, C)
    yield "bert.embeddings.LayerNorm.weight", (C,)
    yield "bert.embeddings.LayerNorm.bias", (C,)
    for i in range(L):
        p = f"bert.encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            yield p + n + ".weight", (C, C)
            yield p + n + ".bias", (C,)
        yield p + "attention.output.LayerNorm.weight", (C,)
        yield p + "attention.output.LayerNorm.bias", (C,)
        yield p + "intermediate.dense.weight", (F, C)
        yield p + "intermediate.dense.bias", (F,)
        yield p + "output.dense.weight", (C, F)
        yield p + "output.dense.bias", (C,)
        yield p + "output.LayerNorm.weight", (C,)
        yield p + "output.LayerNorm.bias", (C,)
    yield "bert.pooler.dense.weight", (C, C)
    yield "bert.pooler.dense.bias", (C,)


def write_checkpoint(d):
    ts = sorted(tensors())
    header, off = {}, 0
    for name, shape in ts:
        n = 4
        for s in shape:
            n *= s
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    chunk = struct.pack("<4f", 0.01, -0.02, 0.015, -0.005) * (1 << 16)  # 1 MiB pattern
    path = os.path.join(d, "model.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        left = off
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": C,
           "num_hidden_layers": L, "num_attention_heads": 12, "intermediate_size": F,
           "vocab_size": V, "max_position_embeddings": P, "type_vocab_size": TV,
           "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copy(os.path.join(ROOT, "tests", "data", "tok", "bert", "tokenizer.json"), d)
    return os.path.getsize(path)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bin", "bipeft")
    d = tempfile.mkdtemp(prefix="bipeft-rss-")
    try:
        size = write_checkpoint(d)
        out = os.path.join(d, "out.safetensors")
        r = subprocess.run([binary, "--threads", "2", "forward", d, "--text",
                            "a short sentence to encode", "--out", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            print(f"rss_check: bipeft forward failed ({r.returncode}): {r.stderr.strip()}")
            return 1
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        ratio = peak / size
        print(f"rss_check: model.safetensors {size / 2**20:.1f} MiB, peak RSS of bipeft "
              f"forward {peak / 2**20:.1f} MiB, ratio {ratio:.3f} (limit 1.15)")
        return 0 if ratio <= 1.15 else 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
