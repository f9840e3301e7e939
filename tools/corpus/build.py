#!/usr/bin/env python3
"""Build the pretraining corpus of the base model from Debian packages, with every text of the
task suite's dev and test splits kept out.

    python3 tools/corpus/build.py SUITE_DIR OUT_DIR
        writes OUT_DIR/{wordnet,fortunes,kjv}.txt (one passage per line, UTF-8) and
        OUT_DIR/corpus.json (sources, line counts, how many lines the leak filter dropped)

Sources (docs/PRETRAIN.md, "The base model"):
  wordnet   every synset of WordNet 3.0 (wordnet-base): "lemma, lemma: gloss" with the
            gloss's quoted examples, nouns, verbs, adjectives and adverbs
  fortunes  every cookie of every fortune file (fortunes, fortunes-min), attributions kept
  kjv       the King James Bible, one verse per line (bible-kjv, its `bible` command)

The leak filter: every text of every suite dev.tsv and test.tsv (each text field, pairs
included) is normalised to lower-case words; a text of n >= 3 words forbids its
min(n, 8)-grams, a shorter one forbids itself as a whole line. A corpus line that holds a
forbidden n-gram or equals a forbidden line is dropped. check.py re-checks the output
independently. Deterministic: output order is source order; no clock, no randomness.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "suite"))
import sources  # noqa: E402

WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
NGRAM = 8
MIN_LINE_WORDS = 3          # shorter corpus lines carry too little context to be worth keeping


def words(text):
    return WORD.findall(text.lower())


def grams(ws, n):
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def held_out_texts(suite_dir):
    """Every text field of every dev/test TSV of the suite (columns whose header starts with
    "sentence")."""
    out = []
    for task in sorted(os.listdir(suite_dir)):
        for split in ("dev", "test"):
            path = os.path.join(suite_dir, task, split + ".tsv")
            if not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8") as f:
                header = f.readline().rstrip("\n").split("\t")
                cols = [i for i, name in enumerate(header) if name.startswith("sentence")]
                for line in f:
                    fields = line.rstrip("\n").split("\t")
                    out.extend(fields[i] for i in cols)
    if not out:
        raise SystemExit("corpus: no dev/test texts under %s (run make data first)" % suite_dir)
    return out


class LeakFilter:
    def __init__(self, texts):
        self.by_n = {}           # n -> set of forbidden n-grams
        self.lines = set()       # forbidden whole lines (texts of 1-2 words)
        for t in texts:
            self._forbid(words(t))
            # "lemma: definition": the definition alone too, so that a synset with more
            # lemmas does not keep the same gloss under another lemma list
            _, sep, rest = t.partition(": ")
            if sep and len(words(rest)) >= 3:
                self._forbid(words(rest))

    def _forbid(self, ws):
        if len(ws) >= 3:
            n = min(len(ws), NGRAM)
            self.by_n.setdefault(n, set()).update(grams(ws, n))
        elif ws:
            self.lines.add(tuple(ws))

    def leaks(self, text):
        ws = words(text)
        if tuple(ws) in self.lines:
            return True
        for n, forbidden in self.by_n.items():
            for i in range(len(ws) - n + 1):
                if tuple(ws[i:i + n]) in forbidden:
                    return True
        return False


def wordnet_lines():
    out = []
    for name in ("data.noun", "data.verb", "data.adj", "data.adv"):
        with open(os.path.join(sources.WORDNET_DIR, name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):       # licence header
                    continue
                head, _, gloss = line.partition(" | ")
                t = head.split()
                n_words = int(t[3], 16)
                lemmas = []
                for i in range(n_words):
                    w = re.sub(r"\([a-z]+\)$", "", t[4 + 2 * i])   # adjective markers (a), (p)
                    w = w.replace("_", " ")
                    if w not in lemmas:
                        lemmas.append(w)
                out.append(sources.clean(", ".join(lemmas) + ": " + gloss))
    return out


def fortune_lines():
    out = []
    for name in sorted(os.listdir(sources.FORTUNE_DIR)):
        path = os.path.join(sources.FORTUNE_DIR, name)
        if not os.path.isfile(path) or "." in name:      # skip .dat indexes and .u8 links
            continue
        out.extend(sources.clean(c) for c in sources.read_fortunes(name))
    return out


VERSE = re.compile(r"^ +\d+ (.*)$")        # verses are indented; headings ("1 Kings 3") are not


def kjv_lines():
    try:
        text = subprocess.run(["bible", "-l100000", "gen1:1-rev22:21"], check=True,
                              capture_output=True, text=True, encoding="utf-8").stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("corpus: the `bible` command of package bible-kjv failed: %s" % e)
    out = []
    for line in text.split("\n"):
        m = VERSE.match(line)
        if m:
            out.append(sources.clean(m.group(1)))
    if len(out) != 31102:
        raise SystemExit("corpus: expected the 31102 verses of the KJV, got %d" % len(out))
    return out


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: build.py SUITE_DIR OUT_DIR")
    suite_dir, out_dir = argv[1], argv[2]
    leak = LeakFilter(held_out_texts(suite_dir))
    os.makedirs(out_dir, exist_ok=True)
    summary = {"ngram": NGRAM, "min_line_words": MIN_LINE_WORDS, "sources": {}}
    for name, package, lines in (("wordnet", "wordnet-base", wordnet_lines()),
                                 ("fortunes", "fortunes fortunes-min", fortune_lines()),
                                 ("kjv", "bible-kjv", kjv_lines())):
        kept, leaked, short, seen = [], 0, 0, set()
        for line in lines:
            if len(words(line)) < MIN_LINE_WORDS:
                short += 1
            elif line in seen:
                continue
            elif leak.leaks(line):
                leaked += 1
            else:
                seen.add(line)
                kept.append(line)
        with open(os.path.join(out_dir, name + ".txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(kept) + "\n")
        summary["sources"][name] = {"package": package, "read": len(lines), "kept": len(kept),
                                    "dropped_leak": leaked, "dropped_short": short,
                                    "bytes": sum(len(k.encode()) + 1 for k in kept)}
        print("corpus: %-8s %7d lines kept, %5d dropped by the leak filter, %5d too short"
              % (name, len(kept), leaked, short))
    with open(os.path.join(out_dir, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
