#!/usr/bin/env python3
"""tools/check_run.py SESSION_DIR - the checks `make run-ci` makes of the session it ran.

The session ended (summary.json), the structure and the LoRA baseline fit the budget, the files
a user is told about exist, and both trained structures beat the majority class of the test
split by MARGIN (classification; default 0.05) - a pipeline that runs but learns nothing fails
here. Exit 0 with one line per check, 1 naming the first failed check."""
import json
import os
import sys
from collections import Counter

MARGIN = float(os.environ.get("MARGIN", "0.05"))


def fail(msg):
    print(f"check_run: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: check_run.py SESSION_DIR")
    d = sys.argv[1]
    try:
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{d}: {e}")
    for rel in ("structure.json", "retrain/adapter.safetensors", "retrain/run.json",
                "baseline-lora/structure.json", "baseline-lora/run/adapter.safetensors",
                "log.db"):
        if not os.path.isfile(os.path.join(d, rel)):
            fail(f"{d}/{rel} is missing")
    print(f"check_run: files present in {d}")
    if s["params"] > s["budget"]:
        fail(f"the structure has {s['params']} parameters, over the budget of {s['budget']}")
    b = s.get("baseline")
    if not b:
        fail("summary.json has no baseline")
    if b["params"] > s["budget"]:
        fail(f"the LoRA baseline has {b['params']} parameters, over the budget {s['budget']}")
    print(f"check_run: structure {s['params']} and LoRA baseline {b['params']} parameters, "
          f"budget {s['budget']}")
    task = cfg["task"]
    if task["type"] == "classification" and s["metric"] == "accuracy":
        col = task["columns"]["label"]
        with open(task["test"], encoding="utf-8") as f:
            head = f.readline().rstrip("\n").split("\t")
            i = head.index(col)
            labels = Counter(line.rstrip("\n").split("\t")[i] for line in f if line.strip())
        majority = max(labels.values()) / sum(labels.values())
        for name, acc in (("found structure", s["test"]), ("LoRA baseline", b["test"])):
            if acc < majority + MARGIN:
                fail(f"{name}: test accuracy {acc:.4f} is not {MARGIN} above the majority "
                     f"class ({majority:.4f})")
        print(f"check_run: test accuracy {s['test']:.4f} (structure), {b['test']:.4f} (LoRA), "
              f"majority class {majority:.4f}")


if __name__ == "__main__":
    main()
