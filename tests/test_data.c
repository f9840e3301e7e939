/* test_data.c - task datasets (src/data/): every built-in GLUE/SuperGLUE layout read from the
 * hand-written fixtures in tests/data/glue/<task>/ (the files' real layouts: CoLA without a
 * header, MRPC with a BOM, literal quotes in SST-2/MNLI/MRPC), splits, reliability case 10 (bad
 * data files, generated here into temp files), skip_bad counting, tokenisation and the
 * length-bucketed loader (padding, every example once per epoch, determinism, cursor resume). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <fcntl.h>

#include "check.h"
#include "data/data.h"
#include "tok/tok.h"

#define GLUE "tests/data/glue/"

static struct data_task task(const char *name) {
    struct data_task t;
    struct pf_err err = {0};
    CHECK_OK(data_task_builtin(name, &t, &err), &err);
    return t;
}

/* A custom TSV task with a header sentence/label and labels 0/1. */
static struct data_task tsv_task(void) {
    struct data_task t = task("sst2");
    snprintf(t.name, sizeof t.name, "custom");
    return t;
}

/* Write n raw bytes (NULs allowed) to a temp file; returns a copy of the path (free it). */
static char *temp_bytes(const char *name, const char *data, size_t n) {
    char *path = strdup(check_write_temp(name, ""));
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}

static char *temp_text(const char *name, const char *text) {
    return temp_bytes(name, text, strlen(text));
}

/* Read path with task t; expect failure with a message containing want (and PF_ERR_FORMAT). */
static void expect_bad(const char *path, const struct data_task *t, const char *want) {
    struct data_set s;
    struct pf_err err = {0};
    pf_status st = data_read(path, t, NULL, &s, NULL, &err);
    cr_assert_eq(st, PF_ERR_FORMAT, "%s: expected a format error, got %d (%s)", path, st, err.msg);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    cr_assert(strstr(err.msg, path), "message '%s' lacks the path", err.msg);
    cr_assert_eq(s.n, 0);
    cr_assert_null(s.ex);
}

/* ---- the task table ---- */

Test(data, builtin_lookup) {
    struct data_task t;
    struct pf_err err = {0};
    CHECK_OK(data_task_builtin("MNLI", &t, &err), &err);
    cr_assert_str_eq(t.name, "mnli");
    cr_assert_eq(t.n_labels, 3);
    cr_assert_str_eq(t.labels[0], "entailment");
    cr_assert_str_eq(t.labels[1], "neutral");
    cr_assert_str_eq(t.labels[2], "contradiction");
    cr_assert_str_eq(t.test_file, "dev_matched.tsv");
    cr_assert_str_eq(t.test2_file, "dev_mismatched.tsv");
    cr_assert_eq(t.split, SPLIT_LARGE);
    CHECK_OK(data_task_builtin("mrpc", &t, &err), &err);
    cr_assert_eq(t.n_metrics, 2);
    cr_assert_eq(t.metrics[0], METRIC_F1);
    cr_assert_eq(t.metrics[1], METRIC_ACC);
    CHECK_OK(data_task_builtin("stsb", &t, &err), &err);
    cr_assert(t.regression && t.n_labels == 1 && t.metrics[0] == METRIC_PEARSON);
    CHECK_OK(data_task_builtin("rte", &t, &err), &err);
    cr_assert_eq(t.max_len, 256);
    CHECK_OK(data_task_builtin("cola", &t, &err), &err);
    cr_assert(!t.header && t.metrics[0] == METRIC_MCC && t.split == SPLIT_SMALL);
    cr_assert_eq(data_task_count(), 13);
    cr_assert_null(data_task_name(13));
    cr_assert_eq(data_task_builtin("glue-foo", &t, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "glue-foo") && strstr(err.msg, "superglue-rte") &&
                  strstr(err.msg, "cola"),
              "%s", err.msg);
}

/* ---- every built-in layout ---- */

struct layout_case {
    const char *task, *file;
    int64_t n;
    const char *text0, *pair0; /* first example, exact */
    int label0, label_last;
};

static const struct layout_case LAYOUTS[] = {
    {"cola", "train.tsv", 6,
     "Our friends won't buy this analysis, let alone the next one we propose.", NULL, 1, 1},
    {"sst2", "train.tsv", 8, "hide new secretions from the parental units ", NULL, 0, 1},
    {"mrpc", "train.tsv", 4,
     "Amrozi accused his brother , whom he called \" the witness \" , of deliberately "
     "distorting his evidence .",
     "Referring to him as only \" the witness \" , Amrozi accused his brother of deliberately "
     "distorting his evidence .",
     1, 0},
    {"qqp", "train.tsv", 4,
     "How is the life of a math student? Could you describe your own experiences?",
     "Which level of prepration is enough for the exam jlpt5?", 0, 1},
    {"mnli", "train.tsv", 6,
     "Conceptually cream skimming has two basic dimensions - product and geography.",
     "Product and geography are what make cream skimming work. ", 1, 2},
    {"mnli", "dev_mismatched.tsv", 3,
     "Your contribution helped make it possible for us to provide our students with a quality "
     "education.",
     "Your contributions were of no help with our students' education.", 2, 0},
    {"qnli", "train.tsv", 4, "When did the third Digimon series begin?", NULL, 1, 0},
    {"rte", "train.tsv", 3, "No Weapons of Mass Destruction Found in Iraq Yet.",
     "Weapons of Mass Destruction Found in Iraq.", 1, 0},
    {"wnli", "dev.tsv", 3, "The drain is clogged with hair. It has to be cleaned.",
     "The hair has to be cleaned.", 0, 0},
    {"boolq", "train.jsonl", 5, "do iran and afghanistan speak the same language",
     "Persian language -- Persian, also known by its endonym Farsi, is one of the Western "
     "Iranian languages.",
     1, 0},
    {"cb", "train.jsonl", 4,
     "It was a complex language. Not written down but handed down. One might say it was peeled "
     "down.",
     "the language was peeled down", 0, 0},
    {"superglue-rte", "val.jsonl", 2,
     "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.",
     "Christopher Reeve had an accident.", 1, 0},
    {"wic", "train.jsonl", 3, "place: Do you want to come over to my place later?",
     "A political system with no place for the less prominent groups.", 0, 1},
};

