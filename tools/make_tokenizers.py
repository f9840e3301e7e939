#!/usr/bin/env python3
"""make_tokenizers.py - write the tiny tokenizer fixtures under tests/data/tok/.

Regenerate fixtures and expected ids (developer tool; python3 stdlib only, deterministic):

    python3 tools/make_tokenizers.py && (cd tools/tokref && npm install && node make_expected.mjs)

Writes tests/data/tok/<kind>/tokenizer.json in the HF `tokenizers` JSON layout for kinds
bert (WordPiece), roberta and gpt2 (byte-level BPE), llama3 (LLaMA-3 Split regex + ByteLevel,
ignore_merges) and llama2 (SentencePiece-style BPE with byte fallback), plus the fallback files
bert/vocab.txt and gpt2/vocab.json + gpt2/merges.txt. Vocabularies and merges come from the
small trainers below, run on CORPUS. Every id of every tokenizer is < 512 (the model fixtures
use vocab_size 512).
"""
import collections
import json
import os
import re
import unicodedata

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "tok")

CORPUS = """\
The quick brown fox jumps over the lazy dog. It's a sentence that people use to test
keyboards, fonts and printers, because it contains every letter of the English alphabet.
They'll tell you it isn't the only one; we've seen others, but this one is the classic.

In 1998 the small café on Rue Lepic served 12 kinds of crème brûlée and 365 cups of coffee
a day. The owner, Zoë, said: "I'd rather bake than count!" Her naïve résumé listed 3 jobs,
2 languages and 1 dream. Prices rose by 4.5% in 2023; a tart now costs $7.25 (or 6,80 EUR).

Learning to read is hard. Reading, writing and counting are the things we learn first.
When you're training a model, you'll want the tokenizer to split words into pieces that
appear often: the, and, ing, tion, er, ed. Don't forget numbers like 42, 100 and 2048.
She's here, he's there, and I'm waiting -- what's next? Nothing & everything: #tags, @names,
e-mail addresses and URLs like https://example.com/path?query=1 are common too.
"""

EXTRA_CHARS = "中文"  # a couple of CJK characters known to the WordPiece vocab


# ---------------------------------------------------------------------------------------------
# byte-level helpers (GPT-2's bytes_to_unicode table)

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()
BYTE_ALPHABET = [B2U[b] for b in range(256)]

