/* pretrain.h - masked-language-model pretraining of a BERT encoder from scratch:
 * `bipeft pretrain CONFIG.lua` (docs/PRETRAIN.md).
 *
 *   pretrain_config_load   a Lua config (run in the same sandbox as run configs, but its own
 *                          small table: pretraining shares no field with search/train)
 *   pretrain_bert_config   the struct model_config of the BERT to create (BertForMaskedLM)
 *   pretrain_corpus_*      corpus lines -> tokens -> held-out split -> packed sequences
 *                          [CLS] line [SEP] line [SEP] ... padded to max_len
 *   pretrain_mask_batch    dynamic masking (15 %, 80/10/10) as a pure function of
 *                          (seed, step, sequence), labels -100 where no loss is taken
 *   pretrain_run           AdamW steps, eval on the held-out sequences, the output folder:
 *                          config.json, model.safetensors, tokenizer.json, metrics.jsonl,
 *                          pretrain_summary.json (all written atomically)
 * Everything is deterministic for a given binary, config and thread count. */
#ifndef PF_PRETRAIN_H
#define PF_PRETRAIN_H

#include <stdint.h>

#include "core/backend.h"
#include "model/hf_config.h"
#include "util/err.h"

#define PRETRAIN_PATH_MAX 512
#define PRETRAIN_MAX_FILES 64
#define PRETRAIN_IGNORE (-100)

enum pretrain_sched { PRETRAIN_SCHED_LINEAR, PRETRAIN_SCHED_COSINE, PRETRAIN_SCHED_CONSTANT };

struct pretrain_config {
    char file[PRETRAIN_PATH_MAX];      /* the config file as given */
    struct {
        int layers, hidden, heads, intermediate, max_positions, type_vocab;
    } model;                           /* 2, 128, 2, 512, 512, 2 */
    char tokenizer[PRETRAIN_PATH_MAX]; /* folder with tokenizer.json (required) */
    int n_corpus;                      /* plain text, one passage per line (required) */
    char corpus[PRETRAIN_MAX_FILES][PRETRAIN_PATH_MAX];
    char out[PRETRAIN_PATH_MAX];       /* output folder (required) */
    char init_from[PRETRAIN_PATH_MAX]; /* continue from this model folder's weights (a
                                          pretrain output of the same shape and vocabulary);
                                          "": a fresh N(0, 0.02) initialisation */
    double eval_fraction;              /* held-out share of the lines, [0, 0.5] (0.05) */
    int max_len;                       /* tokens per sequence, [CLS]/[SEP] included (128) */
    int batch_size;                    /* sequences per step (32) */
    int64_t steps;                     /* optimiser steps (1000) */
    double lr;                         /* peak learning rate (5e-4) */
    int64_t warmup;                    /* steps of linear warm-up from 0 (steps / 10) */
    enum pretrain_sched schedule;      /* after warm-up: linear to 0 (default), cosine, constant */
    double weight_decay;               /* 0.01, not on biases and norm gains */
    double betas[2], eps;              /* 0.9, 0.999, 1e-8 */
    double clip;                       /* global gradient-norm clip (1.0; 0 = off) */
    double mask_prob;                  /* 0.15 */
    uint64_t seed;                     /* 42 */
    int threads;                       /* 0 = all cores */
    int64_t eval_every;                /* steps between evaluations + checkpoints (0: the end) */
    int log_every;                     /* steps between train lines in metrics.jsonl (10) */
    int eval_max;                      /* held-out sequences scored per evaluation (512) */
};

void pretrain_config_defaults(struct pretrain_config *c);
/* Run `path` in a fresh sandbox and validate the returned table. Errors are PF_ERR_SCRIPT
 * "FILE: field: message" (unknown keys too); files are not opened here. */
pf_status pretrain_config_load(const char *path, struct pretrain_config *c, struct pf_err *err);

/* The BERT of c with vocabulary `vocab` and padding id pad_id: post-LN, GELU (erf), learned
 * absolute positions, token types, tied MLM decoder, layer_norm_eps 1e-12. */
void pretrain_bert_config(const struct pretrain_config *c, int vocab, int pad_id,
                          struct model_config *out);

/* ---- data ---- */

struct tokenizer;

struct pretrain_special {
    int32_t pad, cls, sep, mask, unk; /* ids ([UNK] may be -1) */
    int32_t vocab;
};

/* Packed sequences of one split: n rows of T ids (padding after the last [SEP]). */
struct pretrain_seqs {
    int64_t n;
    int T;
    int32_t *ids;
    int64_t tokens;       /* real tokens, specials included */
};

struct pretrain_corpus {
    struct pretrain_special sp;
    struct pretrain_seqs train, eval;
    int64_t lines, empty_lines, train_lines, eval_lines;
    int64_t bytes;
    int64_t truncated_lines;  /* lines longer than max_len - 2 tokens, cut into pieces */
    int32_t top_token;        /* most frequent maskable token of train (unigram baseline) */
};

/* The special ids of a BERT tokenizer ([PAD], [CLS], [SEP], [MASK] required). */
pf_status pretrain_special_ids(const struct tokenizer *tok, struct pretrain_special *sp,
                               struct pf_err *err);
/* Read, tokenise (no special tokens), split lines into train / held-out by a Philox draw per
 * line (seed), pack each split into max_len sequences. */
pf_status pretrain_corpus_load(struct pretrain_corpus *pc, const struct pretrain_config *c,
                               const struct tokenizer *tok, struct pf_err *err);
void pretrain_corpus_free(struct pretrain_corpus *pc);

/* Pack token lines into sequences: [CLS] a [SEP] b [SEP] ... while whole lines fit; a line
 * longer than T - 2 becomes several sequences of its own. lens[i] tokens at toks + off[i]. */
void pretrain_pack(struct pretrain_seqs *out, int T, const struct pretrain_special *sp,
                   const int32_t *toks, const int64_t *off, const int64_t *idx, int64_t n_idx,
                   int64_t *truncated);

/* Sequence order of epoch e: a Philox Fisher-Yates permutation of [0, n). */
void pretrain_permutation(int64_t *perm, int64_t n, uint64_t seed, int64_t epoch);

/* Mask B sequences of T ids (rows `seq`, copied from src into ids): each real non-special
 * token is chosen with probability p from the Philox stream (seed, step, seq[b]); chosen ones
 * get labels = the original id and become [MASK] (80 %), a random id in [0, vocab) (10 %) or
 * stay (10 %); every other label is PRETRAIN_IGNORE. attention mask = 1 on non-padding. A
 * batch where nothing was chosen gets its first candidate chosen (the loss needs one).
 * Returns the number of masked positions. */
int64_t pretrain_mask_batch(const struct pretrain_seqs *src, const int64_t *seq, int B,
                            const struct pretrain_special *sp, double p, uint64_t seed,
                            uint64_t step, int32_t *ids, int32_t *attn, int32_t *labels);

/* ---- the run ---- */

struct pretrain_result {
    int64_t steps;
    int64_t params;
    double seconds;
    double final_train_loss;    /* mean over the last log window */
    double eval_loss, eval_accuracy; /* of the last evaluation (NaN without held-out data) */
    double unigram_accuracy;    /* predicting the most frequent train token on the same
                                   held-out masks */
    int64_t eval_masked;        /* positions scored */
    int bad_input;              /* the failure was reading the tokenizer or the corpus */
};

/* Everything: tokenizer, corpus, model from the seed, training, the output folder. quiet:
 * no progress on stderr. */
pf_status pretrain_run(const struct pretrain_config *c, struct backend *be, int quiet,
                       struct pretrain_result *r, struct pf_err *err);

#endif
