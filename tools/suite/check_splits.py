#!/usr/bin/env python3
"""Check a suite folder: file format and split leaks.

    python3 tools/suite/check_splits.py DIR      DIR/<task>/{train,dev,test}.tsv

Per file: UTF-8, LF line ends, a header row, the same number of tab-separated fields on every
row, no empty field, no control character inside a field, at least one example.
Per task: no text (any text column: sentence, sentence1, sentence2) of dev or test appears in
train, and none is shared between dev and test. Exit 0 when all is well; otherwise every
problem is printed as "file:line: rule" and the exit status is 1.
"""

import os
import re
import sys

SPLITS = ("train", "dev", "test")
CTRL = re.compile(r"[\x00-\x1f\x7f]")


def read_tsv(path, problems):
    """Rows of a TSV as lists of fields (header first); format problems go to problems."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append("%s: invalid UTF-8 at byte %d" % (path, e.start))
        return []
    if "\r" in text:
        problems.append("%s: CR in file (LF line ends expected)" % path)
    if not text.endswith("\n"):
        problems.append("%s: no newline at end of file" % path)
    rows = [line.split("\t") for line in text.split("\n")[:-1]]
    if len(rows) < 2:
        problems.append("%s: no examples" % path)
        return rows
    width = len(rows[0])
    for i, row in enumerate(rows, 1):
        if len(row) != width:
            problems.append("%s:%d: %d fields, header has %d" % (path, i, len(row), width))
        for v in row:
            if not v:
                problems.append("%s:%d: empty field" % (path, i))
            elif CTRL.search(v):
                problems.append("%s:%d: control character in a field" % (path, i))
    return rows


def check_task(task_dir, problems):
    texts = {}
    for s in SPLITS:
        path = os.path.join(task_dir, s + ".tsv")
        if not os.path.exists(path):
            problems.append("%s: missing" % path)
            texts[s] = {}
            continue
        rows = read_tsv(path, problems)
        if not rows:
            texts[s] = {}
            continue
        cols = [i for i, name in enumerate(rows[0]) if name != "label"]
        seen = {}
        for line, row in enumerate(rows[1:], 2):
            for i in cols:
                if i < len(row):
                    seen.setdefault(row[i], "%s:%d" % (path, line))
        texts[s] = seen
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        for t in sorted(set(texts[a]) & set(texts[b])):
            problems.append("%s: text also in %s (%s): %.60s" % (texts[b][t], a, texts[a][t], t))


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: check_splits.py DIR")
    root = argv[1]
    tasks = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not tasks:
        raise SystemExit("check_splits.py: no task folders under %s" % root)
    problems = []
    for t in tasks:
        check_task(os.path.join(root, t), problems)
    for p in problems:
        print(p)
    if problems:
        print("check_splits: %d problem(s) in %s" % (len(problems), root))
        return 1
    print("check_splits: %s: %d tasks, format ok, no text shared between splits"
          % (root, len(tasks)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
