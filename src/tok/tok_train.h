/* tok_train.h - train a BERT-style WordPiece tokenizer from text and write it as a HuggingFace
 * tokenizer.json (+ vocab.txt) that tok_load_json / tok_load_dir and HF `tokenizers` read.
 *
 * Use: tok_trainer_new, tok_trainer_add_file / tok_trainer_add_text for every input (streamed
 * line by line into a bounded word-count table), tok_trainer_learn, tok_trainer_write.
 * Normalisation and pre-tokenisation are the loader's own BertNormalizer and
 * BertPreTokenizer, so training and encoding cut words the same way. The vocabulary: special
 * tokens [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then the alphabet (initial characters and
 * "##" continuation characters seen at least min_frequency times) in byte order, then merged
 * pieces in the order they were learned (WordPiece score count(ab) / (count(a) * count(b)),
 * or count(ab) with by_frequency; ties to the lexicographically smallest pair). Same inputs and options -> byte-identical
 * files. Algorithm and limits: src/tok/README.md. */
#ifndef PF_TOK_TRAIN_H
#define PF_TOK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TOK_TRAIN_N_SPECIAL 5
#define TOK_TRAIN_MAX_WORD_CHARS 100 /* max_input_chars_per_word; longer words are skipped */

struct tok_train_opts {
    int vocab_size;    /* target size including the 5 special tokens */
    int min_frequency; /* alphabet characters and merged pairs need this count (>= 1) */
    int lowercase;     /* nonzero: lowercase and strip accents (BERT uncased) */
    int by_frequency;  /* nonzero: merge the most frequent pair (BPE-style, as HF's
                        * WordPieceTrainer does) instead of the likelihood score */
    size_t max_words;  /* distinct words kept while counting (0: 4,000,000) */
};

struct tok_train_stats {
    uint64_t lines, words;      /* input lines and words (pre-tokenized pieces) counted */
    uint64_t long_words;        /* words over TOK_TRAIN_MAX_WORD_CHARS characters, skipped */
    uint64_t distinct;          /* distinct words in the table at the end of counting */
    uint64_t pruned_distinct;   /* table entries dropped to stay under max_words */
    uint64_t pruned_words;      /* occurrences those entries had counted */
    int prunes;                 /* how many times the table was pruned */
    int alphabet;               /* alphabet tokens kept */
    int dropped_chars;          /* alphabet tokens under min_frequency */
    int merges;                 /* merges learned */
    int vocab_size;             /* final size (may be below the target: corpus exhausted) */
};

struct tok_trainer;

/* Options are checked here: vocab_size >= 6, min_frequency >= 1 (PF_ERR_ARG). */
pf_status tok_trainer_new(struct tok_trainer **out, const struct tok_train_opts *o,
                          struct pf_err *err);
/* Count the words of one UTF-8 text file, line by line. Unreadable file: PF_ERR_IO naming it;
 * invalid UTF-8: PF_ERR_FORMAT "PATH:LINE: ...". */
pf_status tok_trainer_add_file(struct tok_trainer *tr, const char *path, struct pf_err *err);
/* Count the words of text[0..n) (lines split at '\n'); where names it in errors. */
pf_status tok_trainer_add_text(struct tok_trainer *tr, const char *text, size_t n,
                               const char *where, struct pf_err *err);
/* Learn the vocabulary. PF_ERR_ARG when vocab_size cannot hold the specials and the alphabet,
 * or when nothing was counted. Call once. */
pf_status tok_trainer_learn(struct tok_trainer *tr, struct pf_err *err);
/* Create dir (mkdir -p) and write dir/vocab.txt and dir/tokenizer.json atomically; on failure
 * neither file is left behind (an earlier file of the same name is replaced or kept whole). */
pf_status tok_trainer_write(const struct tok_trainer *tr, const char *dir, struct pf_err *err);
/* The tokenizer.json text (NUL-terminated, caller frees with free()); NULL before learn. */
char *tok_trainer_json(const struct tok_trainer *tr);
void tok_trainer_stats(const struct tok_trainer *tr, struct tok_train_stats *out);
/* Learned vocabulary: size and token of an id (NULL out of range or before learn). */
int tok_trainer_vocab_size(const struct tok_trainer *tr);
const char *tok_trainer_token(const struct tok_trainer *tr, int id);
void tok_trainer_free(struct tok_trainer *tr);

#endif
