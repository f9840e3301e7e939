/* test_export.c - `bipeft export` (peft/peft_export.h): run folders are made in a temporary
 * folder from the committed HF fixtures with random non-zero module weights, then
 *   native  round trip: bitwise-identical tensors, identical logits after run_open;
 *   merged  model_load of the merged folder gives the logits of the run with its modules
 *           (LoRA + BitFit + LN + (IA)3 on BERT, LoRA + (IA)3 on GPT-2's fused c_attn and on
 *           LLaMA);
 *   peft    the adapter file's keys, shapes and values, adapter_config.json's fields, GPT-2's
 *           fused q/k/v delta equal to the sum of the slices' deltas;
 *   refusals with their messages, and no partial output folder; the CLI. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <cjson/cJSON.h>
#include <limits.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/safetensors.h"
#include "model/model_load.h"
#include "peft/peft_export.h"
#include "peft/peft_io.h"
#include "train/run_dir.h"

#define FIX "tests/data/hf/"
enum { B = 2, T = 5 };

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/bipeft-export-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* No "NAME.tmp-*" left next to a refused export. */
static int leftovers(const char *name) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -d %s/%s.tmp-* >/dev/null 2>&1", tmpdir, name);
    return system(cmd) == 0;
}

/* A run folder `dir` from a fixture: the given modules with random non-zero weights. */
static void make_run(const char *fixture, const char *dir, const struct peft_spec *s, int n,
                     int head, uint64_t seed) {
    struct pf_err err = {0};
    struct model m;
    struct peft p;
    char path[512];
    snprintf(path, sizeof path, fixture[0] == '/' ? "%s" : FIX "%s", fixture); /* or a path */
    struct model_load_opts o = {.head = HEAD_SEQ_CLS, .n_labels = 0, .seed = 7};
    CHECK_OK(model_load(&m, path, check_cpu(1), &o, NULL, &err), &err);
    CHECK_OK(peft_init(&p, &m, seed, &err), &err);
    for (int i = 0; i < n; i++) {
        CHECK_OK(peft_add(&p, &s[i], seed + i, NULL, &err), &err);
        struct peft_module *md = &p.mod[i];
        for (int j = 0; j < md->n_t; j++)
            check_fill(tensor_f32(&md->t[j]), (size_t)md->t[j].numel, seed * 31 + i * 7 + j,
                       -0.4f, 0.4f);
    }
    struct run_info ri;
    memset(&ri, 0, sizeof ri);
    snprintf(ri.model_path, sizeof ri.model_path, "%s", path);
    snprintf(ri.family, sizeof ri.family, "%s", hf_family_name(m.cfg.family));
    snprintf(ri.task, sizeof ri.task, "test");
    ri.num_labels = m.n_labels;
    ri.n_labels = m.n_labels;
    for (int i = 0; i < m.n_labels; i++)
        snprintf(ri.labels[i], 64, "lab%d", i);
    ri.head = head;
    ri.max_len = 16;
    ri.seed = 7;
    mkdir(dir, 0755);
    CHECK_OK(run_info_write(dir, &ri, &err), &err);
    snprintf(path, sizeof path, "%s/structure.json", dir);
    CHECK_OK(peft_structure_write(&p, path, &err), &err);
    CHECK_OK(run_save_weights(dir, &m, &p, head, 0, &err), &err);
    /* a finished run: bipeft train writes summary.json last (export refuses a run without) */
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"made_by\": \"tests/test_export.c\"}\n", f);
    fclose(f);
    peft_free(&p);
    model_free(&m);
}

/* Logits of a fixed batch (B*L floats, caller frees). */
static float *logits(struct model *m) {
    struct pf_err err = {0};
    int32_t ids[B * T], mask[B * T];
    for (int i = 0; i < B * T; i++) {
        ids[i] = 3 + (i * 7) % (m->cfg.vocab - 4);
        if (ids[i] == m->cfg.pad_id)
            ids[i]++;
        mask[i] = 1;
    }
    struct model_batch b = {.B = B, .T = T, .ids = ids, .mask = mask, .type_ids = NULL};
    CHECK_OK(model_forward(m, &b, &err), &err);
    const struct tensor *lg = model_logits(m);
    float *out = check_alloc((size_t)lg->numel * sizeof(float));
    memcpy(out, tensor_f32(lg), (size_t)lg->numel * sizeof(float));
    return out;
}

static float *run_logits(const char *dir, int *n) {
    struct pf_err err = {0};
    struct model m;
    struct peft p;
    struct run_info ri;
    CHECK_OK(run_open(dir, check_cpu(1), &m, &p, &ri, &err), &err);
    float *l = logits(&m);
    *n = B * m.n_labels;
    peft_free(&p);
    model_free(&m);
    return l;
}

static void assert_close(const float *a, const float *b, int n, double rtol, const char *what) {
    double d = 0, mx = 0;
    for (int i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mx = fmax(mx, fabs((double)b[i]));
    }
    cr_assert(d <= rtol * fmax(mx, 1e-3), "%s: max |diff| %.3g (max |ref| %.3g)", what, d, mx);
}

