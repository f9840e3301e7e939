#!/usr/bin/python3
"""Write tests/data/block_ref.bin: an independent PyTorch reference for src/model/block.c.

A post-LN BERT encoder layer with grouped-query attention (3 query heads, 1 kv head), a key
padding mask, erf GELU and LayerNorm eps 1e-12, computed by PyTorch in float64 from float32
inputs: the output y, the input gradient dx and every parameter gradient for a given upstream
gradient dy. tests/test_block.c compares bipeft's fp32 layer against it.

Seeded and deterministic: `/usr/bin/python3 tools/make_block_fixture.py` regenerates the same
file. Needs Debian's python3-torch (a developer tool; the tests themselves need no torch).

File format (little endian): b"BPFX", u32 count, then per tensor: u32 name length, name
(UTF-8), u32 ndim, u32 dims[ndim], float64 data (row-major).
"""
import struct
import sys

import torch

B, T, C, H, KVH, FF = 2, 5, 12, 3, 1, 16
D = C // H
NAMES = [  # HF BERT names inside a layer, in src/model/block.h enum order
    ("attention.self.query.weight", (C, C)), ("attention.self.query.bias", (C,)),
    ("attention.self.key.weight", (KVH * D, C)), ("attention.self.key.bias", (KVH * D,)),
    ("attention.self.value.weight", (KVH * D, C)), ("attention.self.value.bias", (KVH * D,)),
    ("attention.output.dense.weight", (C, C)), ("attention.output.dense.bias", (C,)),
    ("attention.output.LayerNorm.weight", (C,)), ("attention.output.LayerNorm.bias", (C,)),
    ("intermediate.dense.weight", (FF, C)), ("intermediate.dense.bias", (FF,)),
    ("output.dense.weight", (C, FF)), ("output.dense.bias", (C,)),
    ("output.LayerNorm.weight", (C,)), ("output.LayerNorm.bias", (C,)),
]


def f32(t):
    """Round to float32 and back: the values bipeft receives exactly."""
    return t.float().double()


def layer(p, x, mask):
    def lin(t, name):
        return t @ p[name + ".weight"].T + p[name + ".bias"]

    def ln(t, name):
        return torch.nn.functional.layer_norm(t, (C,), p[name + ".weight"], p[name + ".bias"],
                                              1e-12)

    q = lin(x, "attention.self.query").view(B, T, H, D).transpose(1, 2)
    k = lin(x, "attention.self.key").view(B, T, KVH, D).transpose(1, 2)
    v = lin(x, "attention.self.value").view(B, T, KVH, D).transpose(1, 2)
    k, v = k.repeat_interleave(H // KVH, dim=1), v.repeat_interleave(H // KVH, dim=1)
    s = q @ k.transpose(-1, -2) / D ** 0.5
    s = s.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
    a = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
    h1 = ln(x + lin(a, "attention.output.dense"), "attention.output.LayerNorm")
    f = torch.nn.functional.gelu(lin(h1, "intermediate.dense"))  # exact (erf) GELU
    return ln(h1 + lin(f, "output.dense"), "output.LayerNorm")


def main():
    g = torch.Generator().manual_seed(20261127)
    p = {}
    for name, shape in NAMES:
        t = f32(torch.rand(shape, generator=g, dtype=torch.float64) - 0.5)
        if name.endswith("LayerNorm.weight"):
            t = t + 1.0
        p[name] = t.requires_grad_(True)
    x = f32(torch.rand(B, T, C, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    dy = f32(torch.rand(B, T, C, generator=g, dtype=torch.float64) * 2 - 1)
    mask = torch.ones(B, T, dtype=torch.float64)
    mask[1, 3:] = 0  # second sequence: two padding positions
    y = layer(p, x, mask)
    y.backward(dy)
    out = [("x", x.detach()), ("mask", mask), ("dy", dy), ("y", y.detach()),
           ("dx", x.grad)]
    out += [(n, p[n].detach()) for n, _ in NAMES]
    out += [("grad." + n, p[n].grad) for n, _ in NAMES]
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/block_ref.bin"
    with open(path, "wb") as f:
        f.write(b"BPFX" + struct.pack("<I", len(out)))
        for name, t in out:
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", t.dim()))
            f.write(struct.pack(f"<{t.dim()}I", *t.shape))
            f.write(t.contiguous().numpy().astype("<f8").tobytes())
    print(f"wrote {path}: {len(out)} tensors (torch {torch.__version__})")


if __name__ == "__main__":
    main()