# Approximations of the GPT-2 / LLaMA-3 split regexes with Python's `re` (training only; the C
# scanners implement the exact patterns).
GPT2_RE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")
LLAMA3_RE = re.compile(
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"""
                  r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")


def train_bpe(words, alphabet, n_merges):
    """Classic BPE: words is a Counter of symbol tuples. Returns the list of merges (a, b).
    Ties are broken by the pair itself, so the result is deterministic."""
    words = {tuple(w): c for w, c in words.items()}
    merges = []
    known = set(alphabet)
    while len(merges) < n_merges:
        pairs = collections.Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merged = best[0] + best[1]
        merges.append(best)
        known.add(merged)
        nw = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return merges


def bytelevel_words(regex):
    words = collections.Counter()
    for piece in regex.findall(CORPUS):
        words[tuple(B2U[b] for b in piece.encode("utf-8"))] += 1
    return words


def added(id_, content, special=True, lstrip=False, normalized=None):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": False, "normalized": (not special) if normalized is None else normalized,
            "special": special}


def write_json(kind, name, obj):
    d = os.path.join(ROOT, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def base(added_tokens, normalizer, pre_tokenizer, post_processor, decoder, model):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer,
            "post_processor": post_processor, "decoder": decoder, "model": model}


# ---------------------------------------------------------------------------------------------
# BERT (WordPiece)

def bert_normalize(text):
    text = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def make_bert():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = collections.Counter()
    for w in re.findall(r"\w+|[^\w\s]", bert_normalize(CORPUS)):
        words[w] += 1
    chars = sorted({c for w in words for c in w} | set(EXTRA_CHARS))
    vocab = list(specials) + chars
    vocab += ["##" + c for c in chars if c.isalnum() and c not in EXTRA_CHARS]
    suffixes = ["##s", "##ing", "##ed", "##er", "##ly", "##tion", "##'s", "##n", "##t"]
    common = [w for w, c in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
              if len(w) > 1 and c >= 1]
    for s in suffixes:
        if s not in vocab:
            vocab.append(s)
    for w in common:
        if len(vocab) >= 380:
            break
        if w not in vocab:
            vocab.append(w)
    # a few subword pieces so that unknown words split into more than single letters
    for p in ["##ea", "##ou", "##re", "##in", "##al", "##le", "un", "re", "##ght", "##ize"]:
        if p not in vocab:
            vocab.append(p)
    assert len(vocab) < 512 and len(set(vocab)) == len(vocab)
    ids = {t: i for i, t in enumerate(vocab)}
    tj = base(
        [added(ids[s], s, normalized=False) for s in specials],
        {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
         "strip_accents": None, "lowercase": True},
        {"type": "BertPreTokenizer"},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                  {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                  {"Sequence": {"id": "B", "type_id": 1}},
                  {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
         "special_tokens": {
             "[CLS]": {"id": "[CLS]", "ids": [ids["[CLS]"]], "tokens": ["[CLS]"]},
             "[SEP]": {"id": "[SEP]", "ids": [ids["[SEP]"]], "tokens": ["[SEP]"]}}},
        {"type": "WordPiece", "prefix": "##", "cleanup": True},
        {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
         "max_input_chars_per_word": 100, "vocab": ids})
    tj["padding"] = None
    write_json("bert", "tokenizer.json", tj)
    with open(os.path.join(ROOT, "bert", "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))


# ---------------------------------------------------------------------------------------------
# byte-level BPE: RoBERTa, GPT-2, LLaMA-3

def bytelevel_model(vocab, merges, pairs_format=False, ignore_merges=False):
    return {"type": "BPE", "dropout": None, "unk_token": None,
            "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
            "byte_fallback": False, "ignore_merges": ignore_merges, "vocab": vocab,
            "merges": [[a, b] for a, b in merges] if pairs_format else
            ["%s %s" % (a, b) for a, b in merges]}


def bytelevel_vocab(prefix, merges):
    vocab = {}
    for t in prefix + BYTE_ALPHABET + [a + b for a, b in merges]:
        if t not in vocab:
            vocab[t] = len(vocab)
    return vocab


def make_roberta():
    prefix = ["<s>", "<pad>", "</s>", "<unk>"]
    merges = train_bpe(bytelevel_words(GPT2_RE), BYTE_ALPHABET, 600)
    # keep merges while the vocab (plus <mask>) stays below 512
    while len(bytelevel_vocab(prefix, merges)) > 511:
        merges.pop()
    vocab = bytelevel_vocab(prefix, merges)
    mask = len(vocab)
    vocab["<mask>"] = mask
    assert mask == 511
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
          "use_regex": True}
    tj = base(
        [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
         added(mask, "<mask>", lstrip=True)],
        None, bl,
        {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
         "trim_offsets": True, "add_prefix_space": False},
        dict(bl), bytelevel_model(vocab, merges))
    tj["model"]["unk_token"] = None
    write_json("roberta", "tokenizer.json", tj)


def make_gpt2():
    merges = train_bpe(bytelevel_words(GPT2_RE), BYTE_ALPHABET, 243)
    vocab = bytelevel_vocab([], merges)
    eot = len(vocab)
    vocab["<|endoftext|>"] = eot
    assert eot < 512
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
          "use_regex": True}
    tj = base([added(eot, "<|endoftext|>")], None, bl, None, dict(bl),
              bytelevel_model(vocab, merges))
    write_json("gpt2", "tokenizer.json", tj)
    write_json("gpt2", "vocab.json", vocab)
    with open(os.path.join(ROOT, "gpt2", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.write("".join("%s %s\n" % m for m in merges))


def make_llama3():
    merges = train_bpe(bytelevel_words(LLAMA3_RE), BYTE_ALPHABET, 244)
    vocab = bytelevel_vocab([], merges)
    bot = len(vocab)
    eot = bot + 1
    assert eot < 512
    tj = base(
        [added(bot, "<|begin_of_text|>"), added(eot, "<|end_of_text|>")],
        None,
        {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
             "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {
                 "id": "<|begin_of_text|>", "ids": [bot], "tokens": ["<|begin_of_text|>"]}}}]},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
         "use_regex": True},
        bytelevel_model(vocab, merges, pairs_format=True, ignore_merges=True))
    write_json("llama3", "tokenizer.json", tj)


# ---------------------------------------------------------------------------------------------
# LLaMA-2 (SentencePiece-style BPE with byte fallback)

def make_llama2():
    prefix = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    words = collections.Counter()
    for w in CORPUS.split():
        words[tuple("▁" + w)] += 1
    charcount = collections.Counter()
    for w, c in words.items():
        for ch in w:
            charcount[ch] += c
    chars = [ch for ch, _ in sorted(charcount.items(), key=lambda kv: (-kv[1], kv[0]))]
    vocab = {}
    for t in prefix + chars:
        vocab.setdefault(t, len(vocab))
    merges = train_bpe(words, chars, 512 - len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    assert len(vocab) <= 512
    tj = base(
        [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
        {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                             {"type": "Replace", "pattern": {"String": " "},
                                              "content": "▁"}]},
        None,
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                  {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<s>", "type_id": 1}},
                  {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        {"type": "BPE", "dropout": None, "unk_token": "<unk>",
         "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
         "byte_fallback": True, "ignore_merges": False, "vocab": vocab,
         "merges": ["%s %s" % m for m in merges]})
    write_json("llama2", "tokenizer.json", tj)


def main():
    make_bert()
    make_roberta()
    make_gpt2()
    make_llama3()
    make_llama2()
    for kind in ["bert", "roberta", "gpt2", "llama3", "llama2"]:
        with open(os.path.join(ROOT, kind, "tokenizer.json"), encoding="utf-8") as f:
            tj = json.load(f)
        ids = list(tj["model"]["vocab"].values()) + [a["id"] for a in tj["added_tokens"]]
        assert max(ids) < 512, kind
        print("%-8s vocab size %d, added %s" % (kind, max(ids) + 1,
              ", ".join("%s=%d" % (a["content"], a["id"]) for a in tj["added_tokens"])))


if __name__ == "__main__":
    main()