static void export_run(const char *run, enum export_format f, const char *out) {
    struct pf_err err = {0};
    CHECK_OK(peft_export(run, check_cpu(1), f, out, &err), &err);
}

/* LoRA stored at rank rm, running at rank r (structure.json keeps both: stored_rank) */
#define LORA(t, l, rm, r, a) {CFG_KIND_LORA, t, l, rm, r, a, 0.1f, 0}
#define VEC(k, t, l) {k, t, l, 0, 0, 0, 0, 0}

/* ---- native ---- */

Test(export, native_round_trip) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 4, 2, 8), VEC(CFG_KIND_BITFIT, CFG_T_O, 1),
                                  {CFG_KIND_SERIAL_ADAPTER, CFG_T_FFN, 1, 3, 3, 0, 0, 0}};
    const char *run = tmp_path("nat-run"), *out = tmp_path("nat-out");
    make_run("bert-cls", run, s, 3, 1, 11);
    export_run(run, EXPORT_NATIVE, out);
    struct st_file a, b;
    struct pf_err err = {0};
    char pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s/adapter.safetensors", run);
    snprintf(pb, sizeof pb, "%s/adapter.safetensors", out);
    CHECK_OK(st_open(&a, pa, &err), &err);
    CHECK_OK(st_open(&b, pb, &err), &err);
    cr_assert_eq(a.n, b.n);
    for (int i = 0; i < a.n; i++) {
        cr_assert_str_eq(a.t[i].name, b.t[i].name);
        int64_t n = a.t[i].numel;
        float *x = check_st_f32(&a, a.t[i].name, n, NULL), *y = check_st_f32(&b, a.t[i].name, n, NULL);
        cr_assert(memcmp(x, y, (size_t)n * sizeof(float)) == 0, "%s differs", a.t[i].name);
        free(x);
        free(y);
    }
    st_close(&a);
    st_close(&b);
    int n1, n2;
    float *l1 = run_logits(run, &n1), *l2 = run_logits(out, &n2);
    cr_assert_eq(n1, n2);
    cr_assert(memcmp(l1, l2, (size_t)n1 * sizeof(float)) == 0, "logits differ");
    free(l1);
    free(l2);
}

/* Every export format written by `bipeft export` under umask `mask` (a shell sets it: the
 * umask is read once per process): the folder is 0777 & ~mask, every file in it 0666 & ~mask
 * (issue 19, item 8: tokenizer.json was 0600, native folders 0700). */
static void modes_under_umask(const char *run, unsigned mask, const char *tag) {
    static const char *const fmts[] = {"native", "peft", "merged"};
    const char *bin = getenv("BIPEFT_BIN");
    cr_assert_not_null(bin, "BIPEFT_BIN is not set (run through make test)");
    for (size_t k = 0; k < sizeof fmts / sizeof fmts[0]; k++) {
        char name[64], cmd[1500];
        snprintf(name, sizeof name, "mode-%s-%s", tag, fmts[k]);
        const char *out = tmp_path(name);
        snprintf(cmd, sizeof cmd, "umask %03o && '%s' export '%s' --format %s --out '%s' "
                 ">/dev/null", mask, bin, run, fmts[k], out);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        struct stat sb;
        cr_assert_eq(stat(out, &sb), 0);
        cr_assert_eq(sb.st_mode & 0777, 0777 & ~mask, "%s: folder mode %o", out,
                     sb.st_mode & 0777);
        DIR *d = opendir(out);
        cr_assert_not_null(d);
        int files = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", out, e->d_name);
            cr_assert_eq(stat(p, &sb), 0);
            if (S_ISDIR(sb.st_mode))
                continue;
            cr_assert_eq(sb.st_mode & 0777, 0666 & ~mask, "%s: mode %o", p, sb.st_mode & 0777);
            files++;
        }
        closedir(d);
        cr_assert_gt(files, 0);
    }
}

Test(export, outputs_get_the_usual_permissions) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 4, 2, 8), LORA(CFG_T_V, 1, 2, 2, 0)};
    char run[300]; /* tmp_path's buffers are reused */
    snprintf(run, sizeof run, "%s", tmp_path("mode-run"));
    make_run("bert-cls", run, s, 2, 1, 17);
    modes_under_umask(run, 022, "022");
    modes_under_umask(run, 002, "002");
}

/* ---- merged ---- */

