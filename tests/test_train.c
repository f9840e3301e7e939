/* test_train.c - the fixed-structure training loop (src/train/) end to end:
 *   - every PEFT kind, and full fine-tuning, learns a small synthetic task (which of two word
 *     sets a sentence comes from) on the committed llama-cls fixture, with its layer weights
 *     scaled to a random-features backbone and the classification head frozen (so only the
 *     modules can lower the loss; the start is ~1.7 dev loss, 0.52 accuracy): the mean
 *     training loss of the last steps must fall below 0.25 and dev accuracy reach 0.75
 *     (prefix, the weakest here: 0.6 and 0.65). Measured: see docs/TESTING.md;
 *   - the built-in schedules against their formulas;
 *   - reliability case 25: a NaN gradient, an infinite loss and 1e30 logits are skipped with
 *     parameters and moments bitwise unchanged, logged, and K in a row stop the run;
 *   - `bipeft train` writes a complete run folder, and refuses bad configs with exit 2. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ops.h"
#include "script/script_config.h"
#include "train/schedule.h"
#include "train/train.h"
#include "model/model_load.h"
#include "train/run_dir.h"
#include "util/rng.h"

static const char *tmp_dir(void) {
    return check_temp_dir();
}

/* A config for kind `space` (a Lua expression), written to the temp folder. */
static const char *write_config(const char *file, const char *space, const char *extra) {
    char src[4096];
    const char *d = tmp_dir();
    snprintf(src, sizeof src,
             "return {\n"
             "  mode = 'train',\n"
             "  model = { path = '%s/tests/data/hf/llama-cls' },\n"
             "  task = { name = 'words', train = '%s/train.tsv', dev = '%s/dev.tsv',\n"
             "           test = '%s/dev.tsv', labels = { '0', '1' }, max_len = 16 },\n"
             "  space = %s,\n"
             "  optim = { lr = 3e-2, batch_size = 16, epochs = 20, weight_decay = 0 },\n"
             "  schedule = { lr = peft.schedule.linear{ from = 1, to = 0.1, warmup = 5 } },\n"
             "  train = { head = false, log_every = 5, name = 'run' %s },\n"
             "  session = '%s/sessions',\n"
             "  seed = 3, threads = 1,\n"
             "}\n",
             getenv("PWD") ? getenv("PWD") : ".", d, d, d, space, extra, d);
    static char path[600]; /* check_write_temp's buffer is reused by tmp_dir() */
    snprintf(path, sizeof path, "%s", check_write_temp(file, src));
    return path;
}

struct kcase {
    char name[24];
    char space[200];
    int full;
    double max_loss, min_acc; /* bounds: mean training loss of the last steps, dev accuracy */
};

static const struct kcase kinds[] = {
    {"lora", "peft.space{ peft.lora{ targets = { 'q', 'v' }, ranks = { 4 }, alpha = 8 } }", 0, 0.25, 0.75},
    {"lra", "peft.space{ peft.lra{ targets = { 'attn', 'ffn' }, ranks = { 4 }, reduction = 4 } }",
     0, 0.25, 0.75},
    {"serial", "peft.space{ peft.serial_adapter{ targets = { 'attn', 'ffn' }, ranks = { 4 } } }",
     0, 0.25, 0.75},
    {"parallel", "peft.space{ peft.parallel_adapter{ targets = { 'ffn' }, ranks = { 4 } } }", 0,
     0.25, 0.75},
    {"bitfit", "peft.space{ peft.bitfit{ targets = { 'q', 'k', 'v', 'o', 'ffn_up', 'ffn_down',"
               " 'final_ln' } } }",
     0, 0.25, 0.75},
    {"ln", "peft.space{ peft.ln{ targets = { 'attn_ln', 'ffn_ln', 'final_ln' } } }", 0, 0.25,
     0.75},
    {"ia3", "peft.space{ peft.ia3{ targets = { 'k', 'v', 'ffn_up' } } }", 0, 0.25, 0.75},
    /* the prefix only reweights 4 input-independent values per head: the weakest kind here */
    {"prefix", "peft.space{ peft.prefix{ ranks = { 4 } } }", 0, 0.6, 0.65},
    {"full", "peft.space{ peft.bitfit{ targets = { 'q' } } }", 1, 0.25, 0.75},
};

/* The frozen head: score.weight set to fixed U(-1, 1) values so that the modules alone decide
 * the logits (the fixture's N(0, 0.02) head would cap them near 0). */
