#!/usr/bin/env python3
"""bench/search/run.py [--quick] - the search benchmark of docs/RESULTS.md.

Every method of the engine (BIPEFT, its ablations, S3Delta-style, manual structures at the
same budget, a random structure, full fine-tuning) on the benchmark task, for 3 seeds and 2
budgets, each a `bipeft search` session; prints a Markdown table of test accuracy, parameters
used and the wall time of search and retrain (medians over seeds, and min-max), and writes
every number to bench/search/out/results.tsv. Needs bin/bipeft (make) and python3."""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "bench", "search", "out")
BIN = os.path.join(ROOT, "bin", "bipeft")

METHODS = [
    ("bipeft", "search = {}"),
    ("bipeft-noiter", "search = { iterative = false, early_stop = false }"),
    ("binary-then-rank", "search = { order = 'binary_then_rank' }"),
    ("rank-then-binary", "search = { order = 'rank_then_binary' }"),
    ("bipeft-nogumbel", "search = { gumbel = false }"),
    ("s3delta", "search = { method = 's3delta' }, optim = { arch_lr = 0.1 }"),
    ("manual-lora", "search = { method = 'manual' }, space = peft.space{ peft.lora{ "
     "targets = { 'q', 'k', 'v', 'o', 'ffn_up', 'ffn_down' }, ranks = { 1, 2, 4, 8 } } }"),
    ("manual-adapter", "search = { method = 'manual' }, space = peft.space{ peft.lra{ "
     "targets = { 'attn', 'ffn' }, ranks = { 1, 2, 4, 8 }, reduction = 4 } }"),
    ("manual-bitfit", "search = { method = 'manual' }, space = peft.space{ peft.bitfit{} }"),
    ("random", "search = { method = 'random' }"),
    ("full", "search = { method = 'full' }"),
]

TEMPLATE = """return include_base{{
  mode = 'search',
  model = {{ path = '{model}' }},
  task = {{ name = 'words-bench', train = '{data}/train.tsv', dev = '{data}/dev.tsv',
           test = '{data}/test.tsv', labels = {{ '0', '1' }}, max_len = 24 }},
  space = peft.space{{ peft.lora{{ ranks = {{ 1, 4, 8 }} }},
                      peft.lra{{ ranks = {{ 1, 4, 8 }}, reduction = 4 }},
                      peft.bitfit{{}}, peft.ln{{}} }},
  budget = {{ params = {budget} }},
  optim = {{ lr = {lr}, arch_lr = 0.01, batch_size = 32, epochs = {epochs} }},
  search = {{ stages = 30, hard_stages = 5, prune_begin_epoch = {pbe}, checkpoint_every = 0,
             snapshot_every = 50 }},
  train = {{ log_every = 50 }},
  session = '{out}/sessions',
  seed = {seed}, threads = 2,
}}
"""


def config(method_extra, budget, seed, epochs, data, model):
    base = TEMPLATE.format(model=model, data=data, budget=budget, seed=seed, epochs=epochs,
                           out=OUT, lr=os.environ.get("LR", "1e-2"),
                           pbe=os.environ.get("PBE", "1"))
    # the method's fields replace the template's (a shallow Lua merge)
    return ("local function include_base(t)\n"
            "  local o = {" + method_extra + "}\n"
            "  for k, v in pairs(o) do\n"
            "    if type(v) == 'table' and type(t[k]) == 'table' and k ~= 'space' then\n"
            "      for k2, v2 in pairs(v) do t[k][k2] = v2 end\n"
            "    else t[k] = v end\n"
            "  end\n"
            "  return t\n"
            "end\n" + base)


def main():
    quick = "--quick" in sys.argv
    data = os.path.join(OUT, "data")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "search", "make_task.py"), data],
                   check=True)
    model = os.path.join(OUT, "llama-x10")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "search", "scale_model.py"),
                    os.path.join(ROOT, "tests", "data", "hf", "llama-cls"), model,
                    os.environ.get("SCALE", "1")],
                   check=True)
    only = os.environ.get("METHODS")
    budgets = [int(b) for b in os.environ.get("BUDGETS", "1000" if quick else "1000,3000").split(",")]
    seeds = [1] if quick else [1, 2, 3]
    epochs = int(os.environ.get("EPOCHS", "4" if quick else "10"))
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for budget in budgets:
        for name, extra in METHODS:
            if only and name not in only.split(","):
                continue
            for seed in seeds:
                sess = os.path.join(OUT, "sessions", f"{name}-b{budget}-s{seed}")
                if os.path.exists(os.path.join(sess, "summary.json")):
                    subprocess.run(["rm", "-rf", sess], check=True)
                elif os.path.exists(sess):
                    subprocess.run(["rm", "-rf", sess], check=True)
                cfg = os.path.join(OUT, f"{name}-b{budget}-s{seed}.lua")
                with open(cfg, "w") as f:
                    f.write(config(extra, budget, seed, epochs, data, model))
                t0 = time.time()
                r = subprocess.run([BIN, "search", cfg, "--session", sess, "--quiet"],
                                   capture_output=True, text=True)
                wall = time.time() - t0
                if r.returncode != 0:
                    print(f"{name} b{budget} s{seed}: FAILED: {r.stderr.strip()}", file=sys.stderr)
                    continue
                with open(os.path.join(sess, "summary.json")) as f:
                    s = json.load(f)
                rows.append(dict(method=name, budget=budget, seed=seed, test=s["test"],
                                 dev=s["dev"], params=s["params"], search=s["search_seconds"],
                                 retrain=s["retrain_seconds"], iterations=s["iterations"],
                                 planned=s["planned"], wall=wall))
                print(f"{name:18s} b{budget:<5d} s{seed}  test {s['test']:.4f}  params "
                      f"{s['params']:6d}  search {s['search_seconds']:6.1f}s  it "
                      f"{s['iterations']}/{s['planned']}", file=sys.stderr)
    with open(os.path.join(OUT, "results.tsv"), "w") as f:
        keys = list(rows[0].keys())
        f.write("\t".join(keys) + "\n")
        for r in rows:
            f.write("\t".join(str(r[k]) for k in keys) + "\n")
    print("| budget | method | test acc median (min-max) | params (max) | search s median | "
          "retrain s median | iterations |")
    print("|---|---|---|---|---|---|---|")
    for budget in budgets:
        for name, _ in METHODS:
            rs = [r for r in rows if r["method"] == name and r["budget"] == budget]
            if not rs:
                continue
            t = [r["test"] for r in rs]
            print(f"| {budget} | {name} | {statistics.median(t):.3f} ({min(t):.3f}-{max(t):.3f}) | "
                  f"{max(r['params'] for r in rs)} | "
                  f"{statistics.median(r['search'] for r in rs):.1f} | "
                  f"{statistics.median(r['retrain'] for r in rs):.1f} | "
                  f"{statistics.median(r['iterations'] for r in rs):.0f}/"
                  f"{rs[0]['planned']} |")


if __name__ == "__main__":
    main()
