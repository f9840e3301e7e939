/* data.h - task datasets: the built-in GLUE/SuperGLUE task table, streaming readers for
 * TSV/CSV (libcsv) and JSONL (cJSON), train/dev/test splits, tokenisation and
 * length-bucketed batches. See src/data/README.md for the formats, the bad-data rules and
 * the table of built-in tasks.
 *
 * Errors: every function returns a pf_status and fills struct pf_err with one line; input
 * errors are PF_ERR_FORMAT as "file:line:col: rule" or "file:line: rule"; nothing exits.
 * Ownership: a data_set owns its example array and shares a reference-counted string pool
 * (subsets made by the splits point into the pool of the set they came from; every set is
 * freed on its own with data_set_free, in any order). Not thread-safe per object. */
#ifndef PF_DATA_H
#define PF_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* ---- tasks (data_task.c) ---- */

enum data_format { DATA_TSV, DATA_CSV, DATA_JSONL };

enum data_metric {
    METRIC_ACC,
    METRIC_F1,
    METRIC_MACRO_F1,
    METRIC_MCC,
    METRIC_PEARSON,
    METRIC_SPEARMAN,
    METRIC_COUNT
};

enum data_split_policy {
    SPLIT_FILES, /* use the given dev/test files as they are (dev missing: carved from train) */
    SPLIT_SMALL, /* the original validation file is split in half: dev, test */
    SPLIT_LARGE  /* 2000 train examples become dev; the original validation file is test */
};

#define DATA_MAX_LABELS 64
#define DATA_NAME_LEN 64

struct data_task {
    char name[DATA_NAME_LEN];
    enum data_format format;
    int header;  /* TSV/CSV: the first row names the columns (else columns by index) */
    int quoting; /* 0: quotes are literal text (GLUE TSVs); 1: RFC 4180 quotes */
    char text[DATA_NAME_LEN], pair[DATA_NAME_LEN], label[DATA_NAME_LEN]; /* column names, or
        decimal indices ("3") for header-less files; pair "" = single text */
    char word[DATA_NAME_LEN]; /* optional column prefixed as "<word>: <text>" (WiC); "" none */
    int regression;           /* the label is a float target */
    int n_labels;             /* classes (1 for regression) */
    char labels[DATA_MAX_LABELS][DATA_NAME_LEN]; /* label strings in class-id order, as in the
        files; JSON true/false read as "true"/"false", JSON integers as "0", "1" */
    int class_label; /* the labels are names a person gave (task.labels): a file value that is
        none of them but a decimal index 0..n-1 means that name, as HF datasets write a
        ClassLabel column (to_csv, to_json) */
    int n_metrics;
    enum data_metric metrics[3]; /* the first is the primary metric (early stopping) */
    enum data_split_policy split;
    int max_len; /* default max tokens */
    char train_file[DATA_NAME_LEN], dev_file[DATA_NAME_LEN], test_file[DATA_NAME_LEN],
        test2_file[DATA_NAME_LEN]; /* file names inside a task folder ("" none) */
};

/* Built-in task by case-insensitive name (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte,
 * wnli, boolq, cb, superglue-rte, wic). Unknown: PF_ERR_ARG naming the known tasks. */
pf_status data_task_builtin(const char *name, struct data_task *out, struct pf_err *err);

/* Number of built-in tasks and the name of the i-th (NULL when out of range). */
int data_task_count(void);
const char *data_task_name(int i);

/* ---- reading (data_read.c) ---- */

struct data_example {
    const char *text, *pair; /* NUL-terminated, in the set's pool; pair NULL for single text */
    int label;               /* class id (0 for regression) */
    float target;            /* regression target (0 for classification) */
    int64_t line;            /* 1-based line of the record in its file */
};

struct data_pool; /* reference-counted string storage */

struct data_set {
    int64_t n, cap;
    struct data_example *ex;
    struct data_pool *pool; /* shared with subsets; NULL for an empty set */
};

struct data_read_opts {
    int skip_bad;             /* 0: the first bad row is an error; 1: skip it and count it */
    int64_t max_record_bytes; /* longest record (0: 1 MiB); a longer one is never held */
};

/* Read a whole task file (format, columns and labels from task). o NULL: defaults.
 * *out is empty on failure. n_skipped (may be NULL) gets the number of skipped rows. A file
 * with no example (empty, header only, or every row skipped) is an error. */
pf_status data_read(const char *path, const struct data_task *task, const struct data_read_opts *o,
                    struct data_set *out, int64_t *n_skipped, struct pf_err *err);

void data_set_free(struct data_set *s);

