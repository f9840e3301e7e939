#!/usr/bin/env python3
"""bench/search/make_task.py OUT_DIR - a synthetic but not trivial two-class text task for
the search benchmark (until the offline suite of the embedded-default issue exists).

Each sentence draws 6-12 words: content words come from the label's word set with
probability 0.65 and from the other set otherwise, mixed with neutral words, so a single word
decides nothing and a model must weigh several; 8% of the labels are flipped. Deterministic
(seeded), written as GLUE-style TSV: train 1200, dev 300, test 300 rows."""
import os
import random
import sys

A = "apple river green happy sun song bird light warm sweet bright calm".split()
B = "stone cold dark sad iron rain ash night grey bitter storm dust".split()
N = "the a was and very of in it is to with on".split()
PURITY = float(os.environ.get("PURITY", "0.8"))
NOISE = float(os.environ.get("NOISE", "0.0"))


def rows(n, rng):
    out = []
    for i in range(n):
        y = i % 2
        own, other = (A, B) if y == 0 else (B, A)
        words = []
        for _ in range(rng.randint(6, 12)):
            r = rng.random()
            if r < 0.35:
                words.append(rng.choice(N))
            elif r < 0.35 + 0.65 * PURITY:
                words.append(rng.choice(own))
            else:
                words.append(rng.choice(other))
        if rng.random() < NOISE:
            y = 1 - y
        out.append((" ".join(words), y))
    rng.shuffle(out)
    return out


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    rng = random.Random(20261127)
    for name, n in (("train", 1200), ("dev", 300), ("test", 300)):
        with open(os.path.join(d, name + ".tsv"), "w") as f:
            f.write("sentence\tlabel\n")
            for s, y in rows(n, rng):
                f.write(f"{s}\t{y}\n")


if __name__ == "__main__":
    main()
