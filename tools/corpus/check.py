#!/usr/bin/env python3
"""Check a built pretraining corpus, independently of the builder (tools/corpus/build.py).

    python3 tools/corpus/check.py SUITE_DIR CORPUS_DIR [--strict-definitions]

Exit 0 when clean, 1 with one line `FILE:LINE: problem` per problem (the first 20 of each
kind, then a count), 2 on bad usage or unreadable input.

Rules, for every CORPUS_DIR/*.txt:
  format  the file is valid UTF-8 and ends with a newline; no line is empty or blank and no
          line holds a tab or a carriage return.
  leaks   no text of the suite's dev and test splits (every column of SUITE_DIR/*/dev.tsv and
          test.tsv whose header starts with "sentence") occurs in a corpus line as a normalised
          word sequence: a text of 3 or more words as a contiguous run of the line's words, a
          shorter one as the whole line.
  counts  when CORPUS_DIR/corpus.json exists, each source's "kept" equals its file's lines.

Written apart from build.py on purpose, so that one mistake cannot hide in both: build.py
lower-cases ASCII words ([a-z0-9] and inner apostrophes) and forbids n-grams; this checker
normalises with NFKC + casefold, splits at every character that is not a Unicode letter or
digit (so "don't" is two words here), and looks every text up whole. Lookup: the texts of 3+
words are indexed by their first three words; every position of every corpus line is probed
in that index and a hit is compared word by word with the whole text. Short texts go into a
set of whole lines.

--strict-definitions also treats the part after the first ": " of a text ("lemma: definition"
for WordNet texts) as a text of its own (when it has 3+ words). build.py does not filter on it,
so a WordNet synset whose gloss is in dev/test but which has several lemmas keeps its gloss
line ("recapture, retaking: the act of taking something back" for the dev/test text
"recapture: the act of taking something back"). Without the flag those lines are counted
on one "note" line and do not fail the check.
"""

import json
import os
import re
import sys
import unicodedata

TOKEN = re.compile(r"[^\W_]+")    # runs of Unicode letters and digits
SHOW = 20                         # problems printed per kind


def norm(text):
    return tuple(TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()))


def suite_texts(suite_dir):
    """[(words, text, where)] for every dev/test text of the suite."""
    out = []
    tasks = sorted(d for d in os.listdir(suite_dir) if os.path.isdir(os.path.join(suite_dir, d)))
    for task in tasks:
        for split in ("dev", "test"):
            path = os.path.join(suite_dir, task, split + ".tsv")
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8", newline="") as f:
                rows = f.read().split("\n")
            header = rows[0].split("\t")
            cols = [i for i, h in enumerate(header) if h.startswith("sentence")]
            if not cols:
                sys.exit("corpus check: %s has no 'sentence*' column" % path)
            for n, row in enumerate(rows[1:], start=2):
                if not row:
                    continue
                fields = row.split("\t")
                for i in cols:
                    if i < len(fields) and fields[i].strip():
                        out.append((norm(fields[i]), fields[i],
                                    "%s/%s.tsv:%d" % (task, split, n)))
    if not out:
        sys.exit("corpus check: no dev/test texts under %s (run make data first)" % suite_dir)
    return out


class Index:
    def __init__(self, texts):
        self.by_head = {}      # first three words -> [(words, text, where)]
        self.whole = {}        # words of a 1-2 word text -> (text, where)
        for words, text, where in texts:
            if len(words) >= 3:
                self.by_head.setdefault(words[:3], []).append((words, text, where))
            elif words:
                self.whole.setdefault(words, (text, where))

    def find(self, ws):
        """The first indexed text that occurs in the line's words ws, or None."""
        hit = self.whole.get(ws)
        if hit:
            return hit
        heads = self.by_head
        for i in range(len(ws) - 2):
            cands = heads.get(ws[i:i + 3])
            if cands:
                for words, text, where in cands:
                    if ws[i:i + len(words)] == words:
                        return text, where
        return None


def read_lines(path, problems):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        problems["format"].append("%s:%d: invalid UTF-8 (byte %d)" % (path, line, e.start))
        text = raw.decode("utf-8", errors="replace")
    if not text.endswith("\n"):
        problems["format"].append("%s: does not end with a newline" % path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            problems["format"].append("%s:%d: empty line" % (path, n))
        if "\t" in line:
            problems["format"].append("%s:%d: holds a tab" % (path, n))
        if "\r" in line:
            problems["format"].append("%s:%d: holds a carriage return" % (path, n))
    return lines


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = [a for a in argv[1:] if a.startswith("--")]
    if len(args) != 2 or any(f != "--strict-definitions" for f in flags):
        print("usage: check.py SUITE_DIR CORPUS_DIR [--strict-definitions]", file=sys.stderr)
        return 2
    suite_dir, corpus_dir = args
    strict = bool(flags)

    texts = suite_texts(suite_dir)
    index = Index(texts)
    defs = []
    for words, text, where in texts:
        head, sep, rest = text.partition(": ")
        if sep and len(norm(rest)) >= 3:
            defs.append((norm(rest), rest, where + " (definition part)"))
    def_index = Index(defs)

    files = sorted(f for f in os.listdir(corpus_dir) if f.endswith(".txt"))
    if not files:
        print("corpus check: no .txt files in %s" % corpus_dir, file=sys.stderr)
        return 2
    problems = {"format": [], "leak": [], "counts": [], "definition": []}
    counts, n_lines = {}, 0
    for name in files:
        path = os.path.join(corpus_dir, name)
        lines = read_lines(path, problems)
        counts[name[:-4]] = len(lines)
        n_lines += len(lines)
        for n, line in enumerate(lines, start=1):
            ws = norm(line)
            hit = index.find(ws)
            if hit:
                problems["leak"].append("%s:%d: holds the suite text of %s: %s"
                                        % (path, n, hit[1], hit[0]))
                continue
            hit = def_index.find(ws)
            if hit:
                problems["definition"].append("%s:%d: holds the definition of %s: %s"
                                              % (path, n, hit[1], hit[0]))

    meta = os.path.join(corpus_dir, "corpus.json")
    if os.path.exists(meta):
        with open(meta, encoding="utf-8") as f:
            sources = json.load(f).get("sources", {})
        for name, n in sorted(counts.items()):
            kept = sources.get(name, {}).get("kept")
            if kept != n:
                problems["counts"].append("%s: corpus.json says %s lines kept for %s, the file "
                                          "has %d" % (meta, kept, name, n))

    failing = ["format", "leak", "counts"] + (["definition"] if strict else [])
    bad = 0
    for kind in failing:
        for p in problems[kind][:SHOW]:
            print(p)
        if len(problems[kind]) > SHOW:
            print("... and %d more %s problems" % (len(problems[kind]) - SHOW, kind))
        bad += len(problems[kind])
    if bad:
        print("corpus check: FAIL: %d problems (%s) in %d files, %d lines"
              % (bad, ", ".join("%s %d" % (k, len(problems[k])) for k in failing), len(files),
                 n_lines))
        return 1
    if not strict and problems["definition"]:
        print("corpus check: note: %d lines hold the definition part of a dev/test text "
              "('lemma: definition') under other words (--strict-definitions fails on them)"
              % len(problems["definition"]))
    print("corpus check: ok: %d files, %d lines, %d dev/test texts (%d of 3+ words), "
          "no leak, format clean" % (len(files), n_lines, len(texts),
                                     sum(len(v) for v in index.by_head.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