static void merged_case(const char *fixture, const char *name, const struct peft_spec *s,
                        int n) {
    char run[256], out[300];
    snprintf(run, sizeof run, "%s", tmp_path(name));
    snprintf(out, sizeof out, "%s-merged", run);
    make_run(fixture, run, s, n, 1, 21);
    int n1;
    float *want = run_logits(run, &n1);
    export_run(run, EXPORT_MERGED, out);
    struct pf_err err = {0};
    struct model m;
    struct model_load_opts o = {.head = -1, .n_labels = 0, .seed = 99};
    struct model_load_info info;
    CHECK_OK(model_load(&m, out, check_cpu(1), &o, &info, &err), &err);
    cr_assert_eq(m.cfg.head, HEAD_SEQ_CLS, "%s: config.json's architecture", name);
    cr_assert_eq(info.n_initialised, 0, "%s: %s missing from the merged file", name,
                 info.first_initialised);
    cr_assert_eq(info.n_unused, 0, "%s: extra tensor %s", name, info.first_unused);
    float *got = logits(&m);
    cr_assert_eq(B * m.n_labels, n1);
    assert_close(got, want, n1, 1e-4, name);
    /* the merge changed something: the base model alone differs */
    struct model base;
    char fx[256];
    snprintf(fx, sizeof fx, FIX "%s", fixture);
    CHECK_OK(model_load(&base, fx, check_cpu(1), &o, NULL, &err), &err);
    float *lb = logits(&base);
    double d = 0;
    for (int i = 0; i < n1; i++)
        d = fmax(d, fabs((double)lb[i] - want[i]));
    cr_assert(d > 1e-4, "%s: the modules change nothing (test too weak)", name);
    char p[400];
    snprintf(p, sizeof p, "%s/tokenizer.json", out);
    cr_assert(exists(p), "%s: tokenizer.json not copied", name);
    model_free(&base);
    model_free(&m);
    free(lb);
    free(got);
    free(want);
}

Test(export, merged_bert_every_mergeable_kind) {
    const struct peft_spec s[] = {
        LORA(CFG_T_Q, 0, 4, 2, 8), LORA(CFG_T_K, 1, 3, 3, 0), LORA(CFG_T_FFN_DOWN, 0, 2, 2, 4),
        VEC(CFG_KIND_BITFIT, CFG_T_K, 1), VEC(CFG_KIND_BITFIT, CFG_T_ATTN_LN, 0),
        VEC(CFG_KIND_LN, CFG_T_FFN_LN, 1), VEC(CFG_KIND_LN, CFG_T_ATTN_LN, 0),
        VEC(CFG_KIND_IA3, CFG_T_K, 1), VEC(CFG_KIND_IA3, CFG_T_V, 0),
        VEC(CFG_KIND_IA3, CFG_T_FFN_UP, 0), VEC(CFG_KIND_LN, CFG_T_FINAL_LN, -1),
        VEC(CFG_KIND_BITFIT, CFG_T_FINAL_LN, -1)};
    merged_case("bert-cls", "m-bert", s, sizeof s / sizeof s[0]);
}

Test(export, merged_roberta_lora) {
    const struct peft_spec s[] = {LORA(CFG_T_V, 0, 2, 2, 4), LORA(CFG_T_O, 1, 2, 1, 0),
                                  VEC(CFG_KIND_IA3, CFG_T_FFN_UP, 1)};
    merged_case("roberta-cls", "m-roberta", s, 3);
}

Test(export, merged_gpt2_fused_c_attn) {
    const struct peft_spec s[] = {
        LORA(CFG_T_Q, 0, 4, 2, 8), LORA(CFG_T_V, 0, 3, 3, 0), LORA(CFG_T_K, 1, 2, 2, 2),
        LORA(CFG_T_FFN_UP, 1, 2, 2, 0), VEC(CFG_KIND_IA3, CFG_T_K, 0),
        VEC(CFG_KIND_IA3, CFG_T_V, 0), VEC(CFG_KIND_IA3, CFG_T_FFN_UP, 1),
        VEC(CFG_KIND_BITFIT, CFG_T_V, 1), VEC(CFG_KIND_LN, CFG_T_ATTN_LN, 1)};
    merged_case("gpt2-cls", "m-gpt2", s, sizeof s / sizeof s[0]);
}

Test(export, merged_llama) {
    const struct peft_spec s[] = {
        LORA(CFG_T_Q, 0, 4, 2, 8), LORA(CFG_T_K, 1, 2, 2, 0), LORA(CFG_T_FFN_GATE, 0, 2, 2, 0),
        LORA(CFG_T_FFN_DOWN, 1, 2, 1, 0), VEC(CFG_KIND_IA3, CFG_T_V, 1),
        VEC(CFG_KIND_IA3, CFG_T_FFN_UP, 0), VEC(CFG_KIND_LN, CFG_T_FFN_LN, 0)};
    merged_case("llama-cls", "m-llama", s, sizeof s / sizeof s[0]);
}

/* ---- peft ---- */

static cJSON *read_json(const char *dir, const char *name) {
    char p[300], buf[1 << 16];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "%s: not JSON", p);
    return j;
}

static void open_adapter(const char *dir, struct st_file *f) {
    char p[300];
    struct pf_err err = {0};
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
    CHECK_OK(st_open(f, p, &err), &err);
}

static void assert_shape(const struct st_file *f, const char *name, int64_t d0, int64_t d1) {
    const struct st_info *t = st_find(f, name);
    cr_assert_not_null(t, "no tensor %s", name);
    cr_assert(t->ndim == (d1 ? 2 : 1) && t->shape[0] == d0 && (!d1 || t->shape[1] == d1),
              "%s: shape [%lld, %lld], want [%lld, %lld]", name, (long long)t->shape[0],
              (long long)(t->ndim > 1 ? t->shape[1] : 0), (long long)d0, (long long)d1);
}