static void fix_head(struct trainer *t) {
    struct model_param *p = model_find_param(&t->m, "score.weight");
    cr_assert(p, "llama-cls has a score head");
    int64_t n = model_param_numel(p);
    float *w = check_alloc((size_t)n * sizeof *w);
    check_fill(w, (size_t)n, 4242, -1.0f, 1.0f);
    model_param_set(&t->m, p, w);
    free(w);
    /* a random-features backbone: the fixture's N(0, 0.02) layers are close to the identity,
     * which leaves vector modules (BitFit, LN-tuning, (IA)^3) nothing to rescale; weights
     * N(0, 0.02 * SCALE) give every kind input-dependent features to work with */
    double scale = getenv("TRAIN_SCALE") ? atof(getenv("TRAIN_SCALE")) : 10.0;
    for (int l = 0; l < t->m.n_layers; l++)
        for (int i = 0; i < BP_COUNT; i++) {
            struct tensor *x = &t->m.layers[l].p[i];
            if (!x->data || x->ndim != 2)
                continue;
            for (int64_t j = 0; j < x->numel; j++)
                tensor_f32(x)[j] *= (float)scale;
        }
}

ParameterizedTestParameters(train, every_kind_learns) {
    return cr_make_param_array(struct kcase, kinds, sizeof kinds / sizeof kinds[0]);
}

