// check_trained.mjs - developer tool only: encode sentences with HF Tokenizers.js
// (@huggingface/tokenizers) using a tokenizer.json made by `bipeft tokenizer-train`, to compare
// with `bipeft tokenize`. Usage: node check_trained.mjs DIR/tokenizer.json TEXTS.txt
// Prints one JSON line per input line: {"ids": [...], "type_ids": [...]}; a line holding a tab
// is encoded as a pair (text before the tab, pair after it).
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const [path, texts] = process.argv.slice(2);
const tok = new Tokenizer(JSON.parse(readFileSync(path, "utf8")), {});
for (const line of readFileSync(texts, "utf8").split("\n")) {
  if (line === "") continue;
  const [a, b] = line.split("\t");
  const e = tok.encode(a, { text_pair: b ?? null, add_special_tokens: true, return_token_type_ids: true });
  console.log(JSON.stringify({ ids: e.ids, type_ids: e.token_type_ids }));
}