/* The run's modules, opened again (to compare values). */
struct opened {
    struct model m;
    struct peft p;
    struct run_info ri;
};
static void open_run(const char *dir, struct opened *o) {
    struct pf_err err = {0};
    CHECK_OK(run_open(dir, check_cpu(1), &o->m, &o->p, &o->ri, &err), &err);
}
static void close_run(struct opened *o) {
    peft_free(&o->p);
    model_free(&o->m);
}

/* Tensors of an adapter other than the head's (modules_to_save: classifier, pooler, score). */
static int module_tensors(const struct st_file *f) {
    int n = 0;
    for (int i = 0; i < f->n; i++)
        n += !strstr(f->t[i].name, "classifier.") && !strstr(f->t[i].name, "pooler.") &&
             !strstr(f->t[i].name, "model.score.");
    return n;
}

static int has_string(const cJSON *a, const char *s) {
    const cJSON *e;
    cJSON_ArrayForEach(e, a) if (cJSON_IsString(e) && !strcmp(e->valuestring, s)) return 1;
    return 0;
}

Test(export, peft_lora_bert) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 4, 2, 8), LORA(CFG_T_V, 1, 4, 4, 8),
                                  LORA(CFG_T_FFN_DOWN, 0, 2, 2, 0)};
    const char *run = tmp_path("p-bert"), *out = tmp_path("p-bert-out");
    make_run("bert-cls", run, s, 3, 1, 31);
    export_run(run, EXPORT_PEFT, out);
    struct opened r;
    open_run(run, &r);
    int C = r.m.cfg.hidden, F = r.m.cfg.ffn, L = r.m.n_labels;
    struct st_file f;
    open_adapter(out, &f);
    const char *pre = "base_model.model.bert.encoder.layer.";
    char k[256];
    struct { const char *path; int mod, r, in, out; } want[] = {
        {"0.attention.self.query", 0, 2, C, C}, {"1.attention.self.value", 1, 4, C, C},
        {"0.output.dense", 2, 2, F, C}};
    for (int i = 0; i < 3; i++) {
        const struct peft_module *md = &r.p.mod[want[i].mod];
        snprintf(k, sizeof k, "%s%s.lora_A.weight", pre, want[i].path);
        assert_shape(&f, k, want[i].r, want[i].in);
        float *a = check_st_f32(&f, k, -1, NULL);
        cr_assert(memcmp(a, tensor_f32(&md->t[0]), (size_t)want[i].r * want[i].in * 4) == 0,
                  "%s: values differ from the module's first rows", k);
        free(a);
        snprintf(k, sizeof k, "%s%s.lora_B.weight", pre, want[i].path);
        assert_shape(&f, k, want[i].out, want[i].r);
        float *b = check_st_f32(&f, k, -1, NULL);
        const float *mb = tensor_f32(&md->t[1]);
        for (int o = 0; o < want[i].out; o++)
            for (int j = 0; j < want[i].r; j++)
                cr_assert(b[o * want[i].r + j] == mb[o * md->s.r_max + j], "%s[%d,%d]", k, o, j);
        free(b);
    }
    assert_shape(&f, "base_model.model.classifier.weight", L, C);
    assert_shape(&f, "base_model.model.classifier.bias", L, 0);
    assert_shape(&f, "base_model.model.bert.pooler.dense.weight", C, C);
    assert_shape(&f, "base_model.model.bert.pooler.dense.bias", C, 0);
    cr_assert_eq(f.n, 10, "expected 6 LoRA + 4 head tensors, got %d", f.n);
    st_close(&f);
    cJSON *c = read_json(out, "adapter_config.json");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "peft_type")->valuestring, "LORA");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "task_type")->valuestring, "SEQ_CLS");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "bias")->valuestring, "none");
    cr_assert_eq(cJSON_GetObjectItem(c, "r")->valuedouble, 2);
    cr_assert_eq(cJSON_GetObjectItem(c, "lora_alpha")->valuedouble, 8);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(c, "fan_in_fan_out")));
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(c, "use_rslora")));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(c, "inference_mode")));
    char absb[PATH_MAX];
    cr_assert_not_null(realpath(FIX "bert-cls", absb));
    cr_assert_str_eq(cJSON_GetObjectItem(c, "base_model_name_or_path")->valuestring, absb,
                     "the base's absolute path, so that the adapter loads from anywhere");
    /* only keys that every peft from 0.10 on knows (LoraConfig + PeftConfig fields there): a
     * key it does not know is a TypeError in its LoraConfig(**kwargs) */
    static const char *const known[] = {
        "alpha_pattern", "base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode",
        "lora_alpha", "lora_dropout", "modules_to_save", "peft_type", "r", "rank_pattern",
        "target_modules", "task_type", "use_rslora", "init_lora_weights", "layers_to_transform",
        "layers_pattern", "revision", "auto_mapping", "megatron_config", "megatron_core",
        "loftq_config", "use_dora", "layer_replication"};
    for (const cJSON *key = c->child; key; key = key->next) {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= !strcmp(key->string, known[i]);
        cr_assert(ok, "adapter_config.json: key '%s' is unknown to peft 0.10", key->string);
    }
    cJSON *rp = cJSON_GetObjectItem(c, "rank_pattern"), *ap = cJSON_GetObjectItem(c, "alpha_pattern");
    cr_assert_eq(cJSON_GetArraySize(rp), 1);
    cr_assert_eq(cJSON_GetObjectItem(rp, "encoder.layer.1.attention.self.value")->valuedouble, 4);
    cr_assert_eq(cJSON_GetArraySize(ap), 1, "alpha 0 (scale 1) of rank 2 is lora_alpha 2");
    cr_assert_eq(cJSON_GetObjectItem(ap, "encoder.layer.0.output.dense")->valuedouble, 2);
    cJSON *tm = cJSON_GetObjectItem(c, "target_modules");
    cr_assert_eq(cJSON_GetArraySize(tm), 3);
    cr_assert(has_string(tm, "bert.encoder.layer.0.attention.self.query"));
    cr_assert(has_string(tm, "bert.encoder.layer.0.output.dense"));
    cJSON *ms = cJSON_GetObjectItem(c, "modules_to_save");
    cr_assert(has_string(ms, "classifier") && has_string(ms, "pooler"));
    cr_assert_null(cJSON_GetObjectItem(c, "enable_lora"), "obsolete key");
    cJSON_Delete(c);
    close_run(&r);
}

