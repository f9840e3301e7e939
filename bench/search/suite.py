#!/usr/bin/env python3
"""bench/search/suite.py - the search comparison of docs/RESULTS.md on the offline task suite.

Every method (BIPEFT, S3Delta-style, manual LoRA / adapter / BitFit at the same budget, full
fine-tuning; ablations with METHODS=...) on every suite task with the committed base model
(models/bipeft-base), for 3 seeds and 2 budgets, each a `bipeft search` session of
configs/suite_<task>.lua turned into a search with configs/default.lua's settings (S1 space,
ranks {1, 2}, 4 search epochs, 3 retraining epochs; S3Delta on ranks {1, 4, 8}). Prints a Markdown table per task of the
test metric (median and min-max over seeds), parameters used, and the search and retrain wall
times; writes every number to bench/search/out/suite.tsv (rows of earlier runs are kept, so a
long benchmark can be run in parts; the rows committed in docs/results/suite.tsv count as done).

    python3 bench/search/suite.py                       (make && make data first; hours)
    TASKS=wn_super SEEDS=1 BUDGETS=2e-3 METHODS=bipeft,manual-lora python3 bench/search/suite.py
    JOBS=2 THREADS=1 python3 bench/search/suite.py      (two runs at a time, one thread each)

A run whose row is already in suite.tsv is skipped (RERUN=1 runs it again), so the benchmark
can be stopped and started again; rows another machine ran, kept beside it as suite-*.tsv, count
as done and are in the report. REPORT=1 only prints the tables; REPORT=results writes them into
docs/RESULTS.md (between its markers) and every row into docs/results/suite.tsv. Every row
records the host (SUITE_HOST names it, else the host name) and the number of runs sharing it
(jobs), since wall times compare only within one machine and load. SUITE_SESSIONS puts the
sessions elsewhere; ORDER=seed runs every task's first seed before any second one. Creating
bench/search/out/suite.stop lets the runs under way finish and starts no new one (remove it
before the next start).
"""
import concurrent.futures
import platform
import threading
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.environ.get("SUITE_OUT", os.path.join(ROOT, "bench", "search", "out"))
SESSIONS = os.environ.get("SUITE_SESSIONS", os.path.join(OUT, "suite-sessions"))
BIN = os.path.join(ROOT, "bin", "bipeft")
# the first 78 runs' structures, kept as the means the report printed (their sessions are gone)
EARLY = os.path.join(ROOT, "docs", "results", "suite-structures-early.tsv")
COMMITTED = os.path.join(ROOT, "docs", "results", "suite.tsv")
ABLATED = os.path.join(ROOT, "docs", "results", "ablations.tsv")  # the abl-* rows
TASKS = ["fortune_tech", "wn_super", "wn_hyper", "wn_freq"]

