/* test_cli_model.c - the model commands through the built binary ($BIPEFT_BIN):
 *   inspect   on every fixture family, and exit 2 with one line for a bad folder;
 *   tokenize  one JSON object whose ids equal HF's (tokenizers.js) for the same text;
 *   forward   end to end: texts -> ids -> model -> OUT.safetensors, compared with the
 *             PyTorch reference of the same texts (reference_text.safetensors, written by
 *             tools/make_hf_fixtures.py from the ids HF's tokenizer gives).
 * Arguments go through execv (no shell), so texts with spaces and non-ASCII pass unchanged. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "io/safetensors.h"

#define FIX "tests/data/hf/"

static int run_bin(const char *const *args, char *out, size_t outsz, char *errb,
                   size_t errsz) {
    return check_run_argv(args, out, outsz, errb, errsz);
}

static char out[1 << 16], errb[1 << 14];

Test(cli_model, inspect_every_family) {
    struct { const char *dir, *want[3]; } cases[] = {
        {FIX "bert-cls", {"family      bert", "sequence-classification, 3 labels", "F32"}},
        {FIX "bert-cls-bf16", {"family      bert", "dtype       BF16", "wordpiece"}},
        {FIX "roberta-cls", {"family      roberta", "positions   64", "bpe-bytelevel"}},
        {FIX "gpt2-lm", {"family      gpt2", "head        causal-lm", "bpe-bytelevel"}},
        {FIX "llama-lm-sharded", {"kv heads 2", "2 files", "rope_theta  500000"}},
        {FIX "llama2-lm", {"family      llama", "bpe-sentencepiece", "causal-lm"}},
        {FIX "qwen2-lm", {"model_type qwen2", "bpe-llama3", "causal-lm"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[] = {"inspect", cases[i].dir, NULL};
        cr_assert_eq(run_bin(args, out, sizeof out, errb, sizeof errb), 0, "%s: %s",
                     cases[i].dir, errb);
        for (int k = 0; k < 3; k++)
            cr_assert(strstr(out, cases[i].want[k]), "%s: no '%s' in:\n%s", cases[i].dir,
                      cases[i].want[k], out);
    }
    const char *bad[] = {"inspect", "/nonexistent/model", NULL};
    cr_assert_eq(run_bin(bad, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "bipeft: inspect: /nonexistent/model: cannot open: No such file"),
              "%s", errb);
    cr_assert_eq(strchr(errb, '\n'), errb + strlen(errb) - 1, "not one line: %s", errb);
}

/* ids must equal the first expected.jsonl case of the tokenizer (from tokenizers.js) */
Test(cli_model, tokenize_matches_hf) {
    const char *kinds[][2] = {{"bert-cls", "bert"}, {"roberta-cls", "roberta"},
                              {"gpt2-lm", "gpt2"}, {"llama-lm", "llama3"},
                              {"llama2-lm", "llama2"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char path[256], dir[256], line[1 << 14];
        snprintf(path, sizeof path, "tests/data/tok/%s/expected.jsonl", kinds[i][1]);
        snprintf(dir, sizeof dir, FIX "%s", kinds[i][0]);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        cr_assert_not_null(fgets(line, sizeof line, f));
        fclose(f);
        cJSON *e = cJSON_Parse(line);
        cr_assert_not_null(e);
        const char *text = cJSON_GetObjectItem(e, "text")->valuestring;
        const char *args[] = {"tokenize", dir, "--text", text, NULL};
        cr_assert_eq(run_bin(args, out, sizeof out, errb, sizeof errb), 0, "%s: %s", dir, errb);
        cJSON *got = cJSON_Parse(out);
        cr_assert_not_null(got, "%s: not JSON: %s", dir, out);
        char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(got, "ids"));
        char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, "ids"));
        cr_assert_str_eq(a, b, "%s: ids differ from HF's for '%s'", dir, text);
        cr_assert(cJSON_IsArray(cJSON_GetObjectItem(got, "tokens")));
        free(a);
        free(b);
        cJSON_Delete(got);
        cJSON_Delete(e);
    }
    const char *bad[] = {"tokenize", FIX "bert-cls", "--text", "\xff\xfe", NULL};
    cr_assert_eq(run_bin(bad, out, sizeof out, errb, sizeof errb), 2, "%s", errb);
    cr_assert(strstr(errb, "UTF-8"), "%s", errb);
}

static int32_t *read_i32(const struct st_file *f, const char *name, int64_t *n) {
    int32_t *d = check_st_i32(f, name, n);
    cr_assert_not_null(d, "%s: no '%s'", f->path, name);
    return d;
}

