#!/usr/bin/env python3
"""Reference scores for the offline task suite (standard library only), as a Markdown table.

    python3 tools/suite/baselines.py [DIR]        DIR defaults to data/suite

Two baselines per task, trained on train only and scored on dev and test:
  - majority: the most frequent train label (regression: the train mean);
  - bow-lr: bag-of-words logistic regression (softmax for multi-class, least squares for
    regression) on lowercased word unigrams seen at least twice in train, plus, for pairs,
    the words the two sentences share. Plain SGD with L2, fixed settings (no tuning on dev
    or test), examples visited in a seeded order.
Metrics: accuracy (binary, multi-class), macro-F1 (multi-class), Pearson and Spearman
(regression). docs/SUITE.md records the output.
"""

import math
import os
import random
import re
import sys

SEED = 20240611
EPOCHS = 10
LR = 0.1
L2 = 1e-4
WORD = re.compile(r"[a-z0-9']+")


def read(path):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return rows[0], rows[1:]


def words(text):
    return WORD.findall(text.lower())


def features(header, row):
    """Feature names of one example (a set: binary presence)."""
    idx = {n: i for i, n in enumerate(header)}
    if "sentence" in idx:
        return {"w:" + w for w in words(row[idx["sentence"]])}
    a, b = set(words(row[idx["sentence1"]])), set(words(row[idx["sentence2"]]))
    return {"a:" + w for w in a} | {"b:" + w for w in b} | {"ab:" + w for w in a & b}


def vocab(train_feats):
    count = {}
    for fs in train_feats:
        for f in fs:
            count[f] = count.get(f, 0) + 1
    return {f for f, n in count.items() if n >= 2}


# ---- models: sparse weights as dicts feature -> weight ----

def train_softmax(X, y, classes):
    """Multinomial logistic regression (two classes: the same model, two score rows)."""
    W = {c: {} for c in classes}
    b = {c: 0.0 for c in classes}
    order = list(range(len(X)))
    rng = random.Random(SEED)
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        lr = LR / (1 + epoch)
        for i in order:
            scores = {c: b[c] + sum(W[c].get(f, 0.0) for f in X[i]) for c in classes}
            m = max(scores.values())
            z = sum(math.exp(s - m) for s in scores.values())
            for c in classes:
                g = math.exp(scores[c] - m) / z - (1.0 if c == y[i] else 0.0)
                b[c] -= lr * g
                w = W[c]
                for f in X[i]:  # L2 applied to the weights an example touches (lazy decay)
                    old = w.get(f, 0.0)
                    w[f] = old - lr * (g + L2 * old)
    return lambda fs: max(classes, key=lambda c: (b[c] + sum(W[c].get(f, 0.0) for f in fs), c))


def train_linear(X, y):
    """Least-squares linear regression by SGD on the centred target."""
    mean = sum(y) / len(y)
    W, b = {}, 0.0
    order = list(range(len(X)))
    rng = random.Random(SEED)
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        lr = 0.02 / (1 + epoch)
        for i in order:
            g = b + sum(W.get(f, 0.0) for f in X[i]) - (y[i] - mean)
            b -= lr * g
            for f in X[i]:
                old = W.get(f, 0.0)
                W[f] = old - lr * (g + L2 * old)
    return lambda fs: mean + b + sum(W.get(f, 0.0) for f in fs)


# ---- metrics ----

def accuracy(gold, pred):
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def macro_f1(gold, pred, classes):
    f1s = []
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, pred))
        fp = sum(g != c and p == c for g, p in zip(gold, pred))
        fn = sum(g == c and p != c for g, p in zip(gold, pred))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def pearson(x, y):
    n = len(x)
    if max(x) == min(x) or max(y) == min(y):
        return float("nan")  # a constant has no correlation
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return sxy / (sx * sy)


def ranks(v):
    """Average ranks (ties share the mean rank), 1-based."""
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(x, y):
    return pearson(ranks(x), ranks(y))


# ---- per task ----

def fmt(v):
    return "n/a" if v != v else "%.3f" % v


def run_task(d):
    header, train = read(os.path.join(d, "train.tsv"))
    splits = {s: read(os.path.join(d, s + ".tsv"))[1] for s in ("dev", "test")}
    li = header.index("label")
    voc = vocab([features(header, r) for r in train])
    X = [features(header, r) & voc for r in train]
    ytr = [r[li] for r in train]
    regression = all(re.fullmatch(r"-?\d+\.\d+", v) for v in ytr)
    lines = []
    if regression:
        y = [float(v) for v in ytr]
        mean = sum(y) / len(y)
        model = train_linear(X, y)
        for name, pred in (("majority (train mean)", lambda fs: mean), ("bow-lr", model)):
            cells = []
            for s in ("dev", "test"):
                gold = [float(r[li]) for r in splits[s]]
                p = [pred(features(header, r) & voc) for r in splits[s]]
                cells += [fmt(pearson(gold, p)), fmt(spearman(gold, p))]
            lines.append((name, "Pearson / Spearman", cells))
        return lines
    classes = sorted(set(ytr))
    counts = {c: ytr.count(c) for c in classes}
    majority = max(classes, key=lambda c: (counts[c], c))
    model = train_softmax(X, ytr, classes)
    multi = len(classes) > 2
    for name, pred in (("majority", lambda fs: majority), ("bow-lr", model)):
        cells = []
        for s in ("dev", "test"):
            gold = [r[li] for r in splits[s]]
            p = [pred(features(header, r) & voc) for r in splits[s]]
            cells.append(fmt(accuracy(gold, p)))
            if multi:
                cells.append(fmt(macro_f1(gold, p, classes)))
        lines.append((name, "accuracy / macro-F1" if multi else "accuracy", cells))
    return lines


def main(argv):
    root = argv[1] if len(argv) > 1 else "data/suite"
    print("| task | baseline | metric | dev | test |")
    print("|---|---|---|---|---|")
    for t in sorted(os.listdir(root)):
        if not os.path.isdir(os.path.join(root, t)):
            continue
        for name, metric, cells in run_task(os.path.join(root, t)):
            half = len(cells) // 2
            print("| %s | %s | %s | %s | %s |" % (t, name, metric, " / ".join(cells[:half]),
                                                 " / ".join(cells[half:])))
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