METHODS = [
    ("bipeft", "search = {}"),
    ("bipeft-noiter", "search = { iterative = false, early_stop = false }"),
    ("bipeft-nogumbel", "search = { gumbel = false }"),
    # S3Delta keeps the space it was measured on before issue 18 (ranks {1, 4, 8}), so the
    # baseline BIPEFT must beat did not move; s3delta-r12 runs it on BIPEFT's ranks {1, 2}
    ("s3delta", "search = { method = 's3delta' }, optim = { arch_lr = 0.1 }, "
     "space = peft.s1{ ranks = { 1, 4, 8 } }"),
    ("s3delta-r12", "search = { method = 's3delta' }, optim = { arch_lr = 0.1 }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    ("manual-lora", "search = { method = 'manual' }, space = peft.space{ peft.lora{ "
     "targets = { 'q', 'k', 'v', 'o', 'ffn_up', 'ffn_down' }, ranks = { 1, 2, 4, 8 } } }"),
    ("manual-adapter", "search = { method = 'manual' }, space = peft.space{ peft.lra{ "
     "targets = { 'attn', 'ffn' }, ranks = { 1, 2, 4, 8 } } }"),
    ("manual-bitfit", "search = { method = 'manual' }, space = peft.space{ peft.bitfit{} }"),
    # every weight trains: at the PEFT learning rate (3e-3) full fine-tuning of the base model
    # diverges to the majority class (measured: fortune_tech 0.500), so it gets 1e-4, the
    # usual order for fine-tuning a small BERT
    ("full", "search = { method = 'full' }, optim = { lr = 1e-4 }"),
]
DEFAULT_METHODS = "bipeft,s3delta,manual-lora,manual-adapter,manual-bitfit,full"

# Ablations of BIPEFT (issue 18, docs/SEARCH.md): one factor each against `bipeft-v1`, the
# search as committed before the search-quality work (configs/default.lua then: S1 with ranks
# {1, 4, 8}, scores divided by the size at the largest rank, no fill, no stage spacing), then
# combinations. OLD_DEFAULT is applied before each variant's own settings, so the variants mean
# the same thing whatever configs/default.lua holds now. Their rows go to
# docs/results/ablations.tsv, not into the main tables. A variant's space, when given, replaces
# the S1 with ranks {1, 4, 8}.
OLD_DEFAULT = ("search = { sens_norm = 'rmax', fill = false, stage_span = 0 }, "
               "space = peft.s1{ ranks = { 1, 4, 8 } }")
S1_NO_LRA = "peft.s1{ ranks = { 1, 4, 8 }, kinds = { 'lora', 'bitfit', 'ln' } }"
ABLATIONS = [
    ("bipeft-v1", ""),
    ("abl-fill", "search = { fill = true }"),
    ("abl-norm-rank", "search = { sens_norm = 'rank' }"),
    ("abl-norm-none", "search = { sens_norm = 'none' }"),
    ("abl-gate", "search = { criterion = 'gate' }"),
    ("abl-gate-rank", "search = { criterion = 'gate', sens_norm = 'rank' }"),
    ("abl-tra", "search = { criterion = 'tra' }"),
    ("abl-ranks12", "space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-ranks14", "space = peft.s1{ ranks = { 1, 4 } }"),
    ("abl-wsample", "search = { weight_rank = 'sample' }"),
    ("abl-nolra", f"space = {S1_NO_LRA}"),
    ("abl-gategrad", "search = { gate_grad = 'sampled' }"),
    ("abl-begin2", "search = { prune_begin_epoch = 2 }"),
    ("abl-stages100", "search = { stages = 100, hard_stages = 10 }"),
    ("abl-span1", "search = { stage_span = 1 }"),
    # combinations: the one-factor winners together (c1), then one factor on top of c1
    ("abl-c1", "search = { sens_norm = 'rank', fill = true }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-c1-nolra", "search = { sens_norm = 'rank', fill = true }, "
     "space = peft.s1{ ranks = { 1, 2 }, kinds = { 'lora', 'bitfit', 'ln' } }"),
    ("abl-c1-gate", "search = { sens_norm = 'rank', fill = true, criterion = 'gate' }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-c1-span1", "search = { sens_norm = 'rank', fill = true, stage_span = 1 }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-c1-wsample", "search = { sens_norm = 'rank', fill = true, weight_rank = 'sample' }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-c1-st20", "search = { sens_norm = 'rank', fill = true, stages = 20 }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-c1-nofill", "search = { sens_norm = 'rank' }, space = peft.s1{ ranks = { 1, 2 } }"),
    ("abl-c1-ema95", "search = { sens_norm = 'rank', fill = true, ema = 0.95 }, "
     "space = peft.s1{ ranks = { 1, 2 } }"),
    # c2 = c1 without low-rank adapters (S1 = LoRA, BitFit, LN), then one factor on top
    ("abl-c2-span1", "search = { sens_norm = 'rank', fill = true, stage_span = 1 }, "
     "space = peft.s1{ ranks = { 1, 2 }, kinds = { 'lora', 'bitfit', 'ln' } }"),
    ("abl-c2-ema95", "search = { sens_norm = 'rank', fill = true, ema = 0.95 }, "
     "space = peft.s1{ ranks = { 1, 2 }, kinds = { 'lora', 'bitfit', 'ln' } }"),
    ("abl-c2-wsample", "search = { sens_norm = 'rank', fill = true, weight_rank = 'sample' }, "
     "space = peft.s1{ ranks = { 1, 2 }, kinds = { 'lora', 'bitfit', 'ln' } }"),
    ("abl-c2-ranks124", "search = { sens_norm = 'rank', fill = true }, "
     "space = peft.s1{ ranks = { 1, 2, 4 }, kinds = { 'lora', 'bitfit', 'ln' } }"),
    ("abl-c2-begin2", "search = { sens_norm = 'rank', fill = true, prune_begin_epoch = 2 }, "
     "space = peft.s1{ ranks = { 1, 2 }, kinds = { 'lora', 'bitfit', 'ln' } }"),
]
METHODS += ABLATIONS
ABLATION_NAMES = {n for n, _ in ABLATIONS}

TEMPLATE = """-- generated by bench/search/suite.py
local t = include("suite_{task}.lua", {{
  mode = "search",
  budget = {{ fraction = {budget} }},
  search = {{ checkpoint_every = 0, snapshot_every = 50, baseline = "none" }},
  train = {{ log_every = 50 }},
  session = "{sessions}",
  seed = {seed},
  threads = {threads},
}})
for _, o in ipairs({{ {{ {pre} }}, {{ {extra} }} }}) do
  for k, v in pairs(o) do
    if type(v) == "table" and type(t[k]) == "table" and k ~= "space" then
      for k2, v2 in pairs(v) do t[k][k2] = v2 end
    else
      t[k] = v
    end
  end
end
return t
"""

KEYS = ["task", "method", "budget", "seed", "metric", "test", "dev", "params", "search",
        "retrain", "iterations", "planned", "wall", "threads", "jobs", "host",
        "B", "lora", "lra", "bitfit", "ln", "modules", "layers"]
KINDS = ["lora", "lra", "bitfit", "ln"]


def structure_cells(summary, structure):
    """The budget B and the structure's parameters per kind, modules and layers used: kept in
    the row itself, since the session folders are scratch (older rows lack these cells)."""
    cells = {"B": summary.get("budget", "")}
    if structure:
        mods = structure["modules"]
        for k in KINDS:
            cells[k] = sum(m["params"] for m in mods if m["kind"] == k)
        cells["modules"] = len(mods)
        cells["layers"] = ",".join(str(x) for x in sorted({m["layer"] for m in mods
                                                            if "layer" in m}))
    return cells


def read_rows(path):
    """The rows of a TSV file with a header line; lines starting with # are comments."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [x.rstrip("\n") for x in f if x.strip() and not x.startswith("#")]
    if not lines:
        return []
    keys = lines[0].split("\t")
    return [dict(zip(keys, line.split("\t"))) for line in lines[1:]]


def main():
    quick = "--quick" in sys.argv[1:]
    tasks = os.environ.get("TASKS", ",".join(TASKS)).split(",")
    methods = os.environ.get("METHODS", "bipeft" if quick else DEFAULT_METHODS).split(",")
    budgets = os.environ.get("BUDGETS", "2e-3" if quick else "2e-3,5e-3").split(",")
    seeds = [int(s) for s in os.environ.get("SEEDS", "1,2,3").split(",")]
    threads = int(os.environ.get("THREADS", "1" if quick else "2"))
    jobs = int(os.environ.get("JOBS", "2" if quick else "1"))
    rerun = os.environ.get("RERUN") == "1"
    known = dict(METHODS)
    for m in methods:
        if m not in known:
            sys.exit(f"suite: unknown method {m} (one of {', '.join(known)})")
    os.makedirs(OUT, exist_ok=True)
    tsv = os.path.join(OUT, "suite.tsv")
    rows = read_rows(tsv)
    others = []  # rows another machine ran (suite-*.tsv): done too
    for name in sorted(os.listdir(OUT)):
        if name.startswith("suite-") and name.endswith(".tsv"):
            others += read_rows(os.path.join(OUT, name))
    # the committed rows count as done as well, so a fresh clone knows them; in the report a
    # row of this machine or another one wins over a committed one
    committed = read_rows(COMMITTED) + read_rows(ABLATED)
    known_rows = committed + rows + others
    done = {(r["task"], r["method"], r["budget"], r["seed"]) for r in known_rows}
    if os.environ.get("REPORT") == "1":
        report(known_rows)
        return
    if os.environ.get("REPORT") == "results":
        write_results(known_rows)
        return
    if os.environ.get("REPORT") == "quick":
        quick_report(known_rows, methods, budgets)
        return
    todo = []
    for task in tasks:
        for seed in seeds:
            for budget in budgets:
                for name in methods:
                    if name == "full" and budget != budgets[0]:
                        continue  # no budget: once
                    key = (task, name, budget, str(seed))
                    if key in done and not rerun:
                        continue
                    todo.append(key)
    print(f"suite: {len(todo)} runs to do, {jobs} at a time, {threads} thread(s) each",
          file=sys.stderr)
    stop = os.path.join(OUT, "suite.stop")
    if os.path.exists(stop):
        sys.exit(f"suite: {stop} exists: remove it to start runs")
    if os.environ.get("ORDER") == "seed":  # every task's first seed, then the next
        todo.sort(key=lambda k: k[3])
    host = os.environ.get("SUITE_HOST") or platform.node()
    lock = threading.Lock()

    def one(key):
        nonlocal rows
        task, name, budget, seed = key
        tag = f"{task}-{name}-b{budget}-s{seed}"
        if os.path.exists(stop):  # drain: the runs under way finish, no new one starts
            return
        sess = os.path.join(SESSIONS, tag)
        subprocess.run(["rm", "-rf", sess], check=True)
        cfg = os.path.join(ROOT, "configs", f"_suite_{tag}.lua")
        with open(cfg, "w") as f:
            f.write(TEMPLATE.format(task=task, budget=budget, sessions=SESSIONS, seed=seed,
                                    threads=threads, extra=known[name],
                                    pre=OLD_DEFAULT if name in ABLATION_NAMES else ""))
        t0 = time.time()
        try:
            r = subprocess.run([BIN, "search", cfg, "--session", sess, "--quiet"],
                               capture_output=True, text=True, cwd=ROOT)
        finally:
            os.remove(cfg)
        wall = time.time() - t0
        if r.returncode != 0:
            print(f"{tag}: FAILED: {r.stderr.strip()}", file=sys.stderr)
            return
        with open(os.path.join(sess, "summary.json")) as f:
            s = json.load(f)
        row = dict(task=task, method=name, budget=budget, seed=seed,
                   metric=s["metric"], test=s["test"], dev=s["dev"],
                   params=s["params"], search=s["search_seconds"],
                   retrain=s["retrain_seconds"], iterations=s["iterations"],
                   planned=s["planned"], wall=round(wall, 1), threads=threads, jobs=jobs,
                   host=host)
        sp = os.path.join(sess, "structure.json")
        st = None
        if os.path.exists(sp):
            with open(sp) as f:
                st = json.load(f)
        row.update(structure_cells(s, st))
        with lock:
            rows = [x for x in rows if (x["task"], x["method"], x["budget"], x["seed"]) != key]
            rows.append({k: str(v) for k, v in row.items()})
            # the ablation loop shows dev only: test is for the final tables
            shown = ("dev", s["dev"]) if quick else ("test", s["test"])
            print(f"{tag:44s} {s['metric']} {shown[0]} {shown[1]:.4f} params {s['params']:7d} "
                  f"search {s['search_seconds']:6.1f}s retrain {s['retrain_seconds']:6.1f}s",
                  file=sys.stderr)
            tmp = tsv + ".tmp"
            with open(tmp, "w") as f:  # after every run: a long benchmark can stop
                f.write("\t".join(KEYS) + "\n")
                for x in rows:
                    f.write("\t".join(x.get(k, "") for k in KEYS) + "\n")
            os.replace(tmp, tsv)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for fut in [ex.submit(one, k) for k in todo]:
            fut.result()
    if quick:
        quick_report(committed + rows + others, methods, budgets)
    else:
        report(committed + rows + others)


def ablation_order(name):
    """Ablations in the order METHODS lists them (unknown names last, by name)."""
    names = [n for n, _ in METHODS]
    return (names.index(name) if name in names else len(names), name)


def quick_report(rows, methods, budgets):
    """The ablation loop's table (dev metric only: test is for the final tables): per method
    and budget, the median dev metric over seeds per task, their mean, the change against
    `bipeft-v1` (the search before issue 18) on the same seeds, budget use, where the budget
    went and the search time. The S3Delta-style, manual-LoRA and current `bipeft` rows are
    printed as references."""
    rows = unique_rows(rows)
    show = list(dict.fromkeys(["s3delta", "s3delta-r12", "manual-lora", "bipeft-v1", "bipeft"]
                               + methods))
    for budget in budgets:
        print(f"\n#### budget {budget}: dev metric, median over seeds (n)\n")
        print("| method | " + " | ".join(TASKS) + " | mean | vs v1 | budget use "
              "(min-med) | lora/lra/bitfit/ln % | search s |")
        print("|---|" + "---|" * (len(TASKS) + 5))
        base = {(r["task"], r["seed"]): float(r["dev"]) for r in rows
                if r["method"] == "bipeft-v1" and r["budget"] == budget}
        for name in show:
            g = [r for r in rows if r["method"] == name and r["budget"] == budget]
            if not g:
                continue
            cells, meds = [], []
            for t in TASKS:
                d = [float(r["dev"]) for r in g if r["task"] == t]
                if d:
                    meds.append(statistics.median(d))
                    cells.append(f"{meds[-1]:.4f} ({len(d)})")
                else:
                    cells.append("")
            mean = f"{statistics.mean(meds):.4f}" if len(meds) == len(TASKS) else ""
            # the change on the (task, seed) pairs both have, per task median, then the mean
            diffs = []
            for t in TASKS:
                d = [float(r["dev"]) - base[(t, r["seed"])] for r in g
                     if r["task"] == t and (t, r["seed"]) in base]
                if d:
                    diffs.append(statistics.median(d))
            vs = f"{100 * statistics.mean(diffs):+.2f}" if diffs and name != "bipeft-v1" else ""
            use = sorted(int(r["params"]) / int(r["B"]) for r in g if r.get("B"))
            usecell = f"{use[0]:.2f}-{statistics.median(use):.2f}" if use else ""
            st = [row_structure(r) for r in g]
            st = [x for x in st if x]
            if st:
                tot = sum(sum(x[0].values()) for x in st) or 1
                kinds = "/".join(f"{100 * sum(x[0][k] for x in st) / tot:.0f}" for k in KINDS)
            else:
                kinds = ""
            sec = statistics.median(float(r["search"]) for r in g)
            print(f"| {name} | " + " | ".join(cells) + f" | {mean} | {vs} | {usecell} | "
                  f"{kinds} | {sec:.0f} |")


def row_structure(r):
    """(parameters per kind, modules, layers) of a row, from its own cells; None for rows
    older than those cells."""
    if not r.get("modules"):
        return None
    layers = {int(x) for x in r["layers"].split(",") if x}
    return {k: int(r[k]) for k in KINDS}, int(r["modules"]), layers


def unique_rows(rows):
    """One row per (task, method, budget, seed): later files win."""
    seen = {}
    for r in rows:
        seen[(r["task"], r["method"], r["budget"], r["seed"])] = r
    return list(seen.values())


def report(rows):
    """Markdown: one table per task, then the medians of every task side by side."""
    rows = [r for r in unique_rows(rows) if not r["method"].startswith("abl-")]
    order = [name for name, _ in METHODS if not name.startswith("abl-")]
    tasks = [t for t in TASKS if any(r["task"] == t for r in rows)]
    budgets = sorted({r["budget"] for r in rows}, key=float)
    med = {}
    for task in tasks:
        rs = [r for r in rows if r["task"] == task]
        print(f"\n#### {task} ({rs[0]['metric']}, test; median and min-max over the seeds run)\n")
        print("| budget | method | seeds | test | params (max) | search s | retrain s | host |")
        print("|---|---|---|---|---|---|---|---|")
        for budget in budgets:
            for name in order:
                g = [r for r in rs if r["method"] == name and
                     (r["budget"] == budget or name == "full")]
                if not g or (name == "full" and budget != budgets[0]):
                    continue
                t = [float(r["test"]) for r in g]
                med[(task, budget, name)] = (statistics.median(t), len(t))
                b = "-" if name == "full" else budget
                seeds = ",".join(sorted(r["seed"] for r in g))
                hosts = ",".join(sorted({r.get("host", "") for r in g}))
                print(f"| {b} | {name} | {seeds} | {statistics.median(t):.3f} "
                      f"({min(t):.3f}-{max(t):.3f}) | {max(int(r['params']) for r in g)} | "
                      f"{statistics.median(float(r['search']) for r in g):.0f} | "
                      f"{statistics.median(float(r['retrain']) for r in g):.0f} | {hosts} |")
    kinds = KINDS
    early = {(r["task"], r["budget"], r["method"]): r for r in read_rows(EARLY)}
    print("\n#### Where the searched budget went (mean parameters per kind; n = seeds whose "
          "structure is on record)\n")
    print("| task | budget | method | n | " + " | ".join(kinds) + " | modules | layers used |")
    print("|---|---|---|---|" + "---|" * (len(kinds) + 2))
    for task in tasks:
        for budget in budgets:
            for name in ("bipeft", "s3delta"):
                grp = [r for r in rows if (r["task"], r["budget"], r["method"]) ==
                       (task, budget, name)]
                have = [(r["seed"], row_structure(r)) for r in grp]
                structs = [x for _, x in have if x]
                n = len(structs)
                per = {k: sum(x[0][k] for x in structs) for k in kinds}
                nmod = sum(x[1] for x in structs)
                layers = set().union(*(x[2] for x in structs))
                # seeds whose structure is not on record: the earlier runs' means, weighted by
                # their seeds, when they cover exactly those seeds
                e = early.get((task, budget, name))
                if e and set(e["seeds"].split(",")) == {sd for sd, x in have if not x}:
                    w = len(e["seeds"].split(","))
                    for k in kinds:
                        per[k] += w * float(e[k])
                    nmod += w * float(e["modules"])
                    layers |= {int(x) for x in e["layers"].split(",") if x}
                    n += w
                if not n:
                    continue
                print(f"| {task} | {budget} | {name} | {n} | " +
                      " | ".join(f"{per[k] / n:.0f}" for k in kinds) +
                      f" | {nmod / n:.1f} | {','.join(map(str, sorted(layers)))} |")
    print("\n#### BIPEFT against the paper's expectations "
          "(medians over the seeds both methods ran)\n")
    print("| task | budget | B | BIPEFT - S3Delta (points) | BIPEFT - best manual (points) | "
          "search time BIPEFT / S3Delta | BIPEFT params / B |")
    print("|---|---|---|---|---|---|---|")
    for task in tasks:
        for budget in budgets:
            def grp(name):
                return [r for r in rows if (r["task"], r["budget"], r["method"]) ==
                        (task, budget, name)]
            bi, s3 = grp("bipeft"), grp("s3delta")
            if not bi:
                continue

            def gap(other):  # median difference over the seeds both have
                seeds = {r["seed"] for r in bi} & {r["seed"] for r in other}
                if not seeds:
                    return None
                return (statistics.median(float(r["test"]) for r in bi if r["seed"] in seeds) -
                        statistics.median(float(r["test"]) for r in other if r["seed"] in seeds))
            cells = []
            g = gap(s3)
            cells.append(f"{100 * g:+.1f}" if g is not None else "")
            man = [gap(grp(n)) for n in ("manual-lora", "manual-adapter", "manual-bitfit")]
            man = [x for x in man if x is not None]
            cells.append(f"{100 * min(man):+.1f}" if man else "")
            if s3:
                ratio = (statistics.median(float(r["search"]) for r in bi) /
                         statistics.median(float(r["search"]) for r in s3))
                cells.append(f"{ratio:.2f}")
            else:
                cells.append("")
            # B depends only on the model (every suite task uses models/bipeft-base) and the
            # budget fraction: one row that records it gives it for every task and seed
            bs = {int(r["B"]) for r in rows if r["budget"] == budget and r.get("B")}
            if len(bs) > 1:
                sys.exit(f"suite: budget {budget}: rows disagree on B: {sorted(bs)}")
            bud = bs.pop() if bs else ""
            use = [int(r["params"]) / bud for r in bi] if bud else []
            cells.append(f"{min(use):.2f}-{max(use):.2f}" if use else "")
            print(f"| {task} | {budget} | {bud} | " + " | ".join(cells) + " |")
    print("\n#### Every task (median test metric over the seeds run; n = seeds)\n")
    cols = [(t, b) for t in tasks for b in budgets]
    print("| method | " + " | ".join(f"{t} {b}" for t, b in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name in order:
        cells = []
        for t, b in cols:
            v = med.get((t, budgets[0] if name == "full" else b, name))
            cells.append(f"{v[0]:.3f} (n={v[1]})" if v else "")
        if any(cells):
            print(f"| {name} | " + " | ".join(cells) + " |")


def write_results(rows):
    """REPORT=results: the tables into docs/RESULTS.md between its markers, and every row
    (this machine's and the other machines') into docs/results/suite.tsv."""
    import contextlib
    import io
    rows = unique_rows(rows)
    abl = [r for r in rows if r["method"] in ABLATION_NAMES]
    rows = [r for r in rows if r["method"] not in ABLATION_NAMES]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        report(rows)
    path = os.path.join(ROOT, "docs", "RESULTS.md")
    with open(path) as f:
        text = f.read()
    begin = "<!-- begin: REPORT=1 python3 bench/search/suite.py -->\n"
    end = "<!-- end of the generated tables -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        sys.exit(f"suite: {path}: expected one '{begin.strip()}' before one '{end}'")
    a, b = text.index(begin) + len(begin), text.index(end)
    text = text[:a] + buf.getvalue().lstrip("\n") + "\n" + text[b:]
    # the ablation table (dev only), from the abl-* rows, when RESULTS.md has its markers
    ab, ae = "<!-- begin: the ablation table (suite.py quick_report) -->\n", \
        "<!-- end of the ablation table -->"
    if text.count(ab) == 1 and text.count(ae) == 1 and text.index(ab) < text.index(ae):
        names = sorted({r["method"] for r in abl}, key=ablation_order)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            quick_report(rows + abl, names, sorted({r["budget"] for r in abl}, key=float))
        a, b = text.index(ab) + len(ab), text.index(ae)
        text = text[:a] + buf.getvalue().lstrip("\n") + "\n" + text[b:]
    def tsv(rs):
        return "\t".join(KEYS) + "\n" + "".join("\t".join(r.get(k, "") for k in KEYS) + "\n"
                                               for r in rs)
    for p, body in ((path, text), (COMMITTED, tsv(rows)), (ABLATED, tsv(abl))):
        with open(p + ".tmp", "w") as f:
            f.write(body)
        os.replace(p + ".tmp", p)
    print(f"suite: wrote {path} and docs/results/suite.tsv ({len(rows)} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