ParameterizedTest(const struct kcase *k, train, every_kind_learns) {
    check_write_words("train.tsv", 192, 11);
    check_write_words("dev.tsv", 64, 12);
    char extra[64];
    snprintf(extra, sizeof extra, ", full = %s", k->full ? "true" : "false");
    const char *cfgp = write_config("k.lua", k->space, extra);
    struct run_config cfg;
    struct pf_err err = {0};
    cr_assert_eq(script_config_load(cfgp, NULL, &cfg, &err), PF_OK, "%s", err.msg);
    if (k->full)
        cfg.train.head = 0;
    struct trainer t;
    cr_assert_eq(trainer_open(&t, &cfg, check_cpu(1), &err), PF_OK, "%s", err.msg);
    t.quiet = 1;
    fix_head(&t);
    struct peft_spec *specs = NULL;
    int n = 0;
    if (!k->full)
        cr_assert_eq(train_space_specs(&cfg, &t.m, &specs, &n, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(trainer_build(&t, specs, n, k->full, &err), PF_OK, "%s", err.msg);
    free(specs);
    double dv0[METRIC_COUNT], loss0 = 0;
    cr_assert_eq(trainer_eval(&t, TE_DEV, dv0, &loss0, &err), PF_OK, "%s", err.msg);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/run-%s", tmp_dir(), k->name);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    struct train_result r;
    cr_assert_eq(trainer_fit(&t, dir, &r, &err), PF_OK, "%s: %s", k->name, err.msg);
    double dv[METRIC_COUNT], loss1 = 0;
    cr_assert_eq(trainer_eval(&t, TE_DEV, dv, &loss1, &err), PF_OK, "%s", err.msg);
    fprintf(stderr, "train %-8s: dev loss %.3f -> %.3f, accuracy %.3f -> %.3f, last train loss "
            "%.3f, %lld trainable, %.2f s\n", k->name, loss0, loss1, dv0[METRIC_ACC],
            dv[METRIC_ACC], r.final_loss, (long long)r.trainable, r.seconds);
    cr_expect(r.final_loss < k->max_loss, "%s: training loss %.3f did not fall below %.2f",
              k->name, r.final_loss, k->max_loss);
    cr_expect(dv[METRIC_ACC] >= k->min_acc, "%s: dev accuracy %.3f < %.2f", k->name,
              dv[METRIC_ACC], k->min_acc);
    cr_expect(r.has_test && fabs(r.test[METRIC_ACC] - dv[METRIC_ACC]) < 1e-12,
              "%s: the test split (the dev file here) is scored with the best weights",
              k->name);
    trainer_close(&t);
}

Test(train, schedules_match_their_formulas) {
    struct cfg_schedule lin = {.kind = CFG_SCHED_LINEAR, .from = 1, .to = 0, .warmup = 10};
    cr_expect_float_eq(sched_eval(&lin, 0, 110), 0.0, 1e-12);
    cr_expect_float_eq(sched_eval(&lin, 5, 110), 0.5, 1e-12);   /* warm-up: 5/10 */
    cr_expect_float_eq(sched_eval(&lin, 10, 110), 1.0, 1e-12);  /* peak */
    cr_expect_float_eq(sched_eval(&lin, 60, 110), 0.5, 1e-12);  /* halfway down 100 steps */
    cr_expect_float_eq(sched_eval(&lin, 200, 110), 0.0, 1e-12); /* clamped */
    struct cfg_schedule cs = {.kind = CFG_SCHED_COSINE, .from = 2, .to = 0};
    cr_expect_float_eq(sched_eval(&cs, 50, 100), 1.0, 1e-12); /* cos(pi/2) = 0: the middle */
    struct cfg_schedule stp = {.kind = CFG_SCHED_STEP, .from = 1, .gamma = 0.5, .every = 3};
    cr_expect_float_eq(sched_eval(&stp, 7, 100), 0.25, 1e-12); /* floor(7/3) = 2 */
    struct cfg_schedule c = {.kind = CFG_SCHED_CONSTANT, .value = 0.3};
    cr_expect_float_eq(sched_eval(&c, 7, 100), 0.3, 1e-12);
    struct cfg_schedule cu = {.kind = CFG_SCHED_CUSTOM};
    cr_expect(isnan(sched_eval(&cu, 1, 2)));
}

/* ---- reliability case 25 ---- */

struct snap {
    int n;
    float *v[64];
    size_t bytes[64];
};

static void take(const struct trainer *t, struct snap *s) {
    s->n = t->n_tp;
    cr_assert(s->n <= 32);
    for (int i = 0; i < t->n_tp; i++) {
        s->bytes[2 * i] = tensor_nbytes(t->tp[i].p);
        s->v[2 * i] = check_alloc(s->bytes[2 * i] * 3);
        memcpy(s->v[2 * i], t->tp[i].p->data, s->bytes[2 * i]);
        memcpy((char *)s->v[2 * i] + s->bytes[2 * i], t->tp[i].m.data, s->bytes[2 * i]);
        memcpy((char *)s->v[2 * i] + 2 * s->bytes[2 * i], t->tp[i].v.data, s->bytes[2 * i]);
    }
}

static int same(const struct trainer *t, const struct snap *s) {
    for (int i = 0; i < t->n_tp; i++) {
        size_t b = s->bytes[2 * i];
        if (memcmp(s->v[2 * i], t->tp[i].p->data, b) ||
            memcmp((char *)s->v[2 * i] + b, t->tp[i].m.data, b) ||
            memcmp((char *)s->v[2 * i] + 2 * b, t->tp[i].v.data, b))
            return 0;
    }
    return 1;
}

static void open_small(struct trainer *t, int max_steps, int max_nan) {
    check_write_words("train.tsv", 64, 21);
    check_write_words("dev.tsv", 16, 22);
    char extra[128];
    snprintf(extra, sizeof extra, ", max_steps = %d, max_nan_skips = %d, eval_every = 1000",
             max_steps, max_nan);
    const char *cfgp = write_config("n.lua", kinds[0].space, extra);
    struct run_config cfg;
    struct pf_err err = {0};
    cr_assert_eq(script_config_load(cfgp, NULL, &cfg, &err), PF_OK, "%s", err.msg);
    cfg.task.dev[0] = cfg.task.test[0] = '\0';
    /* a constant LR: runs of different lengths then take identical first steps */
    cfg.schedule.lr = (struct cfg_schedule){.kind = CFG_SCHED_CONSTANT, .value = 1};
    cr_assert_eq(trainer_open(t, &cfg, check_cpu(1), &err), PF_OK, "%s", err.msg);
    t->quiet = 1;
    struct peft_spec *specs = NULL;
    int n = 0;
    cr_assert_eq(train_space_specs(&cfg, &t->m, &specs, &n, &err), PF_OK);
    cr_assert_eq(trainer_build(t, specs, n, 0, &err), PF_OK, "%s", err.msg);
    free(specs);
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s exists", path);
    char *b = check_alloc(1 << 20);
    size_t n = fread(b, 1, (1 << 20) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

Test(train, non_finite_steps_are_skipped_bitwise) {
    /* Run A: 3 steps, the third with an infinite loss. Run B: 2 steps. The weights and moments
     * after A must equal those after B bit for bit. The same for a NaN gradient. */
    const char *causes[2] = {"loss", "gradient"};
    for (int c = 0; c < 2; c++) {
        struct trainer a, b;
        struct pf_err err = {0};
        struct train_result ra, rb;
        char dir[600];
        snprintf(dir, sizeof dir, "%s/nan%d", tmp_dir(), c);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        cr_assert_eq(system(cmd), 0);
        open_small(&a, 3, 5);
        if (c == 0)
            a.debug_inf_loss_step = 3;
        else
            a.debug_nan_grad_step = 3;
        cr_assert_eq(trainer_fit(&a, dir, &ra, &err), PF_OK, "%s", err.msg);
        cr_expect_eq(ra.nan_skips, 1, "%s: one step skipped", causes[c]);
        cr_expect_eq(ra.updates, 2);
        char path[700];
        snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
        char *log = read_all(path);
        cr_expect(strstr(log, "\"event\":\"nan_skip\",\"step\":3"), "%s: logged: %s",
                  causes[c], log);
        free(log);
        struct snap s;
        take(&a, &s);
        open_small(&b, 2, 5);
        cr_assert_eq(trainer_fit(&b, dir, &rb, &err), PF_OK, "%s", err.msg);
        cr_expect(same(&b, &s), "%s: a skipped step changed parameters or moments", causes[c]);
        for (int i = 0; i < s.n; i++)
            free(s.v[2 * i]);
        trainer_close(&a);
        trainer_close(&b);
    }
}

Test(train, huge_logits_stay_finite) {
    /* 1e30 logits: the cross-entropy is computed stably (log-sum-exp), so the loss is large
     * but finite, its gradient is a difference of probabilities, and clipping bounds the
     * update: the step is applied and every weight stays finite. */
    struct trainer t;
    struct pf_err err = {0};
    struct train_result r;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/huge", tmp_dir());
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    open_small(&t, 3, 5);
    t.debug_huge_logits_step = 2;
    cr_assert_eq(trainer_fit(&t, dir, &r, &err), PF_OK, "%s", err.msg);
    cr_expect_eq(r.nan_skips, 0);
    cr_expect_eq(r.updates, 3);
    for (int i = 0; i < t.n_tp; i++) {
        const float *x = tensor_f32(t.tp[i].p);
        for (int64_t j = 0; j < t.tp[i].p->numel; j++)
            cr_assert(isfinite(x[j]), "%s[%lld] is not finite", t.tp[i].name, (long long)j);
    }
    trainer_close(&t);
}

Test(train, k_skips_in_a_row_stop_the_run) {
    struct trainer t;
    struct pf_err err = {0};
    struct train_result r;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/diverge", tmp_dir());
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    open_small(&t, 20, 1);
    t.debug_inf_loss_step = 2;
    pf_status st = trainer_fit(&t, dir, &r, &err);
    cr_expect_eq(st, PF_ERR_NUMERIC);
    cr_expect(strstr(err.msg, "diverged"), "message: %s", err.msg);
    cr_expect(r.diverged);
    trainer_close(&t);
}

Test(train, cli_writes_a_run_folder) {
    check_write_words("train.tsv", 48, 31);
    check_write_words("dev.tsv", 16, 32);
    const char *cfgp = write_config("cli.lua", kinds[0].space, ", head = true, eval_every = 2");
    char out[8192], errb[8192];
    const char *args[] = {"train", cfgp, "--quiet", NULL};
    /* the trainer refuses to reuse a folder with a run in it: remove an earlier one */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/sessions/run'", tmp_dir());
    cr_assert_eq(system(cmd), 0);
    int rc = check_run_argv(args, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "exit %d\nstdout: %s\nstderr: %s", rc, out, errb);
    cr_expect(strstr(out, "run folder:"), "%s", out);
    const char *files[] = {"run.json", "structure.json", "adapter.safetensors", "config.json",
                           "metrics.jsonl", "summary.json"};
    for (int i = 0; i < 6; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/sessions/run/%s", tmp_dir(), files[i]);
        FILE *f = fopen(p, "rb");
        cr_expect(f != NULL, "missing %s", p);
        if (f)
            fclose(f);
    }
    char p[700];
    snprintf(p, sizeof p, "%s/sessions/run/metrics.jsonl", tmp_dir());
    char *log = read_all(p);
    cr_expect(strstr(log, "\"event\":\"eval\",\"split\":\"dev\""), "%s", log);
    cr_expect(strstr(log, "\"event\":\"done\""), "%s", log);
    free(log);
    /* eval scores the run, and its native export the same */
    char run[600], nat[600];
    snprintf(run, sizeof run, "%s/sessions/run", tmp_dir());
    snprintf(nat, sizeof nat, "%s/native", tmp_dir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", nat);
    cr_assert_eq(system(cmd), 0);
    const char *ev[] = {"eval", run, cfgp, "--split", "dev", NULL};
    rc = check_run_argv(ev, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "eval: %s", errb);
    cr_expect(strstr(out, "\"dev\": {\"accuracy\": "), "%s", out);
    char first[8192];
    snprintf(first, sizeof first, "%s", strstr(out, "\"task\""));
    const char *ex[] = {"export", run, "--format", "native", "--out", nat, NULL};
    rc = check_run_argv(ex, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "export: %s", errb);
    const char *ev2[] = {"eval", nat, cfgp, "--split", "dev", NULL};
    rc = check_run_argv(ev2, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "eval of the export: %s", errb);
    cr_expect_str_eq(strstr(out, "\"task\""), first, "the export scores as the run");
    /* running again into the same folder is refused, nothing overwritten */
    rc = check_run_argv(args, out, sizeof out, errb, sizeof errb);
    cr_expect_eq(rc, 2, "second run: exit %d: %s", rc, errb);
    cr_expect(strstr(errb, "a run is already there"), "%s", errb);
}

/* The dev accuracy in a JSON text (a run's summary.json or eval's output). */
static double dev_accuracy(const char *json) {
    cJSON *j = cJSON_Parse(json);
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dev"), "accuracy");
    cr_assert(cJSON_IsNumber(a), "no dev accuracy in %s", json);
    double v = a->valuedouble;
    cJSON_Delete(j);
    return v;
}

/* model.init = "random": the checkpoint's shape with fresh weights from the seed. The run
 * folder records it; eval and run_open rebuild the same weights (the run's own dev score comes
 * back), which are not the checkpoint's; a PEFT adapter is refused. */
Test(train, random_init_is_recorded_and_rebuilt) {
    check_write_words("train.tsv", 48, 31);
    check_write_words("dev.tsv", 16, 32);
    char src[4096];
    const char *d = tmp_dir();
    snprintf(src, sizeof src,
             "return { mode = 'train',\n"
             "  model = { path = '%s/tests/data/hf/llama-cls', init = 'random' },\n"
             "  task = { name = 'words', train = '%s/train.tsv', dev = '%s/dev.tsv',\n"
             "           labels = { '0', '1' }, max_len = 16 },\n"
             "  space = peft.space{ peft.lora{ targets = { 'q', 'v' }, ranks = { 4 } } },\n"
             "  optim = { lr = 3e-2, batch_size = 16, epochs = 2 },\n"
             "  train = { name = 'rand' }, session = '%s/sessions', seed = 5, threads = 1 }\n",
             getenv("PWD") ? getenv("PWD") : ".", d, d, d);
    char cfgp[600];
    snprintf(cfgp, sizeof cfgp, "%s", check_write_temp("rand.lua", src));
    char run[700], cmd[800], out[8192], errb[8192];
    snprintf(run, sizeof run, "%s/sessions/rand", d);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", run);
    cr_assert_eq(system(cmd), 0);
    const char *tr[] = {"train", cfgp, "--quiet", NULL};
    int rc = check_run_argv(tr, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "train: %s", errb);
    char p[800];
    snprintf(p, sizeof p, "%s/run.json", run);
    char *rj = read_all(p);
    cr_assert(strstr(rj, "\"random_init\":\ttrue"), "%s", rj);
    snprintf(p, sizeof p, "%s/summary.json", run);
    char *sm = read_all(p);
    double want = dev_accuracy(sm);
    const char *ev[] = {"eval", run, cfgp, "--split", "dev", NULL};
    rc = check_run_argv(ev, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "eval: %s", errb);
    cr_expect(fabs(dev_accuracy(out) - want) < 1e-6, "eval %s vs the run's %f", out, want);
    const char *exp[] = {"export", run, "--format", "peft", "--out", "/tmp/never-written", NULL};
    rc = check_run_argv(exp, out, sizeof out, errb, sizeof errb);
    cr_expect_eq(rc, 2, "export peft of a random-init run: exit %d", rc);
    cr_expect(strstr(errb, "randomly initialised") && strstr(errb, "--format merged"), "%s",
              errb);
    /* the run's base weights, rebuilt by run_open, are the trainer's random ones and not the
     * checkpoint's */
    struct backend *be = check_cpu(1);
    struct model m, pm;
    struct peft pp;
    struct run_info ri;
    struct pf_err err = {0};
    CHECK_OK(run_open(run, be, &m, &pp, &ri, &err), &err);
    cr_assert(ri.random_init);
    struct run_config cfg;
    CHECK_OK(script_config_load(cfgp, NULL, &cfg, &err), &err);
    struct trainer t;
    CHECK_OK(trainer_open(&t, &cfg, be, &err), &err);
    struct model_load_opts o = {.head = HEAD_SEQ_CLS, .n_labels = 2};
    char mp[600];
    snprintf(mp, sizeof mp, "%s/tests/data/hf/llama-cls", getenv("PWD") ? getenv("PWD") : ".");
    CHECK_OK(model_load(&pm, mp, be, &o, NULL, &err), &err);
    const char *names[] = {"layers.0.self_attn.q_proj.weight", "embed_tokens.weight"};
    for (int i = 0; i < 2; i++) {
        struct model_param *a = model_find_param(&m, names[i]), *b = model_find_param(&t.m, names[i]),
                           *c = model_find_param(&pm, names[i]);
        cr_assert(a && b && c, "%s", names[i]);
        size_t bytes = (size_t)a->part[0]->numel * sizeof(float);
        cr_expect(!memcmp(a->part[0]->data, b->part[0]->data, bytes), "%s: run_open does not "
                  "rebuild the trainer's random weights", names[i]);
        cr_expect(memcmp(a->part[0]->data, c->part[0]->data, bytes), "%s: the random weights are "
                  "the checkpoint's", names[i]);
    }
    trainer_close(&t);
    peft_free(&pp);
    model_free(&m);
    model_free(&pm);
    backend_close(be);
    free(rj);
    free(sm);
}

Test(train, cli_refuses_bad_configs) {
    char out[4096], errb[4096];
    const char *cfgp = check_write_temp("s.lua", "return { mode = 'search', model = { path = "
                                        "'x' }, task = { name = 't', train = 'x.tsv' }, budget "
                                        "= { params = 10 }, space = peft.s1{} }\n");
    const char *args[] = {"train", cfgp, NULL};
    int rc = check_run_argv(args, out, sizeof out, errb, sizeof errb);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(errb, "mode is \"search\""), "%s", errb);
    const char *a2[] = {"train", NULL};
    rc = check_run_argv(a2, out, sizeof out, errb, sizeof errb);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(errb, "usage"), "%s", errb);
}

/* Built-in tasks by name: a GLUE folder gives the task's columns, labels, metrics and the
 * spec's splits (MRPC: validation halved into dev and test; MNLI: matched and mismatched
 * validation as test and test2), tokenised for the model. */
Test(train, glue_tasks_by_name) {
    struct {
        const char *name, *dir;
        enum data_metric primary;
        int test2;
    } cases[] = {{"mrpc", "tests/data/glue/mrpc", METRIC_F1, 0},
                 {"MNLI", "tests/data/glue/mnli", METRIC_ACC, 1},
                 {"boolq", "tests/data/glue/boolq", METRIC_ACC, 0}};
    for (int i = 0; i < 3; i++) {
        struct run_config cfg;
        script_config_defaults(&cfg);
        cfg.mode = CFG_MODE_TRAIN;
        snprintf(cfg.file, sizeof cfg.file, "test");
        snprintf(cfg.model.path, sizeof cfg.model.path, "tests/data/hf/bert-cls");
        snprintf(cfg.task.name, sizeof cfg.task.name, "%s", cases[i].name);
        snprintf(cfg.task.train, sizeof cfg.task.train, "%s", cases[i].dir);
        struct trainer t;
        struct pf_err err = {0};
        cr_assert_eq(trainer_open(&t, &cfg, check_cpu(1), &err), PF_OK, "%s: %s",
                     cases[i].name, err.msg);
        cr_expect_eq(t.task.metrics[0], cases[i].primary, "%s: primary metric", cases[i].name);
        cr_expect(t.enc[TE_TRAIN].n > 0 && t.enc[TE_DEV].n > 0 && t.enc[TE_TEST].n > 0,
                  "%s: train %lld, dev %lld, test %lld", cases[i].name,
                  (long long)t.enc[TE_TRAIN].n, (long long)t.enc[TE_DEV].n,
                  (long long)t.enc[TE_TEST].n);
        cr_expect_eq(t.enc[TE_TEST2].n > 0, cases[i].test2, "%s: test2", cases[i].name);
        cr_expect_eq(t.m.n_labels, t.task.n_labels, "%s: the head has the task's labels",
                     cases[i].name);
        trainer_close(&t);
    }
}
