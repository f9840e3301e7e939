/* tok.h - tokenizers loaded from HuggingFace files: tokenizer.json, or the older vocab.txt
 * (BERT WordPiece) and vocab.json + merges.txt (byte-level BPE) when it is absent.
 *
 * Kinds (tok_kind): "wordpiece", "bpe-bytelevel" (GPT-2, RoBERTa), "bpe-llama3" (Split with the
 * LLaMA-3 regex + ByteLevel), "bpe-sentencepiece" (byte_fallback / Metaspace style, LLaMA-2).
 *
 * Pipeline of tok_encode, as HF `tokenizers` does it: added tokens are cut out of the raw text
 * (longest first), every other segment is normalized, pre-tokenized and run through the model
 * (WordPiece or BPE), then the post-processor adds special tokens and type ids; truncation
 * (longest_first) happens before the post-processor. Ownership: the tokenizer owns everything it
 * loaded; an encoding owns its arrays (tok_encoding_free). All functions return a status and a
 * one-line message; nothing exits. Loading validates the files (reliability case 8): errors are
 * PF_ERR_FORMAT with the file path first, or PF_ERR_UNSUPPORTED for valid HF features that are
 * not implemented (listed in src/tok/README.md). */
#ifndef PF_TOK_H
#define PF_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct tokenizer;

/* Longest token string accepted in any vocabulary file, in bytes. */
#define TOK_MAX_TOKEN_BYTES 1024

struct tok_options {
    int add_special_tokens; /* nonzero: run the post-processor's template (HF default: yes) */
    int max_length;         /* 0: no truncation; otherwise longest_first, special tokens count */
};

/* One encoded input (a single text or a pair). Arrays have n entries each. */
struct tok_encoding {
    int n;
    int32_t *ids;
    int32_t *type_ids;
    int32_t *attention_mask; /* 1 for tokens, 0 for padding */
    int32_t *special_mask;   /* 1 for tokens added by the post-processor and for padding */
};

/* Load DIR/tokenizer.json; when absent DIR/vocab.txt (WordPiece, do_lower_case from
 * DIR/tokenizer_config.json, default true, [CLS] A [SEP] B [SEP]) or DIR/vocab.json +
 * DIR/merges.txt (byte-level BPE; RoBERTa's `<s> A </s></s> B </s>` when model_type is
 * "roberta", no special tokens for "gpt2" or NULL). model_type: "bert", "roberta", "gpt2",
 * "llama" or NULL. */
pf_status tok_load_dir(struct tokenizer **out, const char *dir, const char *model_type,
                       struct pf_err *err);

/* Load one tokenizer.json file. */
pf_status tok_load_json(struct tokenizer **out, const char *path, struct pf_err *err);

void tok_free(struct tokenizer *t);

/* "wordpiece", "bpe-bytelevel", "bpe-llama3", "bpe-sentencepiece" or "bpe". */
const char *tok_kind(const struct tokenizer *t);

/* Max id + 1 over the model vocabulary and the added tokens. */
int32_t tok_vocab_size(const struct tokenizer *t);

/* Id of a token string (exact, NUL-terminated), or -1. */
int32_t tok_token_to_id(const struct tokenizer *t, const char *token);

/* Token string of an id, or NULL when out of range. Owned by the tokenizer. */
const char *tok_id_to_token(const struct tokenizer *t, int32_t id);

/* Padding id: tokenizer.json's `padding.pad_id`, else the id of [PAD], <pad> or <|pad|>;
 * -1 when there is none. */
int32_t tok_pad_id(const struct tokenizer *t);

/* Encode text (len bytes, UTF-8) and optionally a pair (pair NULL for none). o NULL means
 * add_special_tokens = 1, no truncation. Invalid UTF-8 is PF_ERR_ARG naming the byte offset.
 * On success *out is filled (free with tok_encoding_free); on failure *out is empty. */
pf_status tok_encode(const struct tokenizer *t, const char *text, size_t len, const char *pair,
                     size_t pair_len, const struct tok_options *o, struct tok_encoding *out,
                     struct pf_err *err);

void tok_encoding_free(struct tok_encoding *e);

/* Pad encs[0..n) on the right to the longest one: ids = pad_id, type_ids 0,
 * attention_mask 0, special_mask 1. pad_id < 0 (no pad token) is PF_ERR_ARG. */
pf_status tok_pad_batch(struct tok_encoding *encs, int n, int32_t pad_id, struct pf_err *err);

#endif
