"""Readers for the Debian-packaged sources of the offline task suite (standard library only).

WordNet 3.0 (package wordnet-base, /usr/share/wordnet) and the fortune cookie files (package
fortunes, /usr/share/games/fortunes). Each reader returns plain Python data; the task builders
in build.py turn it into labelled examples.
"""

import os
import re

WORDNET_DIR = "/usr/share/wordnet"
FORTUNE_DIR = "/usr/share/games/fortunes"

# lexnames(5WN): lexicographer file number -> name (the supersense). Fixed by WordNet 3.0.
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
]

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def clean(text):
    """One line of text: overstrikes (x BS x) resolved, control characters and runs of
    whitespace (tabs, newlines included) turned into single spaces, ends trimmed. Guarantees
    that a field never holds a tab or a newline."""
    while "\b" in text:
        text = re.sub(r"[^\b]\b", "", text)
        text = text.replace("\b", "")
    text = _CTRL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


class Synset:
    __slots__ = ("offset", "pos", "lexfile", "words", "ptrs", "definition")

    def __init__(self, offset, pos, lexfile, words, ptrs, definition):
        self.offset = offset          # byte offset in data.<pos>: the synset id within a pos
        self.pos = pos                # "n" or "v"
        self.lexfile = lexfile        # lexicographer file number (index into LEXNAMES)
        self.words = words            # [(lemma, lex_id)] in file order
        self.ptrs = ptrs              # [(symbol, offset, pos)]
        self.definition = definition  # the gloss without its quoted examples

    def key(self):
        return (self.pos, self.offset)

    def text(self):
        """"lemma: definition" with the first lemma, underscores as spaces."""
        return clean(self.words[0][0].replace("_", " ") + ": " + self.definition)


def _definition(gloss):
    # A gloss is "definition; \"example\"; \"example\"": keep the definition part.
    gloss = gloss.strip()
    cut = gloss.find('; "')
    if cut < 0 and gloss.startswith('"'):
        return ""
    return (gloss[:cut] if cut >= 0 else gloss).strip().rstrip(";").strip()


def read_wordnet(pos):
    """All synsets of data.noun (pos "n") or data.verb ("v"), keyed by (pos, offset).
    Format: wndb(5WN)."""
    name = {"n": "data.noun", "v": "data.verb"}[pos]
    out = {}
    with open(os.path.join(WORDNET_DIR, name), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header lines
                continue
            head, _, gloss = line.partition(" | ")
            t = head.split()
            offset, lexfile = int(t[0]), int(t[1])
            n_words = int(t[3], 16)
            words = [(t[4 + 2 * i], int(t[5 + 2 * i], 16)) for i in range(n_words)]
            k = 4 + 2 * n_words
            n_ptrs = int(t[k])
            ptrs = []
            for i in range(n_ptrs):
                sym, off, ppos = t[k + 1 + 4 * i], int(t[k + 2 + 4 * i]), t[k + 3 + 4 * i]
                ptrs.append((sym, off, ppos))
            out[(pos, offset)] = Synset(offset, pos, lexfile, words, ptrs, _definition(gloss))
    return out


def read_cntlist():
    """SemCor sense-tag counts: sense key -> count (cntlist(5WN), file cntlist.rev)."""
    counts = {}
    with open(os.path.join(WORDNET_DIR, "cntlist.rev"), encoding="utf-8") as f:
        for line in f:
            key, _sense, cnt = line.split()
            counts[key] = int(cnt)
    return counts


def sense_key(synset, word_index):
    """The sense key of one word of a noun or verb synset: lemma%ss_type:lex_filenum:lex_id::"""
    lemma, lex_id = synset.words[word_index]
    ss_type = {"n": 1, "v": 2}[synset.pos]
    return "%s%%%d:%02d:%02d::" % (lemma.lower(), ss_type, synset.lexfile, lex_id)


def read_fortunes(name):
    """The cookies of one fortune file (records separated by a line holding only "%"), each as
    raw text with its lines. UTF-8, with Latin-1 as the fallback for old files."""
    with open(os.path.join(FORTUNE_DIR, name), "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    records, cur = [], []
    for line in text.split("\n"):
        if line.rstrip("\r") == "%":
            records.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    records.append("\n".join(cur))
    return [r for r in records if r.strip()]


_ATTRIB = re.compile(r"\n\s*--[^\n]*(\n\s+\S[^\n]*)*\s*$")


def strip_attribution(cookie):
    """Drop a trailing attribution block ("\\t\\t-- Author, Source" and its continuation
    lines): the task is about what a quotation says, not who is credited."""
    return _ATTRIB.sub("", cookie)