Test(data, builtin_layouts) {
    for (size_t k = 0; k < sizeof LAYOUTS / sizeof LAYOUTS[0]; k++) {
        const struct layout_case *c = &LAYOUTS[k];
        struct data_task t = task(c->task);
        char path[256];
        snprintf(path, sizeof path, GLUE "%s/%s", c->task, c->file);
        struct data_set s;
        struct pf_err err = {0};
        int64_t skipped = -1;
        CHECK_OK(data_read(path, &t, NULL, &s, &skipped, &err), &err);
        cr_assert_eq(skipped, 0);
        cr_assert_eq(s.n, c->n, "%s: %lld examples, want %lld", path, (long long)s.n,
                     (long long)c->n);
        cr_assert_str_eq(s.ex[0].text, c->text0, "%s", path);
        if (c->pair0 && strcmp(c->task, "qnli"))
            cr_assert_str_eq(s.ex[0].pair, c->pair0, "%s", path);
        if (!strcmp(c->task, "qnli"))
            cr_assert_str_eq(s.ex[0].pair,
                             "Unlike the two seasons before it and most of the seasons that "
                             "followed, Digimon Tamers takes a darker and more realistic approach "
                             "to its story featuring Digimon who do not reincarnate after their "
                             "deaths and more complex character development in the original "
                             "Japanese.");
        if (!c->pair0 && strcmp(c->task, "qnli"))
            cr_assert_null(s.ex[0].pair, "%s", path);
        cr_assert_eq(s.ex[0].label, c->label0, "%s", path);
        cr_assert_eq(s.ex[s.n - 1].label, c->label_last, "%s", path);
        cr_assert_eq(s.ex[0].line, t.header ? 2 : 1, "%s", path);
        data_set_free(&s);
    }
}

Test(data, literal_quotes_and_cola_labels) {
    struct data_task t = task("mnli");
    struct data_set s;
    struct pf_err err = {0};
    CHECK_OK(data_read(GLUE "mnli/dev_mismatched.tsv", &t, NULL, &s, NULL, &err), &err);
    cr_assert_str_eq(s.ex[1].text, "\"The disqualification of those \"\"unfit\"\" remains a standard.");
    data_set_free(&s);
    t = task("sst2");
    CHECK_OK(data_read(GLUE "sst2/train.tsv", &t, NULL, &s, NULL, &err), &err);
    cr_assert_str_eq(s.ex[6].text, "\" the emperor 's new clothes ");
    data_set_free(&s);
    t = task("cola");
    CHECK_OK(data_read(GLUE "cola/train.tsv", &t, NULL, &s, NULL, &err), &err);
    int want[6] = {1, 1, 0, 1, 0, 1};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(s.ex[i].label, want[i]);
    cr_assert_str_eq(s.ex[2].text, "They drank the pub.");
    data_set_free(&s);
}

Test(data, stsb_targets) {
    struct data_task t = task("stsb");
    struct data_set s;
    struct pf_err err = {0};
    CHECK_OK(data_read(GLUE "stsb/train.tsv", &t, NULL, &s, NULL, &err), &err);
    cr_assert_eq(s.n, 4);
    float want[4] = {5.0f, 3.8f, 3.8f, 2.6f};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(s.ex[i].target, want[i], 1e-6);
    cr_assert_str_eq(s.ex[0].pair, "An air plane is taking off.");
    data_set_free(&s);
}

Test(data, custom_csv_rfc4180) {
    struct data_task t = tsv_task();
    t.format = DATA_CSV;
    t.quoting = 1;
    snprintf(t.pair, sizeof t.pair, "b");
    char *p = temp_text("q.csv", "sentence,b,label\n"
                                 "\"a, quoted \"\"text\"\"\",plain,1\n"
                                 "\"two\nlines\",x,0\n"
                                 "  spaced  ,y,1\n");
    struct data_set s;
    struct pf_err err = {0};
    CHECK_OK(data_read(p, &t, NULL, &s, NULL, &err), &err);
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.ex[0].text, "a, quoted \"text\"");
    cr_assert_str_eq(s.ex[1].text, "two\nlines");
    cr_assert_eq(s.ex[1].line, 3);
    cr_assert_eq(s.ex[2].line, 5);
    cr_assert_str_eq(s.ex[2].text, "  spaced  ");
    data_set_free(&s);
    free(p);
}

/* Label strings read from the data when a custom task gives none: numbers in numeric
 * order, other strings in byte order; then the normal read maps them to those ids. */