/* head = false on a fixture that has the head: the head is saved all the same (issue 20: peft
 * wraps a SEQ_CLS head as modules_to_save and looks its keys up in the adapter on load; 0.15
 * and later raise KeyError without them) */
/* issue 20, item 5: lora_dropout is the shortest decimal of the float (0.1, not
 * 0.10000000149011612) */
Test(export, peft_numbers_are_written_as_typed) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 2, 2, 4)};
    const char *run = tmp_path("p-num"), *out = tmp_path("p-num-out");
    make_run("bert-cls", run, s, 1, 1, 43);
    export_run(run, EXPORT_PEFT, out);
    char p[400];
    snprintf(p, sizeof p, "%s/adapter_config.json", out);
    char *txt = check_read_file(p, NULL);
    cr_assert(strstr(txt, "\"lora_dropout\":\t0.1,"), "%s", txt);
    free(txt);
}

/* issue 20, item 3: a base saved in bf16 ("torch_dtype": "bfloat16", and v5's "dtype"): the
 * merged checkpoint's tensors are F32, so its config says float32 (transformers loads with
 * dtype="auto" from it) */
Test(export, merged_config_names_the_dtype_written) {
    char base[300], cmd[8192];
    snprintf(base, sizeof base, "%s", tmp_path("bf16-base"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/" FIX "bert-cls' '%s' && python3 -c \""
             "import json,sys; p=sys.argv[1]+'/config.json'; c=json.load(open(p)); "
             "c['torch_dtype']='bfloat16'; c['dtype']='bfloat16'; "
             "json.dump(c, open(p, 'w'))\" '%s'", base, getenv("PWD"), base, base);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 2, 2, 4)};
    const char *run = tmp_path("bf16-run"), *out = tmp_path("bf16-merged");
    make_run(base, run, s, 1, 1, 47);
    export_run(run, EXPORT_MERGED, out);
    cJSON *c = read_json(out, "config.json");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "torch_dtype")->valuestring, "float32");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "dtype")->valuestring, "float32");
    cJSON_Delete(c);
    struct st_file f;
    struct pf_err err = {0};
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors", out);
    CHECK_OK(st_open(&f, p, &err), &err);
    for (int i = 0; i < f.n; i++)
        cr_assert_eq(f.t[i].dtype, ST_F32, "%s", f.t[i].name);
    st_close(&f);
}

Test(export, peft_lora_head_false_still_saves_the_head) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 2, 2, 4), LORA(CFG_T_Q, 1, 2, 2, 4)};
    const char *run = tmp_path("p-nohead"), *out = tmp_path("p-nohead-out");
    make_run("roberta-cls", run, s, 2, 0, 41);
    export_run(run, EXPORT_PEFT, out);
    struct st_file f;
    open_adapter(out, &f);
    cr_assert_not_null(st_find(&f, "base_model.model.roberta.encoder.layer.1.attention.self."
                                   "query.lora_B.weight"));
    cr_assert_not_null(st_find(&f, "base_model.model.classifier.out_proj.weight"),
                       "the head is in the adapter");
    cr_assert_not_null(st_find(&f, "base_model.model.classifier.dense.weight"));
    st_close(&f);
    cJSON *c = read_json(out, "adapter_config.json");
    cr_assert(has_string(cJSON_GetObjectItem(c, "modules_to_save"), "classifier"));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "rank_pattern")), 0);
    cJSON_Delete(c);
}

