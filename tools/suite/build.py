#!/usr/bin/env python3
"""Build the offline task suite: GLUE-style TSVs from human-made labels in Debian packages.

    python3 tools/suite/build.py OUT_DIR      writes OUT_DIR/<task>/{train,dev,test}.tsv

Deterministic: the output depends only on the package files and SEED (no clock, no hash
randomisation: every choice goes through sha256 or a seeded random.Random). Splits are made by
hashing each text, so an exact text lands in one split only; pair tasks only pair texts of the
same split. See docs/SUITE.md for the tasks and how labels are derived.
"""

import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sources  # noqa: E402

SEED = 20240611
SPLITS = ("train", "dev", "test")
MAX_WORDS = 80        # whitespace words per text (about 128 WordPiece tokens at most)
MAX_PAIR_WORDS = 50   # per side of a pair, so a pair stays near 128 tokens


def h(*parts):
    """A stable 64-bit integer from strings (sha256): split assignment and orderings."""
    d = hashlib.sha256("\x1f".join([str(SEED)] + [str(p) for p in parts]).encode()).digest()
    return int.from_bytes(d[:8], "big")


def split_of(task, text):
    """train 70% / dev 15% / test 15% by a hash of the text itself."""
    u = h(task, "split", text) / 2.0 ** 64
    return "train" if u < 0.70 else ("dev" if u < 0.85 else "test")


def ordered(task, items, key):
    """items in a seeded pseudo-random order (sort by hash of key(item); ties by the key)."""
    return sorted(items, key=lambda it: (h(task, "order", key(it)), key(it)))


def short(text, limit):
    return 0 < len(text.split()) <= limit


def unique_labels(pairs):
    """[(text, label)] -> {text: label}, dropping texts seen with two different labels."""
    seen, bad = {}, set()
    for text, label in pairs:
        if text in seen and seen[text] != label:
            bad.add(text)
        seen.setdefault(text, label)
    return {t: l for t, l in seen.items() if t not in bad}


def by_split(task, labelled):
    out = {s: [] for s in SPLITS}
    for text, label in labelled.items():
        out[split_of(task, text)].append((text, label))
    return out


# ---- tasks ----

# fortune_tech: is the quotation filed in a computing fortune file (1) or in a file about
# people and society (0)? Labels: the fortune file the maintainers put the cookie in.
TECH = ("computers", "linux", "perl", "linuxcookie", "debian")
SOCIETY = ("people", "politics", "men-women", "work")


def task_fortune_tech():
    task = "fortune_tech"
    raw = []
    for label, files in (("1", TECH), ("0", SOCIETY)):
        for name in files:
            for cookie in sources.read_fortunes(name):
                text = sources.clean(sources.strip_attribution(cookie))
                if short(text, MAX_WORDS):
                    raw.append((text, label))
    parts = by_split(task, unique_labels(raw))
    out = {}
    for s in SPLITS:
        pos = ordered(task, [x for x in parts[s] if x[1] == "1"], lambda x: x[0])
        neg = ordered(task, [x for x in parts[s] if x[1] == "0"], lambda x: x[0])
        n = min(len(pos), len(neg))  # balanced: the larger class is subsampled
        out[s] = ordered(task, pos[:n] + neg[:n], lambda x: x[0])
    return ("sentence", "label"), out


# wn_super: the WordNet supersense (lexicographer file, e.g. noun.animal) of a noun synset from
# its "lemma: definition" text. Classes with under 300 synsets (noun.Tops, noun.motive) are left
# out; each class is capped per split so the big ones (noun.artifact) do not swamp the rest.
SUPER_CAP = {"train": 200, "dev": 40, "test": 40}


def task_wn_super(nouns):
    task = "wn_super"
    raw = [(s.text(), sources.LEXNAMES[s.lexfile]) for s in nouns.values()]
    labelled = {t: l for t, l in unique_labels(raw).items() if short(t, MAX_WORDS)}
    sizes = {}
    for l in labelled.values():
        sizes[l] = sizes.get(l, 0) + 1
    keep = {l for l, n in sizes.items() if n >= 300}
    parts = by_split(task, {t: l for t, l in labelled.items() if l in keep})
    out = {}
    for s in SPLITS:
        rows = []
        for label in sorted(keep):
            cls = ordered(task, [x for x in parts[s] if x[1] == label], lambda x: x[0])
            rows += cls[:SUPER_CAP[s]]
        out[s] = ordered(task, rows, lambda x: x[0])
    return ("sentence", "label"), out


