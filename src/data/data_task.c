/* data_task.c - the built-in task table: GLUE (TSV, as in the GLUE benchmark download) and
 * SuperGLUE (JSONL) tasks with their columns, labels, metrics and split policy. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "data/data.h"

struct task_row {
    const char *name;
    enum data_format format;
    int header;
    const char *text, *pair, *label, *word;
    int regression;
    const char *labels[4]; /* NULL-terminated */
    enum data_metric m0, m1;
    int n_metrics;
    enum data_split_policy split;
    int max_len;
    const char *train, *dev, *test, *test2;
};

/* Labels in HF `datasets` class-id order. SPLIT_SMALL reads the original validation file from
 * dev_file, SPLIT_LARGE from test_file (see data_split.c). */
static const struct task_row TASKS[] = {
    {"cola", DATA_TSV, 0, "3", "", "1", "", 0, {"0", "1"}, METRIC_MCC, 0, 1, SPLIT_SMALL, 128,
     "train.tsv", "dev.tsv", "", ""},
    {"sst2", DATA_TSV, 1, "sentence", "", "label", "", 0, {"0", "1"}, METRIC_ACC, 0, 1,
     SPLIT_LARGE, 128, "train.tsv", "", "dev.tsv", ""},
    {"mrpc", DATA_TSV, 1, "#1 String", "#2 String", "Quality", "", 0, {"0", "1"}, METRIC_F1,
     METRIC_ACC, 2, SPLIT_SMALL, 128, "train.tsv", "dev.tsv", "", ""},
    {"qqp", DATA_TSV, 1, "question1", "question2", "is_duplicate", "", 0, {"0", "1"}, METRIC_F1,
     METRIC_ACC, 2, SPLIT_LARGE, 128, "train.tsv", "", "dev.tsv", ""},
    {"stsb", DATA_TSV, 1, "sentence1", "sentence2", "score", "", 1, {"score"}, METRIC_PEARSON,
     METRIC_SPEARMAN, 2, SPLIT_SMALL, 128, "train.tsv", "dev.tsv", "", ""},
    {"mnli", DATA_TSV, 1, "sentence1", "sentence2", "gold_label", "", 0,
     {"entailment", "neutral", "contradiction"}, METRIC_ACC, 0, 1, SPLIT_LARGE, 128, "train.tsv",
     "", "dev_matched.tsv", "dev_mismatched.tsv"},
    {"qnli", DATA_TSV, 1, "question", "sentence", "label", "", 0,
     {"entailment", "not_entailment"}, METRIC_ACC, 0, 1, SPLIT_LARGE, 128, "train.tsv", "",
     "dev.tsv", ""},
    {"rte", DATA_TSV, 1, "sentence1", "sentence2", "label", "", 0,
     {"entailment", "not_entailment"}, METRIC_ACC, 0, 1, SPLIT_SMALL, 256, "train.tsv", "dev.tsv",
     "", ""},
    {"wnli", DATA_TSV, 1, "sentence1", "sentence2", "label", "", 0, {"0", "1"}, METRIC_ACC, 0, 1,
     SPLIT_SMALL, 128, "train.tsv", "dev.tsv", "", ""},
    {"boolq", DATA_JSONL, 0, "question", "passage", "label", "", 0, {"false", "true"},
     METRIC_ACC, 0, 1, SPLIT_SMALL, 256, "train.jsonl", "val.jsonl", "", ""},
    {"cb", DATA_JSONL, 0, "premise", "hypothesis", "label", "", 0,
     {"entailment", "contradiction", "neutral"}, METRIC_MACRO_F1, METRIC_ACC, 2, SPLIT_SMALL, 256,
     "train.jsonl", "val.jsonl", "", ""},
    {"superglue-rte", DATA_JSONL, 0, "premise", "hypothesis", "label", "", 0,
     {"entailment", "not_entailment"}, METRIC_ACC, 0, 1, SPLIT_SMALL, 256, "train.jsonl",
     "val.jsonl", "", ""},
    {"wic", DATA_JSONL, 0, "sentence1", "sentence2", "label", "word", 0, {"false", "true"},
     METRIC_ACC, 0, 1, SPLIT_SMALL, 256, "train.jsonl", "val.jsonl", "", ""},
};

#define N_TASKS ((int)(sizeof TASKS / sizeof TASKS[0]))

int data_task_count(void) {
    return N_TASKS;
}

const char *data_task_name(int i) {
    return i >= 0 && i < N_TASKS ? TASKS[i].name : NULL;
}

static void copy_name(char *dst, const char *src) {
    snprintf(dst, DATA_NAME_LEN, "%s", src);
}

static void fill(const struct task_row *r, struct data_task *t) {
    memset(t, 0, sizeof *t);
    copy_name(t->name, r->name);
    t->format = r->format;
    t->header = r->header;
    t->quoting = 0; /* GLUE TSVs: quotes are text; JSONL ignores it */
    copy_name(t->text, r->text);
    copy_name(t->pair, r->pair);
    copy_name(t->label, r->label);
    copy_name(t->word, r->word);
    t->regression = r->regression;
    t->n_labels = 0;
    for (int i = 0; i < 4 && r->labels[i]; i++)
        copy_name(t->labels[t->n_labels++], r->labels[i]);
    if (r->regression)
        t->n_labels = 1;
    t->n_metrics = r->n_metrics;
    t->metrics[0] = r->m0;
    t->metrics[1] = r->m1;
    t->split = r->split;
    t->max_len = r->max_len;
    copy_name(t->train_file, r->train);
    copy_name(t->dev_file, r->dev);
    copy_name(t->test_file, r->test);
    copy_name(t->test2_file, r->test2);
}

pf_status data_task_builtin(const char *name, struct data_task *out, struct pf_err *err) {
    if (!out)
        return pf_err_set(err, PF_ERR_ARG, "data_task_builtin: out is NULL");
    for (int i = 0; name && i < N_TASKS; i++) {
        if (!strcasecmp(name, TASKS[i].name)) {
            fill(&TASKS[i], out);
            return PF_OK;
        }
    }
    char known[512];
    size_t k = 0;
    known[0] = '\0';
    for (int i = 0; i < N_TASKS; i++) {
        int w = snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", TASKS[i].name);
        if (w > 0 && (size_t)w < sizeof known - k)
            k += (size_t)w;
    }
    return pf_err_set(err, PF_ERR_ARG, "unknown task '%s' (known: %s)", name ? name : "(null)",
                      known);
}