Test(export, peft_lora_gpt2_fused) {
    /* layer 0: q and v with different scales (folded into B); layer 1: k alone */
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 4, 2, 8), LORA(CFG_T_V, 0, 3, 3, 0),
                                  LORA(CFG_T_K, 1, 2, 2, 2), LORA(CFG_T_O, 1, 2, 2, 0)};
    const char *run = tmp_path("p-gpt2"), *out = tmp_path("p-gpt2-out");
    make_run("gpt2-cls", run, s, 4, 1, 51);
    export_run(run, EXPORT_PEFT, out);
    struct opened r;
    open_run(run, &r);
    int C = r.m.cfg.hidden;
    struct st_file f;
    open_adapter(out, &f);
    cJSON *c = read_json(out, "adapter_config.json");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(c, "fan_in_fan_out")));
    cJSON *ms = cJSON_GetObjectItem(c, "modules_to_save");
    cr_assert(has_string(ms, "score"));
    assert_shape(&f, "base_model.model.score.weight", r.m.n_labels, C);
    for (int l = 0; l < 2; l++) {
        char ka[200], kb[200], key[80];
        snprintf(key, sizeof key, "h.%d.attn.c_attn", l);
        snprintf(ka, sizeof ka, "base_model.model.transformer.%s.lora_A.weight", key);
        snprintf(kb, sizeof kb, "base_model.model.transformer.%s.lora_B.weight", key);
        int R = l == 0 ? 5 : 2;
        assert_shape(&f, ka, R, C);
        assert_shape(&f, kb, 3 * C, R);
        cJSON *rp = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "rank_pattern"), key);
        cJSON *ap = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "alpha_pattern"), key);
        double r_ = rp ? rp->valuedouble : cJSON_GetObjectItem(c, "r")->valuedouble;
        double a_ = ap ? ap->valuedouble : cJSON_GetObjectItem(c, "lora_alpha")->valuedouble;
        cr_assert_eq(r_, R, "layer %d: r", l);
        float *A = check_st_f32(&f, ka, -1, NULL), *Bf = check_st_f32(&f, kb, -1, NULL);
        /* fused delta (3C x C, output-major) against the sum of the slices' deltas */
        double *want = calloc((size_t)3 * C * C, sizeof *want);
        for (int i = 0; i < r.p.n; i++) {
            const struct peft_module *md = &r.p.mod[i];
            if (md->s.layer != l || md->s.target > CFG_T_V)
                continue;
            int off = (md->s.target - CFG_T_Q) * C, rm = md->s.r_max;
            double sc = md->s.alpha > 0 ? (double)md->s.alpha / md->s.rank : 1.0;
            const float *a = tensor_f32(&md->t[0]), *b = tensor_f32(&md->t[1]);
            for (int o = 0; o < C; o++)
                for (int x = 0; x < C; x++)
                    for (int j = 0; j < md->s.rank; j++)
                        want[(size_t)(off + o) * C + x] += sc * b[o * rm + j] * a[j * C + x];
        }
        double maxd = 0, maxw = 0;
        for (int o = 0; o < 3 * C; o++)
            for (int x = 0; x < C; x++) {
                double g = 0;
                for (int j = 0; j < R; j++)
                    g += (double)Bf[o * R + j] * A[j * C + x];
                g *= a_ / r_;
                maxd = fmax(maxd, fabs(g - want[(size_t)o * C + x]));
                maxw = fmax(maxw, fabs(want[(size_t)o * C + x]));
            }
        cr_assert(maxw > 0 && maxd <= 1e-6 * maxw, "layer %d: fused delta off by %.3g", l,
                  maxd);
        free(want);
        free(A);
        free(Bf);
    }
    cr_assert_not_null(st_find(&f, "base_model.model.transformer.h.1.attn.c_proj.lora_A.weight"));
    cr_assert_eq(f.n, 6 + 1, "3 LoRA pairs + score.weight");
    st_close(&f);
    cJSON_Delete(c);
    close_run(&r);
}

Test(export, peft_ia3_bert) {
    const struct peft_spec s[] = {VEC(CFG_KIND_IA3, CFG_T_K, 0), VEC(CFG_KIND_IA3, CFG_T_FFN_UP, 1)};
    const char *run = tmp_path("p-ia3"), *out = tmp_path("p-ia3-out");
    make_run("bert-cls", run, s, 2, 0, 61);
    export_run(run, EXPORT_PEFT, out);
    struct opened r;
    open_run(run, &r);
    int C = r.m.cfg.hidden, F = r.m.cfg.ffn;
    struct st_file f;
    open_adapter(out, &f);
    const char *kk = "base_model.model.bert.encoder.layer.0.attention.self.key.ia3_l",
               *kf = "base_model.model.bert.encoder.layer.1.output.dense.ia3_l";
    assert_shape(&f, kk, C, 1);
    assert_shape(&f, kf, 1, F);
    cr_assert_eq(module_tensors(&f), 2);
    cr_assert_not_null(st_find(&f, "base_model.model.classifier.weight"), "the head, always");
    float *v = check_st_f32(&f, kf, F, NULL);
    const float *l = tensor_f32(&r.p.mod[1].t[0]);
    for (int i = 0; i < F; i++)
        cr_assert_eq(v[i], 1.0f + l[i]);
    free(v);
    st_close(&f);
    cJSON *c = read_json(out, "adapter_config.json");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "peft_type")->valuestring, "IA3");
    cJSON *ff = cJSON_GetObjectItem(c, "feedforward_modules");
    cr_assert_eq(cJSON_GetArraySize(ff), 1);
    cr_assert(has_string(ff, "bert.encoder.layer.1.output.dense"));
    cr_assert(has_string(cJSON_GetObjectItem(c, "target_modules"),
                         "bert.encoder.layer.0.attention.self.key"));
    cJSON_Delete(c);
    close_run(&r);
}