Test(data, discover_labels) {
    struct data_task t = tsv_task();
    t.n_labels = 0;
    char *p = temp_text("dl.tsv", "sentence\tlabel\na\t10\nb\t2\nc\t0\nd\t2\n");
    struct pf_err err = {0};
    CHECK_OK(data_discover_labels(p, &t, NULL, &err), &err);
    cr_assert_eq(t.n_labels, 3);
    cr_assert_str_eq(t.labels[0], "0");
    cr_assert_str_eq(t.labels[1], "2");
    cr_assert_str_eq(t.labels[2], "10");
    struct data_set s;
    CHECK_OK(data_read(p, &t, NULL, &s, NULL, &err), &err);
    cr_assert_eq(s.ex[0].label, 2); /* "10" */
    cr_assert_eq(s.ex[1].label, 1); /* "2" */
    data_set_free(&s);
    free(p);
    struct data_task w = tsv_task();
    w.n_labels = 0;
    p = temp_text("dw.tsv", "sentence\tlabel\na\tpos\nb\tneg\nc\tneutral\n");
    CHECK_OK(data_discover_labels(p, &w, NULL, &err), &err);
    cr_assert_eq(w.n_labels, 3);
    cr_assert_str_eq(w.labels[0], "neg");
    cr_assert_str_eq(w.labels[2], "pos");
    free(p);
    struct data_task one = tsv_task();
    one.n_labels = 0;
    p = temp_text("d1.tsv", "sentence\tlabel\na\tx\nb\tx\n");
    cr_assert_eq(data_discover_labels(p, &one, NULL, &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "1 distinct label"), "%s", err.msg);
    free(p);
}

/* ---- splits ---- */

static int64_t count_lines_shared(const struct data_set *a, const struct data_set *b) {
    int64_t shared = 0;
    for (int64_t i = 0; i < a->n; i++)
        for (int64_t j = 0; j < b->n; j++)
            shared += a->ex[i].line == b->ex[j].line;
    return shared;
}

Test(data, split_small_from_folder) {
    struct data_task t = task("cola");
    struct data_splits sp;
    struct pf_err err = {0};
    CHECK_OK(data_load_splits(&t, GLUE "cola", NULL, NULL, 7, NULL, &sp, &err), &err);
    cr_assert_eq(sp.train.n, 6);
    cr_assert_eq(sp.dev.n, 3); /* 5 validation rows: 3 dev, 2 test */
    cr_assert_eq(sp.test.n, 2);
    cr_assert_eq(sp.test2.n, 0);
    cr_assert_eq(count_lines_shared(&sp.dev, &sp.test), 0);
    data_splits_free(&sp);
    cr_assert_eq(data_load_splits(&t, GLUE "cola", GLUE "cola/dev.tsv", NULL, 7, NULL, &sp, &err),
                 PF_ERR_ARG);
}

Test(data, split_large_mnli_test2) {
    struct data_task t = task("mnli");
    struct data_splits sp;
    struct pf_err err = {0};
    CHECK_OK(data_load_splits(&t, GLUE "mnli", NULL, NULL, 1, NULL, &sp, &err), &err);
    cr_assert_eq(sp.dev.n, 3); /* min(2000, half of 6) */
    cr_assert_eq(sp.train.n, 3);
    cr_assert_eq(sp.test.n, 2);
    cr_assert_eq(sp.test2.n, 3);
    cr_assert_eq(count_lines_shared(&sp.train, &sp.dev), 0);
    cr_assert_str_eq(sp.test.ex[0].text, "The new rights are nice enough");
    data_splits_free(&sp);
}

Test(data, split_explicit_paths) {
    struct data_task t = task("rte");
    struct data_splits sp;
    struct pf_err err = {0};
    CHECK_OK(data_load_splits(&t, GLUE "rte/train.tsv", GLUE "rte/dev.tsv", "", 3, NULL, &sp, &err),
             &err);
    cr_assert_eq(sp.train.n, 3);
    cr_assert_eq(sp.dev.n + sp.test.n, 4);
    data_splits_free(&sp);
    t.split = SPLIT_FILES;
    CHECK_OK(data_load_splits(&t, GLUE "rte/train.tsv", GLUE "rte/dev.tsv", GLUE "rte/dev.tsv", 3,
                              NULL, &sp, &err),
             &err);
    cr_assert(sp.train.n == 3 && sp.dev.n == 4 && sp.test.n == 4);
    data_splits_free(&sp);
    t.split = SPLIT_SMALL;
    cr_assert_eq(data_load_splits(&t, GLUE "rte/train.tsv", NULL, NULL, 3, NULL, &sp, &err),
                 PF_ERR_ARG);
}

/* 300 rows "text i\t<i%2>" in a temp file. */
static char *many_rows(const char *name, int n) {
    size_t cap = (size_t)n * 32 + 64, k = 0;
    char *buf = malloc(cap);
    k += (size_t)snprintf(buf + k, cap - k, "sentence\tlabel\n");
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, cap - k, "text %d\t%d\n", i, i % 2);
    char *p = temp_text(name, buf);
    free(buf);
    return p;
}

static int same_lines(const struct data_set *a, const struct data_set *b) {
    if (a->n != b->n)
        return 0;
    for (int64_t i = 0; i < a->n; i++)
        if (a->ex[i].line != b->ex[i].line)
            return 0;
    return 1;
}