/* For a classification task without label strings: read path once and fill task->labels
 * with the distinct values of its label column, numbers in numeric order ("0", "1", "2",
 * "10"), other strings in byte order (at most DATA_MAX_LABELS; fewer than 2 is an error). */
pf_status data_discover_labels(const char *path, struct data_task *task,
                               const struct data_read_opts *o, struct pf_err *err);

/* A new set holding src->ex[idx[i]] for i < n (strings shared with src's pool). */
pf_status data_set_subset(const struct data_set *src, const int64_t *idx, int64_t n,
                          struct data_set *out, struct pf_err *err);

/* ---- splits (data_split.c) ---- */

struct data_splits {
    struct data_set train, dev, test, test2; /* each owned; may share one pool */
};

/* Build train/dev/test (and test2) per task->split. When train_path is a folder, the files
 * are task->train_file etc. inside it (dev_path and test_path must be NULL or ""), and
 * test2 is read from task->test2_file when named. Explicit paths: SPLIT_SMALL reads the
 * original validation file from dev_path (or test_path); SPLIT_LARGE from test_path (or
 * dev_path); SPLIT_FILES uses them as they are, and carves min(2000, 10%) of train into dev
 * when no dev file is given. seed drives every shuffle (Philox; the same on any machine). */
pf_status data_load_splits(const struct data_task *task, const char *train_path,
                           const char *dev_path, const char *test_path, uint64_t seed,
                           const struct data_read_opts *o, struct data_splits *out,
                           struct pf_err *err);

void data_splits_free(struct data_splits *s);

/* A seeded split of 0..n-1: round(n * share) indices into *a, the rest into *b, each sorted
 * ascending; the caller frees both (free()). share in [0, 1]. */
pf_status data_split_half(int64_t n, double share, uint64_t seed, int64_t **a, int64_t *na,
                          int64_t **b, int64_t *nb, struct pf_err *err);

/* Seeded Fisher-Yates permutation of v[0..n) driven by Philox (seed, stream). */
void data_shuffle(int64_t *v, int64_t n, uint64_t seed, uint64_t stream);

/* ---- tokenised examples and batches (data_batch.c) ---- */

struct tokenizer;

struct data_encoded {
    int64_t n;
    int32_t **ids, **types; /* per example, len[i] entries, no padding */
    int *len;
    int *label;
    float *target;
    int32_t pad_id; /* tok_pad_id of the tokenizer (-1: none) */
    int max_len;    /* longest encoded example */
};

/* Tokenise every example (special tokens added, truncated to max_len). */
pf_status data_encode(const struct data_set *s, const struct tokenizer *tok, int max_len,
                      struct data_encoded *out, struct pf_err *err);
void data_encoded_free(struct data_encoded *e);

/* One batch, row-major B x T; owned by the loader, valid until the next call. */
struct data_batch {
    int B, T;
    int32_t *ids, *mask, *types;
    int *label;
    float *target;
    int64_t *index; /* example index in the data_encoded of each row */
};

struct data_loader_opts {
    int batch_size;       /* > 0 */
    int shuffle;          /* 1: shuffle and bucket by length; 0: file order (evaluation) */
    int drop_last;        /* 1: drop the short last batch of an epoch */
    uint64_t seed;        /* shuffle seed; epoch e uses the Philox stream (seed, e) */
    int bucket_batches;   /* batches per length bucket (0: 50) */
    const int64_t *idx;   /* optional subset of example indices (copied); NULL: all */
    int64_t n_idx;
    int32_t pad_id;       /* -1: the encoded set's pad_id */
};

/* Where a loader stands: the next batch is batch `batch` of epoch `epoch`. */
struct data_cursor {
    int64_t epoch, batch;
};

struct data_loader;

/* e must outlive the loader. */
pf_status data_loader_create(struct data_loader **out, const struct data_encoded *e,
                             const struct data_loader_opts *o, struct pf_err *err);
void data_loader_free(struct data_loader *l);

/* The next batch of the current epoch into *out (*done = 0), or *done = 1 when the epoch has
 * no batch left; the cursor then moves to (epoch + 1, 0) so the next call starts a new epoch. */
pf_status data_loader_next(struct data_loader *l, struct data_batch *out, int *done,
                           struct pf_err *err);

/* Batches in one epoch. */
int64_t data_loader_batches(const struct data_loader *l);

void data_loader_cursor(const struct data_loader *l, struct data_cursor *c);

/* Continue from c exactly (the batch after seek equals the batch a run saw at c). */
pf_status data_loader_seek(struct data_loader *l, const struct data_cursor *c,
                           struct pf_err *err);

#endif