static void forward_case(const char *fixture) {
    char dir[256], path[300], outp[] = "/tmp/bipeft-fwd-XXXXXX";
    snprintf(dir, sizeof dir, FIX "%s", fixture);
    snprintf(path, sizeof path, "%s/texts.json", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s (rerun tools/make_hf_fixtures.py after the tokenizers)", path);
    char buf[1 << 14];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(buf), *texts = cJSON_GetObjectItem(j, "text"),
          *pairs = cJSON_GetObjectItem(j, "pair");
    cr_assert(cJSON_IsArray(texts) && cJSON_IsArray(pairs));
    int fd = mkstemp(outp);
    close(fd);
    const char *args[32];
    int k = 0;
    args[k++] = "forward";
    args[k++] = dir;
    for (int i = 0; i < cJSON_GetArraySize(texts); i++) {
        args[k++] = "--text";
        args[k++] = cJSON_GetArrayItem(texts, i)->valuestring;
        cJSON *p = cJSON_GetArrayItem(pairs, i);
        if (cJSON_IsString(p)) { /* the k-th --pair goes with the k-th --text */
            cr_assert_eq(i, 0, "texts.json: only the first text may have a pair");
            args[k++] = "--pair";
            args[k++] = p->valuestring;
        }
    }
    args[k++] = "--out";
    args[k++] = outp;
    args[k] = NULL;
    cr_assert_eq(run_bin(args, out, sizeof out, errb, sizeof errb), 0, "%s: %s", fixture, errb);
    struct st_file got, want;
    struct pf_err err = {0};
    snprintf(path, sizeof path, "%s/reference_text.safetensors", dir);
    CHECK_OK(st_open(&want, path, &err), &err);
    CHECK_OK(st_open(&got, outp, &err), &err);
    const char *ints[] = {"input_ids", "attention_mask"};
    for (int i = 0; i < 2; i++) {
        int64_t na, nb;
        int32_t *a = read_i32(&got, ints[i], &na), *b = read_i32(&want, ints[i], &nb);
        cr_assert_eq(na, nb, "%s: %s has %lld entries, want %lld", fixture, ints[i],
                     (long long)na, (long long)nb);
        cr_assert(memcmp(a, b, (size_t)na * sizeof *a) == 0, "%s: %s differs", fixture,
                  ints[i]);
        free(a);
        free(b);
    }
    const char *floats[] = {"last_hidden_state", "logits"};
    for (int i = 0; i < 2; i++) {
        if (!st_find(&want, floats[i])) {
            cr_assert_null(st_find(&got, floats[i]), "%s: unexpected %s", fixture, floats[i]);
            continue;
        }
        int64_t na, nb;
        float *a = check_st_f32(&got, floats[i], -1, &na),
              *b = check_st_f32(&want, floats[i], -1, &nb);
        cr_assert_eq(na, nb);
        double d = 0, m = 0;
        for (int64_t e = 0; e < na; e++) {
            d = fmax(d, fabs((double)a[e] - b[e]));
            m = fmax(m, fabs((double)b[e]));
        }
        cr_assert(d <= 1e-5 * m, "%s: %s relative error %.3g > 1e-5", fixture, floats[i],
                  d / m);
        free(a);
        free(b);
    }
    st_close(&got);
    st_close(&want);
    cJSON_Delete(j);
    unlink(outp);
}

#define FORWARD_TEST(tname, fixture) \
    Test(cli_model, forward_##tname) { forward_case(fixture); }

FORWARD_TEST(bert_cls, "bert-cls")
FORWARD_TEST(bert_cls_f16, "bert-cls-f16")
FORWARD_TEST(bert_mlm, "bert-mlm")
FORWARD_TEST(roberta_cls, "roberta-cls")
FORWARD_TEST(gpt2_cls, "gpt2-cls")
FORWARD_TEST(gpt2_lm, "gpt2-lm")
FORWARD_TEST(llama_cls, "llama-cls")
FORWARD_TEST(llama_lm_sharded, "llama-lm-sharded")
FORWARD_TEST(llama2_lm, "llama2-lm")

/* usage and folder errors: exit 2, one line naming what is wrong */
Test(cli_model, forward_errors) {
    const char *cases[][8] = {
        {"forward", FIX "bert-cls", "--text", "hi", NULL},
        {"forward", FIX "bert-cls", "--out", "/tmp/x.safetensors", NULL},
        {"forward", FIX "bert-cls", "--text", "a", "--pair", "b", "--pair", "c"},
        {"forward", "/nonexistent", "--text", "a", "--out", "/tmp/x.safetensors", NULL},
        {"forward", FIX "bert-cls", "--text", "a", "--bogus", NULL},
    };
    const char *want[] = {"usage: bipeft forward", "usage: bipeft forward",
                          "2 --pair for 1 --text", "/nonexistent: cannot open: No such file",
                          "unknown option '--bogus'"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[10] = {0};
        for (int k = 0; k < 8 && cases[i][k]; k++)
            args[k] = cases[i][k];
        cr_assert_eq(run_bin(args, out, sizeof out, errb, sizeof errb), 2, "case %zu: %s", i,
                     errb);
        cr_assert(strstr(errb, want[i]), "case %zu: '%s' lacks '%s'", i, errb, want[i]);
    }
    /* a write failure is a run-time failure: exit 1, nothing left behind */
    const char *args[] = {"forward", FIX "bert-cls", "--text", "hi", "--out",
                          "/nonexistent-dir/x.safetensors", NULL};
    cr_assert_eq(run_bin(args, out, sizeof out, errb, sizeof errb), 1, "%s", errb);
}