Test(data, split_determinism) {
    char *p = many_rows("many.tsv", 300);
    struct data_task t = tsv_task();
    t.split = SPLIT_FILES;
    struct data_splits a, b, c;
    struct pf_err err = {0};
    CHECK_OK(data_load_splits(&t, p, NULL, NULL, 42, NULL, &a, &err), &err);
    CHECK_OK(data_load_splits(&t, p, NULL, NULL, 42, NULL, &b, &err), &err);
    CHECK_OK(data_load_splits(&t, p, NULL, NULL, 43, NULL, &c, &err), &err);
    cr_assert_eq(a.dev.n, 30); /* min(2000, 10% of 300) */
    cr_assert_eq(a.train.n, 270);
    cr_assert(same_lines(&a.dev, &b.dev) && same_lines(&a.train, &b.train));
    cr_assert(!same_lines(&a.dev, &c.dev));
    cr_assert_eq(count_lines_shared(&a.train, &a.dev), 0);
    for (int64_t i = 1; i < a.train.n; i++) /* file order kept */
        cr_assert_lt(a.train.ex[i - 1].line, a.train.ex[i].line);
    data_splits_free(&a);
    data_splits_free(&b);
    data_splits_free(&c);
    /* the same file as validation of a SMALL task: halves, disjoint, deterministic */
    t.split = SPLIT_SMALL;
    CHECK_OK(data_load_splits(&t, p, p, NULL, 5, NULL, &a, &err), &err);
    CHECK_OK(data_load_splits(&t, p, p, NULL, 5, NULL, &b, &err), &err);
    cr_assert(a.dev.n == 150 && a.test.n == 150 && a.train.n == 300);
    cr_assert_eq(count_lines_shared(&a.dev, &a.test), 0);
    cr_assert(same_lines(&a.test, &b.test));
    data_splits_free(&a);
    data_splits_free(&b);
    free(p);
}

Test(data, split_half) {
    int64_t *a, *b, na, nb, *a2, *b2, na2, nb2;
    struct pf_err err = {0};
    CHECK_OK(data_split_half(101, 0.5, 9, &a, &na, &b, &nb, &err), &err);
    cr_assert_eq(na, 51); /* round(50.5) */
    cr_assert_eq(nb, 50);
    char seen[101] = {0};
    for (int64_t i = 0; i < na; i++)
        seen[a[i]]++;
    for (int64_t i = 0; i < nb; i++)
        seen[b[i]]++;
    for (int i = 0; i < 101; i++)
        cr_assert_eq(seen[i], 1);
    CHECK_OK(data_split_half(101, 0.5, 9, &a2, &na2, &b2, &nb2, &err), &err);
    cr_assert(!memcmp(a, a2, (size_t)na * sizeof *a));
    free(a2);
    free(b2);
    CHECK_OK(data_split_half(101, 0.5, 10, &a2, &na2, &b2, &nb2, &err), &err);
    cr_assert(memcmp(a, a2, (size_t)na * sizeof *a));
    free(a);
    free(b);
    free(a2);
    free(b2);
    cr_assert_eq(data_split_half(10, 1.5, 1, &a, &na, &b, &nb, &err), PF_ERR_ARG);
}

/* ---- reliability case 10: bad data files ---- */

Test(data, bad_empty_and_header_only) {
    struct data_task t = tsv_task();
    char *p = temp_text("empty.tsv", "");
    expect_bad(p, &t, "empty file");
    free(p);
    p = temp_text("header.tsv", "sentence\tlabel\n");
    expect_bad(p, &t, "no examples");
    free(p);
    struct data_task j = task("boolq");
    p = temp_text("blank.jsonl", "\n  \n");
    expect_bad(p, &j, "no examples");
    free(p);
}

Test(data, bad_ragged_row) {
    struct data_task t = tsv_task();
    char *p = temp_text("ragged.tsv", "sentence\tlabel\nok\t1\nthree\tfields\t1\n");
    expect_bad(p, &t, "ragged.tsv:3: ragged row: 3 fields, expected 2");
    free(p);
}

Test(data, bad_unterminated_quote) {
    struct data_task t = tsv_task();
    t.format = DATA_CSV;
    t.quoting = 1;
    char *p = temp_text("unterm.csv", "sentence,label\nok,1\n\"never closed,1\nmore,0\n");
    expect_bad(p, &t, "unterm.csv:3: unterminated quote at end of file");
    free(p);
    p = temp_text("midquote.csv", "sentence,label\n\"a\"b,1\n");
    expect_bad(p, &t, "midquote.csv:2:");
    free(p);
}

Test(data, bad_nul_byte) {
    struct data_task t = tsv_task();
    static const char data[] = "sentence\tlabel\nab\0cd\t1\n";
    char *p = temp_bytes("nul.tsv", data, sizeof data - 1);
    expect_bad(p, &t, "nul.tsv:2:3: NUL byte");
    free(p);
}

Test(data, crlf_lf_mixed_and_bom) {
    struct data_task t = tsv_task();
    char *p = temp_text("crlf.tsv", "\xEF\xBB\xBFsentence\tlabel\r\nfirst\t1\r\nsecond\t0\nthird\t1\r\n");
    struct data_set s;
    struct pf_err err = {0};
    CHECK_OK(data_read(p, &t, NULL, &s, NULL, &err), &err);
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.ex[0].text, "first");
    cr_assert_str_eq(s.ex[1].text, "second");
    cr_assert_str_eq(s.ex[2].text, "third");
    cr_assert_eq(s.ex[2].label, 1);
    cr_assert_eq(s.ex[2].line, 4);
    data_set_free(&s);
    free(p);
    struct data_task j = task("cb");
    p = temp_text("bom.jsonl", "\xEF\xBB\xBF{\"premise\":\"p\",\"hypothesis\":\"h\",\"label\":\"neutral\"}\r\n");
    CHECK_OK(data_read(p, &j, NULL, &s, NULL, &err), &err);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.ex[0].label, 2);
    data_set_free(&s);
    free(p);
}

