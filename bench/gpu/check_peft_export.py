#!/usr/bin/env python3
"""check_peft_export.py - bipeft's exports of a run against transformers + peft.

Runs `bipeft export RUN_DIR --format peft` and `--format merged`, loads the PEFT export with
AutoModelForSequenceClassification + PeftModel.from_pretrained and the merged folder with
transformers alone, feeds both the token ids that `bipeft forward RUN_DIR` used, and compares
their logits with bipeft's. Prints the max abs differences; exits 1 above --tol (1e-4),
2 when transformers/peft are missing or a step fails.

    python3 bench/gpu/check_peft_export.py RUN_DIR [--text T ...] [--bin build/bin/bipeft]
    python3 bench/gpu/check_peft_export.py RUN_DIR --make-from tests/data/hf/gpt2-cls --kind lora
(--make-from first writes RUN_DIR from a committed fixture with make_export_run.py.)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg, code=2):
    print("check_peft_export: " + msg, file=sys.stderr)
    sys.exit(code)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--text", action="append", help="input texts (repeatable)")
    ap.add_argument("--bin", default=os.environ.get("BIPEFT_BIN", "bin/bipeft"))
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--make-from", help="write RUN_DIR from this fixture first")
    ap.add_argument("--kind", default="lora", choices=["lora", "ia3", "ln"])
    ap.add_argument("--skip-merged", action="store_true")
    a = ap.parse_args()
    try:
        import torch
        import transformers
        import peft
        from safetensors.torch import load_file
    except ImportError as e:
        fail("transformers/peft not installed (%s): pip install torch transformers peft "
             "safetensors" % e)
    if a.make_from:
        run([sys.executable, os.path.join(HERE, "make_export_run.py"), a.make_from, a.run_dir,
             "--kind", a.kind])
    if not os.path.exists(a.bin):
        fail("%s: no bipeft binary (build it, or pass --bin / set BIPEFT_BIN)" % a.bin)
    texts = a.text or ["the quick brown fox", "hello world, a longer second text here"]
    info = json.load(open(os.path.join(a.run_dir, "run.json")))
    tmp = tempfile.mkdtemp(prefix="bipeft-export-check-")
    fwd = os.path.join(tmp, "forward.safetensors")
    cmd = [a.bin, "forward", a.run_dir, "--out", fwd]
    for t in texts:
        cmd += ["--text", t]
    run(cmd)
    ref = load_file(fwd)
    ids, mask, want = ref["input_ids"], ref["attention_mask"], ref["logits"].double()
    print("transformers %s, peft %s, torch %s; %d texts, %d tokens" % (
        transformers.__version__, peft.__version__, torch.__version__, ids.shape[0], ids.shape[1]))
    from transformers import AutoModelForSequenceClassification
    from peft import PeftModel
    results = {}
    peft_dir = os.path.join(tmp, "peft")
    run([a.bin, "export", a.run_dir, "--format", "peft", "--out", peft_dir])
    base = AutoModelForSequenceClassification.from_pretrained(
        info["model_path"], num_labels=info["num_labels"], torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, peft_dir).eval()
    cfg = json.load(open(os.path.join(peft_dir, "adapter_config.json")))
    if not cfg.get("modules_to_save"):
        fail("peft: adapter_config.json has no modules_to_save (the head must be saved)", 1)
    with torch.no_grad():
        results["peft"] = model(input_ids=ids, attention_mask=mask).logits.double()
    if not a.skip_merged:
        merged_dir = os.path.join(tmp, "merged")
        run([a.bin, "export", a.run_dir, "--format", "merged", "--out", merged_dir])
        # dtype "auto": what the merged config.json says is what a user gets (a bf16 base
        # must not turn the F32 tensors written into bf16; issue 20, item 3)
        m = AutoModelForSequenceClassification.from_pretrained(
            merged_dir, torch_dtype="auto").eval()
        if m.dtype != torch.float32:
            fail("merged: transformers loaded it as %s (config.json's dtype), not float32"
                 % m.dtype, 1)
        with torch.no_grad():
            results["merged"] = m(input_ids=ids, attention_mask=mask).logits.double()
    worst = 0.0
    for k, v in results.items():
        d = (v - want).abs().max().item()
        worst = max(worst, d)
        print("%-7s max |logits - bipeft forward| = %.3g" % (k, d))
    if worst > a.tol:
        fail("difference %.3g above tolerance %.3g" % (worst, a.tol), 1)
    print("ok (tolerance %.3g); outputs in %s" % (a.tol, tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