# wn_hyper: sentence pair. Label 1: sentence2 is the gloss of a direct hypernym (or instance
# hypernym) of sentence1's synset. Label 0: sentence2 is a synset from the same supersense as
# that hypernym that is neither an ancestor nor a descendant of sentence1's synset (a hard
# negative). Each chosen hyponym gives one positive and one negative, so sentence1 alone says
# nothing about the label.
HYPER_N = {"train": 2000, "dev": 500, "test": 500}  # positives; as many negatives
HYPER = ("@", "@i")


def task_wn_hyper(nouns):
    task = "wn_hyper"
    text = {k: s.text() for k, s in nouns.items()}
    ok = {k for k, t in text.items() if short(t, MAX_PAIR_WORDS)}
    # a text shared by two synsets would make its relations ambiguous: leave those out
    count = {}
    for k in ok:
        count[text[k]] = count.get(text[k], 0) + 1
    ok = {k for k in ok if count[text[k]] == 1}
    split = {k: split_of(task, text[k]) for k in ok}
    parents = {k: [(p[2], p[1]) for p in s.ptrs if p[0] in HYPER and p[2] == "n"]
               for k, s in nouns.items()}

    ancestors_memo = {}

    def ancestors(k):
        if k not in ancestors_memo:
            acc = set()
            for p in parents.get(k, ()):
                acc.add(p)
                acc |= ancestors(p)
            ancestors_memo[k] = acc
        return ancestors_memo[k]

    sys.setrecursionlimit(10000)
    pool = {}  # (split, lexfile) -> sorted synset keys: where negatives come from
    for k in sorted(ok):
        pool.setdefault((split[k], nouns[k].lexfile), []).append(k)

    out = {}
    for s in SPLITS:
        edges = [(c, p) for c in sorted(ok) if split[c] == s
                 for p in parents[c] if p in ok and split[p] == s]
        edges = ordered(task, edges, lambda e: text[e[0]] + "\x1e" + text[e[1]])
        rng = random.Random(h(task, "neg", s))
        rows, used = [], set()
        for c, p in edges:
            if len(rows) >= 2 * HYPER_N[s]:
                break
            if c in used:  # one positive per hyponym: more distinct sentence1 texts
                continue
            cands = pool[(s, nouns[p].lexfile)]
            anc = ancestors(c)
            neg = None
            for _ in range(50):
                n = cands[rng.randrange(len(cands))]
                if n != c and n not in anc and c not in ancestors(n):
                    neg = n
                    break
            if neg is None:
                continue
            used.add(c)
            rows.append((text[c], text[p], "1"))
            rows.append((text[c], text[neg], "0"))
        out[s] = ordered(task, rows, lambda r: r[0] + "\x1e" + r[1])
    return ("sentence1", "sentence2", "label"), out


# wn_freq: regression. Target: log2(1 + n) where n is how often the first lemma of a noun or
# verb synset was tagged with that sense in the Princeton semantic concordances (cntlist).
# Only senses tagged at least once.
FREQ_N = {"train": 4000, "dev": 1000, "test": 1000}


def task_wn_freq(nouns, verbs):
    import math
    task = "wn_freq"
    counts = sources.read_cntlist()
    raw = []
    for syns in (nouns, verbs):
        for s in syns.values():
            n = counts.get(sources.sense_key(s, 0), 0)
            if n >= 1:
                raw.append((s.text(), "%.4f" % math.log2(1 + n)))
    labelled = {t: l for t, l in unique_labels(raw).items() if short(t, MAX_WORDS)}
    parts = by_split(task, labelled)
    out = {s: ordered(task, parts[s], lambda x: x[0])[:FREQ_N[s]] for s in SPLITS}
    return ("sentence", "label"), out


# ---- output ----

def check_field(value):
    if not value or "\t" in value or "\n" in value or "\r" in value:
        raise SystemExit("build.py: bad field %r" % value[:80])
    value.encode("utf-8")  # raises on lone surrogates


def write_task(out_dir, name, header, splits):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for s in SPLITS:
        with open(os.path.join(d, s + ".tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\t".join(header) + "\n")
            for row in splits[s]:
                for v in row:
                    check_field(v)
                f.write("\t".join(row) + "\n")
        print("  %-13s %-5s %5d rows" % (name, s, len(splits[s])))


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: build.py OUT_DIR")
    out_dir = argv[1]
    nouns = sources.read_wordnet("n")
    verbs = sources.read_wordnet("v")
    tasks = [
        ("fortune_tech",) + task_fortune_tech(),
        ("wn_super",) + task_wn_super(nouns),
        ("wn_hyper",) + task_wn_hyper(nouns),
        ("wn_freq",) + task_wn_freq(nouns, verbs),
    ]
    for name, header, splits in tasks:
        write_task(out_dir, name, header, splits)


if __name__ == "__main__":
    main(sys.argv)