Test(data, bad_utf8) {
    struct data_task t = tsv_task();
    char *p = temp_text("utf8.tsv", "sentence\tlabel\ncaf\xC3\xA9\t1\nabc d\xC3\x28x\t0\n");
    expect_bad(p, &t, "utf8.tsv:3:6: invalid UTF-8");
    free(p);
    struct data_task j = task("boolq");
    p = temp_text("utf8.jsonl", "{\"question\":\"q\xFF\",\"passage\":\"p\",\"label\":true}\n");
    expect_bad(p, &j, "utf8.jsonl:1:15: invalid UTF-8");
    free(p);
}

Test(data, bad_huge_jsonl_record) {
    struct data_task j = task("boolq");
    size_t n = 8u << 20; /* one 8 MiB line, over the 1 MiB default */
    char *big = malloc(n + 64);
    size_t k = (size_t)sprintf(big, "{\"question\":\"q\",\"passage\":\"p\",\"label\":true}\n{\"question\":\"");
    memset(big + k, 'x', n - k - 64);
    k = n - 64;
    k += (size_t)sprintf(big + k, "\",\"passage\":\"p\",\"label\":true}\n");
    char *p = temp_bytes("huge.jsonl", big, k);
    free(big);
    expect_bad(p, &j, "huge.jsonl:2: record longer than 1048576 bytes");
    struct data_read_opts o = {1, 0};
    struct data_set s;
    struct pf_err err = {0};
    int64_t skipped = 0;
    CHECK_OK(data_read(p, &j, &o, &s, &skipped, &err), &err);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(skipped, 1);
    data_set_free(&s);
    struct data_read_opts small = {0, 20};
    cr_assert_eq(data_read(p, &j, &small, &s, NULL, &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, ":1: record longer than 20 bytes"), "%s", err.msg);
    free(p);
}

/* A 1 GiB single-line record (a sparse file: no disk used) is counted past, never held: the
 * process's peak RSS stays far below the record. */
Test(data, gigabyte_record_not_in_memory) {
    char *p = strdup(check_write_temp("gig.jsonl", ""));
    int fd = open(p, O_WRONLY | O_TRUNC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)1 << 30), 0);
    cr_assert_eq(pwrite(fd, "\n", 1, ((off_t)1 << 30) - 1), 1);
    close(fd);
    struct data_task j = task("boolq");
    expect_bad(p, &j, "gig.jsonl:1: record longer than 1048576 bytes");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cr_assert_lt(ru.ru_maxrss, 200L * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
    unlink(p);
    free(p);
}

Test(data, bad_json_line_deep_in_file) {
    struct data_task j = task("cb");
    size_t cap = 100 * 128, k = 0;
    char *buf = malloc(cap);
    for (int i = 1; i <= 60; i++) {
        if (i == 41)
            k += (size_t)snprintf(buf + k, cap - k, "{\"premise\":\"p\",\"hypothesis\" \"h\"}\n");
        else
            k += (size_t)snprintf(buf + k, cap - k,
                                  "{\"premise\":\"p%d\",\"hypothesis\":\"h\",\"label\":\"entailment\"}\n", i);
    }
    char *p = temp_text("deep.jsonl", buf);
    free(buf);
    expect_bad(p, &j, "deep.jsonl:41:");
    expect_bad(p, &j, "invalid JSON");
    struct data_read_opts o = {1, 0};
    struct data_set s;
    struct pf_err err = {0};
    int64_t skipped = 0;
    CHECK_OK(data_read(p, &j, &o, &s, &skipped, &err), &err);
    cr_assert_eq(s.n, 59);
    cr_assert_eq(skipped, 1);
    cr_assert_eq(s.ex[40].line, 42);
    data_set_free(&s);
    free(p);
}

