#!/usr/bin/env python3
"""make_export_run.py - a bipeft run folder from a committed HF fixture, without training.

Writes RUN_DIR/run.json, structure.json and adapter.safetensors (native tensor names, F32)
with random non-zero module weights, so that check_peft_export.py can compare bipeft's
exports with transformers + peft on a machine that has them. Pure Python (no numpy/torch).

    python3 bench/gpu/make_export_run.py tests/data/hf/bert-cls RUN_DIR [--kind lora|ia3|ln]
"""
import argparse
import json
import os
import random
import struct
import sys

# (family, target) -> (in, out) as functions of the config
def dims(cfg, family, target):
    if family == "gpt2":
        C, F = cfg["n_embd"], cfg.get("n_inner") or 4 * cfg["n_embd"]
        H = KV = C
    else:
        C, F = cfg["hidden_size"], cfg["intermediate_size"]
        heads = cfg["num_attention_heads"]
        D = cfg.get("head_dim") or C // heads
        H = heads * D
        KV = cfg.get("num_key_value_heads", heads) * D
    return {"q": (C, H), "k": (C, KV), "v": (C, KV), "o": (H, C), "ffn_up": (C, F),
            "ffn_down": (F, C), "ffn_gate": (C, F)}[target], C, F


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        shape, vals = tensors[name]
        data = struct.pack("<%df" % len(vals), *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "bipeft"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("run_dir")
    ap.add_argument("--kind", choices=["lora", "ia3", "ln"], default="lora")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
    family = {"bert": "bert", "roberta": "roberta", "gpt2": "gpt2"}.get(cfg["model_type"], "llama")
    layers = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    labels = cfg.get("id2label") or {"0": "LABEL_0", "1": "LABEL_1"}
    rnd = random.Random(a.seed)
    mods, tensors = [], {}
    if a.kind == "lora":
        plan = [(0, "q", 4, 8.0), (0, "v", 2, 0.0), (layers - 1, "k", 2, 4.0),
                (layers - 1, "ffn_down", 3, 0.0)]
        for layer, t, r, alpha in plan:
            (din, dout), _, _ = dims(cfg, family, t)
            mods.append({"kind": "lora", "layer": layer, "target": t, "rank": r,
                         "alpha": alpha, "dropout": 0.0})
            base = "layers.%d.lora.%s." % (layer, t)
            tensors[base + "lora_A"] = ([r, din], [rnd.uniform(-0.3, 0.3) for _ in range(r * din)])
            tensors[base + "lora_B"] = ([dout, r], [rnd.uniform(-0.3, 0.3) for _ in range(dout * r)])
    elif a.kind == "ia3":
        for layer, t in [(0, "k"), (0, "v"), (layers - 1, "ffn_up")]:
            (_, dout), _, F = dims(cfg, family, t)
            n = F if t == "ffn_up" else dout
            mods.append({"kind": "ia3", "layer": layer, "target": t})
            tensors["layers.%d.ia3.%s.scale" % (layer, t)] = ([n], [rnd.uniform(-0.5, 0.5) for _ in range(n)])
    else:
        for layer, t in [(0, "attn_ln"), (layers - 1, "ffn_ln")]:
            _, C, _ = dims(cfg, family, "q")
            mods.append({"kind": "ln", "layer": layer, "target": t})
            tensors["layers.%d.ln.%s.weight" % (layer, t)] = ([C], [rnd.uniform(-0.5, 0.5) for _ in range(C)])
    os.makedirs(a.run_dir, exist_ok=True)
    run = {"format": "bipeft-run", "version": 1, "model_path": os.path.abspath(a.model_dir),
           "family": family, "task": "export-check", "num_labels": len(labels),
           "regression": False, "labels": [labels[str(i)] for i in range(len(labels))],
           "full": False, "head": False, "max_len": 64, "seed": a.seed}
    json.dump(run, open(os.path.join(a.run_dir, "run.json"), "w"), indent=1)
    st = {"format": "bipeft-structure", "version": 1,
          "model": {"family": family, "hidden": dims(cfg, family, "q")[1], "layers": layers},
          "modules": mods}
    json.dump(st, open(os.path.join(a.run_dir, "structure.json"), "w"), indent=1)
    write_safetensors(os.path.join(a.run_dir, "adapter.safetensors"), tensors)
    # a finished run: bipeft train writes summary.json last, and export refuses a run without
    json.dump({"made_by": "bench/gpu/make_export_run.py"},
              open(os.path.join(a.run_dir, "summary.json"), "w"))
    print("wrote %s (%d %s modules on %s)" % (a.run_dir, len(mods), a.kind, a.model_dir))


if __name__ == "__main__":
    sys.exit(main())