Test(export, peft_ln_tuning_llama) {
    const struct peft_spec s[] = {VEC(CFG_KIND_LN, CFG_T_ATTN_LN, 1)};
    const char *run = tmp_path("p-ln"), *out = tmp_path("p-ln-out");
    make_run("llama-cls", run, s, 1, 0, 71);
    export_run(run, EXPORT_PEFT, out);
    struct opened r;
    open_run(run, &r);
    struct st_file f;
    open_adapter(out, &f);
    const char *k = "base_model.model.model.layers.1.input_layernorm.ln_tuning_layers.weight";
    int C = r.m.cfg.hidden;
    assert_shape(&f, k, C, 0);
    cr_assert_eq(module_tensors(&f), 1, "RMSNorm: weight only");
    cr_assert_not_null(st_find(&f, "base_model.model.score.weight"), "the head, always");
    float *v = check_st_f32(&f, k, C, NULL);
    float *g = check_alloc((size_t)C * 4);
    struct pf_err err = {0};
    CHECK_OK(model_param_value(&r.m, model_find_param(&r.m, "layers.1.input_layernorm.weight"),
                               g, &err), &err);
    const float *w = tensor_f32(&r.p.mod[0].t[0]);
    for (int i = 0; i < C; i++)
        cr_assert_eq(v[i], g[i] + w[i]);
    free(v);
    free(g);
    st_close(&f);
    cJSON *c = read_json(out, "adapter_config.json");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "peft_type")->valuestring, "LN_TUNING");
    cJSON_Delete(c);
    close_run(&r);
}

/* ---- refusals ---- */

static void refused(const char *run, enum export_format fmt, const char *name,
                    const char *want) {
    struct pf_err err = {0};
    const char *out = tmp_path(name);
    cr_assert_neq(peft_export(run, check_cpu(1), fmt, out, &err), PF_OK, "%s: not refused",
                  name);
    cr_assert(strstr(err.msg, want), "%s: '%s' lacks '%s'", name, err.msg, want);
    cr_assert(!exists(out), "%s: output folder left behind", name);
    cr_assert(!leftovers(name), "%s: temporary folder left behind", name);
}

Test(export, refusals) {
    const struct peft_spec mixed[] = {LORA(CFG_T_Q, 0, 2, 2, 4), VEC(CFG_KIND_BITFIT, CFG_T_V, 0)};
    const char *run = tmp_path("r-mixed");
    make_run("bert-cls", run, mixed, 2, 0, 81);
    refused(run, EXPORT_PEFT, "r-mixed-out", "module kinds lora,bitfit mixed");
    refused(run, EXPORT_PEFT, "r-mixed-out", "use --format merged");

    const struct peft_spec ad[] = {{CFG_KIND_PREFIX, CFG_T_ATTN, 0, 2, 2, 0, 0, 4},
                                   {CFG_KIND_PARALLEL_ADAPTER, CFG_T_FFN, 1, 2, 2, 0, 0, 0},
                                   LORA(CFG_T_Q, 0, 2, 2, 4)};
    run = tmp_path("r-prefix");
    make_run("bert-cls", run, ad, 3, 0, 82);
    refused(run, EXPORT_MERGED, "r-prefix-out", "module kinds prefix, parallel_adapter have "
            "no weight form");
    refused(run, EXPORT_PEFT, "r-prefix-out", "use --format merged");

    const struct peft_spec bf[] = {VEC(CFG_KIND_BITFIT, CFG_T_Q, 0)};
    run = tmp_path("r-llama-bitfit");
    make_run("llama-cls", run, bf, 1, 0, 83);
    refused(run, EXPORT_MERGED, "r-llama-bitfit-out", "has no bias in this model");
}