Test(data, bad_json_nesting) {
    struct data_task j = task("cb");
    int depth = 10000;
    char *buf = malloc((size_t)depth * 2 + 64);
    size_t k = 0;
    for (int i = 0; i < depth; i++)
        buf[k++] = '[';
    for (int i = 0; i < depth; i++)
        buf[k++] = ']';
    buf[k++] = '\n';
    buf[k] = '\0';
    char *p = temp_text("nest.jsonl", buf);
    expect_bad(p, &j, "nest.jsonl:1:65: JSON nested deeper than 64");
    free(p);
    /* brackets inside strings do not count */
    p = temp_text("strbr.jsonl", "{\"premise\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                                 "[[[[[[[[[[[[[[[[[[[[\",\"hypothesis\":\"h\",\"label\":\"neutral\"}\n");
    struct data_set s;
    struct pf_err err = {0};
    CHECK_OK(data_read(p, &j, NULL, &s, NULL, &err), &err);
    data_set_free(&s);
    free(p);
    free(buf);
}

Test(data, bad_missing_column) {
    struct data_task t = tsv_task();
    char *p = temp_text("nolabel.tsv", "sentence\tscore\nx\t1\n");
    expect_bad(p, &t, "nolabel.tsv:1: missing column 'label' (columns: 'sentence', 'score')");
    free(p);
    struct data_task c = task("cola");
    p = temp_text("cola2.tsv", "gj04\t1\n");
    expect_bad(p, &c, "missing column 3");
    free(p);
    struct data_task j = task("wic");
    p = temp_text("noword.jsonl", "{\"sentence1\":\"a\",\"sentence2\":\"b\",\"label\":true}\n");
    expect_bad(p, &j, "noword.jsonl:1: missing field 'word'");
    free(p);
    p = temp_text("nolab.jsonl", "{\"word\":\"w\",\"sentence1\":\"a\",\"sentence2\":\"b\"}\n");
    expect_bad(p, &j, "nolab.jsonl:1: missing field 'label'");
    free(p);
    p = temp_text("notstr.jsonl", "{\"word\":\"w\",\"sentence1\":3,\"sentence2\":\"b\",\"label\":true}\n");
    expect_bad(p, &j, "notstr.jsonl:1: field 'sentence1' is not a string");
    free(p);
    p = temp_text("arr.jsonl", "[1,2]\n");
    expect_bad(p, &j, "arr.jsonl:1: not a JSON object");
    free(p);
}

Test(data, bad_empty_text_and_labels) {
    struct data_task t = tsv_task();
    char *p = temp_text("emptytext.tsv", "sentence\tlabel\nok\t1\n\t0\n");
    expect_bad(p, &t, "emptytext.tsv:3: empty text (column 'sentence')");
    free(p);
    p = temp_text("badlabel.tsv", "sentence\tlabel\nok\t2\n");
    expect_bad(p, &t, "badlabel.tsv:2: unknown label '2' (labels: 0, 1)");
    free(p);
    struct data_task r = task("stsb");
    p = temp_text("nan.tsv", "sentence1\tsentence2\tscore\na\tb\tnan\n");
    expect_bad(p, &r, "nan.tsv:2: label 'nan' is not a finite number");
    free(p);
    p = temp_text("abc.tsv", "sentence1\tsentence2\tscore\na\tb\t3.5x\n");
    expect_bad(p, &r, "not a finite number");
    free(p);
    struct data_task m = task("mrpc");
    p = temp_text("emptypair.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\t\n");
    expect_bad(p, &m, "emptypair.tsv:2: empty text (column '#2 String')");
    free(p);
}

/* Files written by HF datasets (to_csv / to_json of a ClassLabel column) hold the label's
 * index: with label names in the config, an index 0..n-1 maps to that name's id, as ClassLabel
 * does (issue 20); a name still wins over an index, and an index out of range is refused. */
Test(data, class_label_indices_map_to_the_names) {
    struct data_task t = tsv_task();
    t.n_labels = 3;
    snprintf(t.labels[0], sizeof t.labels[0], "negative");
    snprintf(t.labels[1], sizeof t.labels[1], "neutral");
    snprintf(t.labels[2], sizeof t.labels[2], "positive");
    t.class_label = 1; /* as train.c sets it for task.labels */
    char *p = temp_text("classlabel.tsv", "sentence\tlabel\nbad\t0\nok\t2\nmeh\tneutral\n");
    struct data_set s;
    struct pf_err err = {0};
    CHECK_OK(data_read(p, &t, NULL, &s, NULL, &err), &err);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.ex[0].label, 0);
    cr_assert_eq(s.ex[1].label, 2);
    cr_assert_eq(s.ex[2].label, 1);
    data_set_free(&s);
    free(p);
    p = temp_text("classlabel_bad.tsv", "sentence\tlabel\nx\t3\n");
    expect_bad(p, &t, "classlabel_bad.tsv:2: unknown label '3' (labels: negative, neutral, "
                      "positive)");
    free(p);
    p = temp_text("classlabel_pad.tsv", "sentence\tlabel\nx\t01\n"); /* not an index */
    expect_bad(p, &t, "unknown label '01'");
    free(p);
    t.class_label = 0; /* labels read from the data, not given: no index mapping */
    p = temp_text("classlabel_off.tsv", "sentence\tlabel\nx\t1\n");
    expect_bad(p, &t, "unknown label '1'");
    free(p);
}

Test(data, missing_file_is_io) {
    struct data_task t = tsv_task();
    struct data_set s;
    struct pf_err err = {0};
    cr_assert_eq(data_read("/nonexistent/x.tsv", &t, NULL, &s, NULL, &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "/nonexistent/x.tsv"));
}

Test(data, skip_bad_counts) {
    struct data_task t = tsv_task();
    static const char data[] = "sentence\tlabel\n"
                               "one\t1\n"
                               "ragged\t1\t1\n"
                               "two\t0\n"
                               "bad\x80utf\t1\n"
                               "n\0ul\t1\n"
                               "\t1\n"
                               "label\t7\n"
                               "three\t1\n";
    char *p = temp_bytes("skip.tsv", data, sizeof data - 1);
    struct data_read_opts o = {1, 0};
    struct data_set s;
    struct pf_err err = {0};
    int64_t skipped = 0;
    CHECK_OK(data_read(p, &t, &o, &s, &skipped, &err), &err);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(skipped, 5);
    cr_assert_str_eq(s.ex[2].text, "three");
    cr_assert_eq(s.ex[2].line, 9);
    data_set_free(&s);
    free(p);
    /* a bad header is not skipped */
    p = temp_text("badhead.tsv", "sent\xFF" "ence\tlabel\nx\t1\n");
    cr_assert_eq(data_read(p, &t, &o, &s, &skipped, &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "badhead.tsv:1:5: invalid UTF-8"), "%s", err.msg);
    free(p);
    /* overlong and surrogate encodings are invalid UTF-8 too */
    p = temp_text("overlong.tsv", "sentence\tlabel\n\xC0\x80\t1\n\xED\xA0\x80\t1\nok\t0\n");
    CHECK_OK(data_read(p, &t, &o, &s, &skipped, &err), &err);
    cr_assert(s.n == 1 && skipped == 2);
    data_set_free(&s);
    free(p);
    /* all rows bad: still an error */
    p = temp_text("allbad.tsv", "sentence\tlabel\nx\t9\n");
    cr_assert_eq(data_read(p, &t, &o, &s, &skipped, &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "no examples (1 bad rows skipped)"), "%s", err.msg);
    free(p);
}

/* ---- tokenisation and the loader ---- */

Test(data, encode_sst2_bert) {
    struct tokenizer *tok = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_load_json(&tok, "tests/data/tok/bert/tokenizer.json", &err), &err);
    struct data_task t = task("mrpc");
    struct data_set s;
    CHECK_OK(data_read(GLUE "mrpc/train.tsv", &t, NULL, &s, NULL, &err), &err);
    struct data_encoded e;
    CHECK_OK(data_encode(&s, tok, 16, &e, &err), &err);
    cr_assert_eq(e.n, 4);
    cr_assert_eq(e.pad_id, tok_pad_id(tok));
    int32_t cls = tok_token_to_id(tok, "[CLS]"), sep = tok_token_to_id(tok, "[SEP]");
    for (int64_t i = 0; i < e.n; i++) {
        cr_assert_leq(e.len[i], 16);
        cr_assert_eq(e.ids[i][0], cls);
        cr_assert_eq(e.ids[i][e.len[i] - 1], sep);
        cr_assert_eq(e.types[i][e.len[i] - 1], 1); /* pair: the last segment is type 1 */
        cr_assert_eq(e.label[i], s.ex[i].label);
    }
    cr_assert_eq(e.max_len, 16);
    struct data_loader_opts o = {.batch_size = 3, .pad_id = -1};
    struct data_loader *l;
    CHECK_OK(data_loader_create(&l, &e, &o, &err), &err);
    struct data_batch b;
    int done;
    CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
    cr_assert(!done && b.B == 3 && b.index[0] == 0 && b.index[2] == 2);
    CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
    cr_assert(!done && b.B == 1 && b.index[0] == 3);
    CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
    cr_assert(done);
    data_loader_free(l);
    data_encoded_free(&e);
    data_set_free(&s);
    tok_free(tok);
}

/* A hand-made encoded set: example i has length lens[i], ids i*1000 + t, label i. */
static void fake_encoded(struct data_encoded *e, int64_t n, uint64_t seed) {
    memset(e, 0, sizeof *e);
    e->n = n;
    e->ids = calloc((size_t)n, sizeof *e->ids);
    e->types = calloc((size_t)n, sizeof *e->types);
    e->len = calloc((size_t)n, sizeof *e->len);
    e->label = calloc((size_t)n, sizeof *e->label);
    e->target = calloc((size_t)n, sizeof *e->target);
    e->pad_id = 0;
    float u[1024];
    check_fill(u, (size_t)n, seed, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) {
        int len = 2 + (int)(u[i] * 60.0f);
        e->len[i] = len;
        e->ids[i] = malloc((size_t)len * sizeof(int32_t));
        e->types[i] = calloc((size_t)len, sizeof(int32_t));
        for (int t = 0; t < len; t++)
            e->ids[i][t] = (int32_t)(i * 1000 + t + 1);
        e->label[i] = (int)i;
        e->target[i] = (float)i;
        if (len > e->max_len)
            e->max_len = len;
    }
}

/* Run one epoch; check padding of each batch; count each example; returns batches. */
static int64_t run_epoch(struct data_loader *l, const struct data_encoded *e, int *seen,
                         int64_t *first_index) {
    struct data_batch b;
    struct pf_err err = {0};
    int done = 0;
    int64_t nb = 0;
    for (;;) {
        CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
        if (done)
            break;
        int T = 0;
        for (int i = 0; i < b.B; i++) {
            int64_t x = b.index[i];
            seen[x]++;
            T = e->len[x] > T ? e->len[x] : T;
            cr_assert_eq(b.label[i], (int)x);
            for (int t = 0; t < b.T; t++) {
                int real = t < e->len[x];
                cr_assert_eq(b.mask[i * b.T + t], real);
                cr_assert_eq(b.ids[i * b.T + t], real ? (int32_t)(x * 1000 + t + 1) : 0);
            }
        }
        cr_assert_eq(b.T, T, "batch padded to %d, its longest is %d", b.T, T);
        if (first_index && nb < 64)
            first_index[nb] = b.index[0];
        nb++;
    }
    return nb;
}

Test(data, loader_bucketing) {
    struct data_encoded e;
    fake_encoded(&e, 203, 11);
    struct data_loader_opts o = {.batch_size = 8, .shuffle = 1, .seed = 5, .pad_id = -1};
    struct data_loader *l;
    struct pf_err err = {0};
    CHECK_OK(data_loader_create(&l, &e, &o, &err), &err);
    cr_assert_eq(data_loader_batches(l), 26);
    int seen[203] = {0};
    int64_t first[64];
    cr_assert_eq(run_epoch(l, &e, seen, first), 26);
    for (int i = 0; i < 203; i++)
        cr_assert_eq(seen[i], 1, "example %d seen %d times", i, seen[i]);
    /* one bucket (26 < 50 batches): every batch covers its own length range, no overlap */
    struct data_batch b;
    int done;
    int lo[26], hi[26], k = 0;
    for (;;) {
        CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
        if (done)
            break;
        lo[k] = 1 << 30;
        hi[k] = 0;
        for (int i = 0; i < b.B; i++) {
            int n = e.len[b.index[i]];
            lo[k] = n < lo[k] ? n : lo[k];
            hi[k] = n > hi[k] ? n : hi[k];
            if (i)
                cr_assert_geq(n, e.len[b.index[i - 1]], "lengths sorted within a batch");
        }
        k++;
    }
    cr_assert_eq(k, 26);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            if (i != j)
                cr_assert(hi[i] <= lo[j] || hi[j] <= lo[i], "batches %d and %d overlap", i, j);
    data_loader_free(l);
    /* drop_last: 25 full batches, 200 examples, each at most once */
    o.drop_last = 1;
    CHECK_OK(data_loader_create(&l, &e, &o, &err), &err);
    memset(seen, 0, sizeof seen);
    cr_assert_eq(run_epoch(l, &e, seen, NULL), 25);
    int total = 0;
    for (int i = 0; i < 203; i++) {
        cr_assert_leq(seen[i], 1);
        total += seen[i];
    }
    cr_assert_eq(total, 200);
    data_loader_free(l);
    data_encoded_free(&e);
}

Test(data, loader_deterministic_and_epochs_differ) {
    struct data_encoded e;
    fake_encoded(&e, 500, 3);
    struct data_loader_opts o = {.batch_size = 4, .shuffle = 1, .seed = 9, .bucket_batches = 10,
                                 .pad_id = -1};
    struct data_loader *a, *b;
    struct pf_err err = {0};
    CHECK_OK(data_loader_create(&a, &e, &o, &err), &err);
    CHECK_OK(data_loader_create(&b, &e, &o, &err), &err);
    int seen[500] = {0};
    int64_t fa[64], fb[64], fa1[64];
    run_epoch(a, &e, seen, fa);
    run_epoch(b, &e, seen, fb);
    cr_assert(!memcmp(fa, fb, sizeof fa));
    run_epoch(a, &e, seen, fa1);
    cr_assert(memcmp(fa, fa1, sizeof fa), "epoch 1 must not repeat epoch 0");
    for (int i = 0; i < 500; i++)
        cr_assert_eq(seen[i], 3);
    data_loader_free(b);
    o.seed = 10;
    CHECK_OK(data_loader_create(&b, &e, &o, &err), &err);
    run_epoch(b, &e, seen, fb);
    cr_assert(memcmp(fa, fb, sizeof fa), "another seed, another order");
    data_loader_free(a);
    data_loader_free(b);
    data_encoded_free(&e);
}

Test(data, loader_cursor_seek) {
    struct data_encoded e;
    fake_encoded(&e, 90, 4);
    struct data_loader_opts o = {.batch_size = 7, .shuffle = 1, .seed = 2, .bucket_batches = 3,
                                 .pad_id = -1};
    struct data_loader *l, *r;
    struct pf_err err = {0};
    CHECK_OK(data_loader_create(&l, &e, &o, &err), &err);
    struct data_batch b;
    int done;
    int seen[90] = {0};
    run_epoch(l, &e, seen, NULL);
    for (int i = 0; i < 5; i++)
        CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
    struct data_cursor c;
    data_loader_cursor(l, &c);
    cr_assert(c.epoch == 1 && c.batch == 5);
    CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
    int64_t want[7];
    int wB = b.B;
    memcpy(want, b.index, (size_t)b.B * sizeof *want);
    CHECK_OK(data_loader_create(&r, &e, &o, &err), &err);
    CHECK_OK(data_loader_seek(r, &c, &err), &err);
    CHECK_OK(data_loader_next(r, &b, &done, &err), &err);
    cr_assert(!done && b.B == wB && !memcmp(b.index, want, (size_t)wB * sizeof *want));
    c.batch = 99;
    cr_assert_eq(data_loader_seek(r, &c, &err), PF_ERR_ARG);
    data_loader_free(l);
    data_loader_free(r);
    data_encoded_free(&e);
}

Test(data, loader_eval_order_and_subset) {
    struct data_encoded e;
    fake_encoded(&e, 20, 8);
    int64_t idx[5] = {3, 17, 4, 9, 0};
    struct data_loader_opts o = {.batch_size = 2, .idx = idx, .n_idx = 5, .pad_id = -1};
    struct data_loader *l;
    struct pf_err err = {0};
    CHECK_OK(data_loader_create(&l, &e, &o, &err), &err);
    struct data_batch b;
    int done, k = 0;
    for (;;) {
        CHECK_OK(data_loader_next(l, &b, &done, &err), &err);
        if (done)
            break;
        for (int i = 0; i < b.B; i++)
            cr_assert_eq(b.index[i], idx[k++]);
    }
    cr_assert_eq(k, 5);
    data_loader_free(l);
    idx[1] = 20;
    cr_assert_eq(data_loader_create(&l, &e, &o, &err), PF_ERR_ARG);
    e.pad_id = -1;
    o.idx = NULL;
    cr_assert_eq(data_loader_create(&l, &e, &o, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "pad"));
    e.pad_id = 0;
    data_encoded_free(&e);
}
