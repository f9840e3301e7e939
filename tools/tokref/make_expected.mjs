// make_expected.mjs - expected ids for tests/data/tok/<kind>/expected.jsonl (developer tool only).
//
// Regenerate fixtures and expected ids:
//
//     python3 tools/make_tokenizers.py && (cd tools/tokref && npm install && node make_expected.mjs)
//
// Runs HF's pure-JS Tokenizers.js (@huggingface/tokenizers 0.2.0) on each fixture tokenizer.json
// over TEXTS and PAIRS. One JSON object per line: text, pair (or null), max_length (or null), ids,
// type_ids, attention_mask.
//
// Where Tokenizers.js lacks a feature, this script fills it in from HF `tokenizers` (Rust)
// semantics, written by hand here:
//   * truncation: Tokenizers.js has none. Rows with max_length are built from its untruncated
//     output: the template pieces around A and B are located in the full encoding, A and B
//     (encoded without special tokens) are cut with HF's longest_first rule against
//     max_length - (number of template tokens), and the template is put back around them.
//   * type ids without a post-processor (gpt2): Tokenizers.js returns none; HF gives 0 for A and
//     1 for B.
//   * RobertaProcessing pairs: Tokenizers.js gives type id 1 to `</s> B </s>`; HF's Rust
//     RobertaProcessing (and transformers' RobertaTokenizer) give 0 everywhere, which is what
//     we write (RoBERTa checkpoints have type_vocab_size 1).
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const ROOT = new URL("../../tests/data/tok/", import.meta.url);
const KINDS = ["bert", "roberta", "gpt2", "llama3", "llama2"];

const LONG =
  "The quick brown fox jumps over the lazy dog. It's a sentence that people use to test " +
  "keyboards, fonts and printers, because it contains every letter of the English alphabet. " +
  "They'll tell you it isn't the only one; we've seen others, but this one is the classic.";

const TEXTS = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "Crème brûlée",
  "Ünïcödé ÀÉÎ naïve résumé Zoë",
  "中文字",
  "mixed中文text",
  "emoji 😀 and 👍🏽 here",
  "unknown ☃ ∰ ⅷ chars",
  "they'll don't I'm we've she'd it's THEY'LL We'Re",
  "12345 and 3.14159 and 1,000,000",
  "multiple   spaces\n\nnewlines\ttabs \t\n end",
  "  leading and trailing  ",
  "a\u00a0b nbsp",
  "bell\u0007 and zero\u200bwidth",
  "line one\r\nline two\n\n\nthree",
  "(hello) [world] {braces} <angles>",
  "#tags, @names, e-mail: https://example.com/path?query=1",
  "",
  " ",
  "\n",
  "İstanbul",
  LONG,
];

const SPECIAL_TEXTS = {
  bert: ["[CLS] hello [SEP] world [MASK]", "x[UNK]y"],
  roberta: ["<s>hello</s>", "fill the <mask> here", "a <pad> b"],
  gpt2: ["hello<|endoftext|>world", "<|endoftext|>"],
  llama3: ["<|begin_of_text|>hello<|end_of_text|>", "x <|end_of_text|> y"],
  llama2: ["<s>hello</s>", "a </s> b", "<unk>"],
};

const PAIRS = [
  ["How are you?", "I'm fine, thanks."],
  ["", "only the pair"],
  ["only the first", ""],
  ["Crème brûlée", "中文字 😀"],
];

// [text, pair, max_length]
const TRUNC = [
  [LONG, null, 16],
  [LONG, null, 8],
  ["short", null, 64],
  [LONG, "How are you?", 20],
  ["How are you?", LONG, 20],
  [LONG, LONG, 24],
  [LONG, LONG, 25],
  ["Hello, world!", "I'm fine, thanks.", 12],
];

function load(kind) {
  const json = JSON.parse(readFileSync(new URL(`${kind}/tokenizer.json`, ROOT), "utf8"));
  return new Tokenizer(json, {});
}

function postProcessorTypes(json) {
  const p = json.post_processor;
  if (!p) return [];
  if (p.type === "Sequence") return p.processors.map((x) => x.type);
  return [p.type];
}