/* a NaN that run_open cannot see (set after opening): merged and peft refuse it */
Test(export, refuses_non_finite) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 2, 2, 4)};
    const char *run = tmp_path("r-nan");
    make_run("bert-cls", run, s, 1, 1, 91);
    for (int fmt = 0; fmt < 2; fmt++) {
        struct opened r;
        open_run(run, &r);
        tensor_f32(&r.p.mod[0].t[fmt == 0 ? 1 : 0])[3] = NAN;
        struct pf_err err = {0};
        const char *out = tmp_path("r-nan-out");
        pf_status st = fmt == 0 ? peft_export_peft(&r.m, &r.p, &r.ri, out, &err)
                                : peft_export_merged(&r.m, &r.p, &r.ri, out, &err);
        cr_assert_eq(st, PF_ERR_NUMERIC, "%s", err.msg);
        cr_assert(strstr(err.msg, "is not finite: refusing to export"), "%s", err.msg);
        cr_assert(!exists(out) && !leftovers("r-nan-out"));
        close_run(&r);
    }
}

/* ---- CLI ---- */

static char out_b[1 << 14], err_b[1 << 14];

Test(export, cli_usage_errors) {
    const char *cases[][8] = {
        {"export", NULL},
        {"export", "/tmp/x", "--out", "/tmp/y", NULL},
        {"export", "/tmp/x", "--format", "onnx", "--out", "/tmp/y", NULL},
        {"export", "/tmp/x", "--format", "peft", NULL},
        {"export", "/tmp/x", "--format", "peft", "--out", "/tmp/y", "--bogus"},
        {"export", "/nonexistent-run", "--format", "peft", "--out", "/tmp/y", NULL},
    };
    const char *want[] = {"missing the run folder", "missing --format",
                          "unknown format 'onnx'", "missing --out", "unknown option '--bogus'",
                          "/nonexistent-run/run.json: cannot open"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[10] = {0};
        for (int k = 0; k < 8 && cases[i][k]; k++)
            args[k] = cases[i][k];
        cr_assert_eq(check_run_argv(args, out_b, sizeof out_b, err_b, sizeof err_b), 2,
                     "case %zu: %s", i, err_b);
        cr_assert(strstr(err_b, want[i]), "case %zu: '%s' lacks '%s'", i, err_b, want[i]);
        cr_assert(strstr(err_b, "bipeft: export: ") == err_b, "case %zu: %s", i, err_b);
        cr_assert_eq(strchr(err_b, '\n'), err_b + strlen(err_b) - 1, "not one line: %s", err_b);
    }
}

/* export through the binary, then `forward` on the run folder and on the merged folder */
Test(export, cli_export_and_forward) {
    const struct peft_spec s[] = {LORA(CFG_T_Q, 0, 2, 2, 4), VEC(CFG_KIND_IA3, CFG_T_V, 1)};
    char run[256], out[256], f1[300], f2[300];
    snprintf(run, sizeof run, "%s", tmp_path("c-run"));
    snprintf(out, sizeof out, "%s", tmp_path("c-merged"));
    snprintf(f1, sizeof f1, "%s", tmp_path("c-f1.safetensors"));
    snprintf(f2, sizeof f2, "%s", tmp_path("c-f2.safetensors"));
    make_run("bert-cls", run, s, 2, 1, 101);
    const char *a[] = {"export", run, "--format", "merged", "--out", out, NULL};
    cr_assert_eq(check_run_argv(a, out_b, sizeof out_b, err_b, sizeof err_b), 0, "%s", err_b);
    const char *b[] = {"forward", run, "--text", "hello world", "--text", "a b", "--out", f1, NULL};
    cr_assert_eq(check_run_argv(b, out_b, sizeof out_b, err_b, sizeof err_b), 0, "%s", err_b);
    const char *c[] = {"forward", out, "--text", "hello world", "--text", "a b", "--out", f2, NULL};
    cr_assert_eq(check_run_argv(c, out_b, sizeof out_b, err_b, sizeof err_b), 0, "%s", err_b);
    struct st_file x, y;
    struct pf_err err = {0};
    CHECK_OK(st_open(&x, f1, &err), &err);
    CHECK_OK(st_open(&y, f2, &err), &err);
    int64_t n1, n2;
    float *l1 = check_st_f32(&x, "logits", -1, &n1), *l2 = check_st_f32(&y, "logits", -1, &n2);
    cr_assert_eq(n1, n2);
    assert_close(l2, l1, (int)n1, 1e-4, "forward RUN vs forward MERGED");
    free(l1);
    free(l2);
    st_close(&x);
    st_close(&y);
    /* peft of a mixed structure through the binary: exit 2, one line */
    const struct peft_spec m[] = {LORA(CFG_T_Q, 0, 2, 2, 4), VEC(CFG_KIND_LN, CFG_T_ATTN_LN, 0)};
    snprintf(run, sizeof run, "%s", tmp_path("c-mixed"));
    make_run("bert-cls", run, m, 2, 0, 102);
    snprintf(out, sizeof out, "%s", tmp_path("c-mixed-out"));
    const char *d[] = {"export", run, "--format", "peft", "--out", out, NULL};
    cr_assert_eq(check_run_argv(d, out_b, sizeof out_b, err_b, sizeof err_b), 2, "%s", err_b);
    cr_assert(strstr(err_b, "module kinds lora,ln mixed"), "%s", err_b);
    cr_assert(!exists(out));
}