function encodeFull(tok, json, text, pair) {
  if (pair === "") {
    // Tokenizers.js treats an empty pair as no pair (`text_pair || null`); HF keeps it and still
    // applies the pair template. Encode with a placeholder pair and cut its tokens out.
    const full = encodeFull(tok, json, text, "x");
    const a = tok.encode(text, { add_special_tokens: false }).ids;
    const x = tok.encode("x", { add_special_tokens: false }).ids;
    let pa = 0;
    while (!eq(full.ids, pa, a)) pa++;
    let pb = pa + a.length;
    while (!eq(full.ids, pb, x)) pb++;
    full.ids.splice(pb, x.length);
    full.type_ids.splice(pb, x.length);
    return full;
  }
  const e = tok.encode(text, { text_pair: pair, add_special_tokens: true, return_token_type_ids: true });
  const types = postProcessorTypes(json);
  let type_ids = e.token_type_ids;
  if (!types.some((t) => t !== "ByteLevel")) {
    // no special-token adding post-processor: HF gives 0 for A and 1 for B
    const a = tok.encode(text, { add_special_tokens: false }).ids.length;
    type_ids = e.ids.map((_, i) => (i < a ? 0 : 1));
  } else if (types.includes("RobertaProcessing")) {
    type_ids = e.ids.map(() => 0);
  }
  return { ids: e.ids, type_ids };
}

function eq(a, off, b) {
  for (let i = 0; i < b.length; i++) if (a[off + i] !== b[i]) return false;
  return true;
}

// HF longest_first (tokenizers/src/utils/truncation.rs), stride 0, direction right.
function longestFirst(n1, n2, max) {
  if (n2 === null) return [Math.min(n1, max), null];
  if (n1 + n2 <= max) return [n1, n2];
  let swap = false;
  if (n1 > n2) { swap = true; [n1, n2] = [n2, n1]; }
  if (n1 > max) n2 = n1; else n2 = Math.max(n1, max - n1);
  if (n1 + n2 > max) { n1 = Math.floor(max / 2); n2 = n1 + (max % 2); }
  if (swap) [n1, n2] = [n2, n1];
  return [n1, n2];
}

function truncated(tok, json, text, pair, maxLen) {
  const full = encodeFull(tok, json, text, pair);
  const a = tok.encode(text, { add_special_tokens: false }).ids;
  const b = pair === null ? null : tok.encode(pair, { add_special_tokens: false }).ids;
  const nSpecial = full.ids.length - a.length - (b ? b.length : 0);
  // locate A (first match) and B (first match after A) in the full encoding
  let pa = 0;
  while (!eq(full.ids, pa, a)) pa++;
  let pb = pa + a.length;
  if (b) {
    while (!eq(full.ids, pb, b)) pb++;
  }
  const s0 = [0, pa];
  const s1 = [pa + a.length, b ? pb : full.ids.length];
  const s2 = b ? [pb + b.length, full.ids.length] : null;
  const ta = full.type_ids[pa] ?? 0;
  const tb = b ? (full.type_ids[pb] ?? 1) : null;
  if (maxLen < nSpecial) throw new Error("max_length below the number of special tokens");
  const [n1, n2] = longestFirst(a.length, b ? b.length : null, maxLen - nSpecial);
  const ids = [], type_ids = [];
  const pushSlice = (r) => {
    for (let i = r[0]; i < r[1]; i++) { ids.push(full.ids[i]); type_ids.push(full.type_ids[i]); }
  };
  pushSlice(s0);
  for (let i = 0; i < n1; i++) { ids.push(a[i]); type_ids.push(ta); }
  pushSlice(s1);
  if (b) {
    for (let i = 0; i < n2; i++) { ids.push(b[i]); type_ids.push(tb); }
    pushSlice(s2);
  }
  return { ids, type_ids };
}

const counts = {};
for (const kind of KINDS) {
  const json = JSON.parse(readFileSync(new URL(`${kind}/tokenizer.json`, ROOT), "utf8"));
  const tok = load(kind);
  const rows = [];
  const emit = (text, pair, maxLen, enc) => {
    rows.push(JSON.stringify({
      text, pair, max_length: maxLen, ids: enc.ids, type_ids: enc.type_ids,
      attention_mask: enc.ids.map(() => 1),
    }));
  };
  for (const t of [...TEXTS, ...SPECIAL_TEXTS[kind]]) emit(t, null, null, encodeFull(tok, json, t, null));
  for (const [a, b] of PAIRS) emit(a, b, null, encodeFull(tok, json, a, b));
  for (const [a, b, m] of TRUNC) emit(a, b, m, truncated(tok, json, a, b, m));
  writeFileSync(new URL(`${kind}/expected.jsonl`, ROOT), rows.join("\n") + "\n");
  counts[kind] = rows.length;
}
console.log(counts);
