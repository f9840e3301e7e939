/* test_pretrain.c - MLM pretraining from scratch (src/pretrain/pretrain.h, bipeft pretrain):
 * on a generated corpus with a strong pattern (letters come in fixed pairs) and a tokenizer
 * trained in the test, a 1-layer hidden-16 BERT learns to fill masks far above the unigram
 * baseline in 800 steps (under a second); the folder loads with model_load (no parameter
 * missing) and `bipeft inspect`; the held-out loss recomputed in double from the loaded
 * model agrees;
 * two runs are byte-identical; masking follows 15 % and 80/10/10 and never touches specials;
 * packing; bad configs name the field; the command's exit codes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/safetensors.h"
#include "model/model_load.h"
#include "pretrain/pretrain.h"
#include "tok/tok.h"
#include "tok/tok_train.h"
#include "util/rng.h"

/* Lines of 8 letter pairs: "a" is always followed by "b", "c" by "d", ... (12 letters). */
static char *make_corpus(int n_lines, uint64_t seed) {
    size_t cap = (size_t)n_lines * 40 + 1, at = 0;
    char *s = check_alloc(cap);
    for (int l = 0; l < n_lines; l++) {
        for (int i = 0; i < 8; i++) {
            uint32_t w[4];
            rng_philox4x32(seed, (uint64_t)l * 8 + (uint64_t)i, w);
            char a = (char)('a' + 2 * (int)(w[0] % 6));
            at += (size_t)snprintf(s + at, cap - at, "%s%c %c", i ? " " : "", a, a + 1);
        }
        at += (size_t)snprintf(s + at, cap - at, "\n");
    }
    return s;
}

/* The corpus file and a tokenizer folder trained on it (made once per process). */
static const char *corpus_path(void) {
    static char path[600];
    if (!path[0]) {
        char *text = make_corpus(400, 7);
        snprintf(path, sizeof path, "%s", check_write_temp("pretrain_corpus.txt", text));
        free(text);
    }
    return path;
}

static const char *tokenizer_dir(void) {
    static char dir[600];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/pretrain_tok", check_temp_dir());
        struct tok_train_opts o = {.vocab_size = 40, .min_frequency = 1, .lowercase = 1};
        struct tok_trainer *tr = NULL;
        struct pf_err err = {0};
        CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
        CHECK_OK(tok_trainer_add_file(tr, corpus_path(), &err), &err);
        CHECK_OK(tok_trainer_learn(tr, &err), &err);
        CHECK_OK(tok_trainer_write(tr, dir, &err), &err);
        tok_trainer_free(tr);
    }
    return dir;
}

/* A config file `name` in the temp folder; extra is more Lua fields ("" for none). */
static const char *write_config(const char *name, const char *out, int steps,
                                const char *extra) {
    static char path[600];
    char text[4096];
    snprintf(text, sizeof text,
             "return {\n"
             "  model = { layers = 1, hidden = 16, heads = 2, intermediate = 32,\n"
             "            max_positions = 64 },\n"
             "  tokenizer = \"%s\",\n"
             "  corpus = { \"%s\" },\n"
             "  out = \"%s\",\n"
             "  eval_fraction = 0.1, max_len = 40, batch_size = 16, steps = %d,\n"
             "  lr = 5e-3, warmup = 10, weight_decay = 0.01, seed = 3, threads = 1,\n"
             "  eval_every = 200, log_every = 10,\n"
             "%s}\n",
             tokenizer_dir(), corpus_path(), out, steps, extra);
    snprintf(path, sizeof path, "%s", check_write_temp(name, text));
    return path;
}

static void out_dir(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", check_temp_dir(), name);
}

static void run_config(const char *cfg, struct pretrain_result *r) {
    struct pretrain_config c;
    struct pf_err err = {0};
    CHECK_OK(pretrain_config_load(cfg, &c, &err), &err);
    CHECK_OK(pretrain_run(&c, check_cpu(1), 1, r, &err), &err);
}

/* The held-out loss of a loaded model on the same masks, cross-entropy in double. */
static double reference_eval_loss(struct model *m, const struct pretrain_config *c) {
    struct tokenizer *tok = NULL;
    struct pf_err err = {0};
    char path[700];
    snprintf(path, sizeof path, "%s/tokenizer.json", c->out);
    CHECK_OK(tok_load_json(&tok, path, &err), &err);
    struct pretrain_corpus pc;
    CHECK_OK(pretrain_corpus_load(&pc, c, tok, &err), &err);
    tok_free(tok);
    int64_t n = pc.eval.n < c->eval_max ? pc.eval.n : c->eval_max;
    cr_assert(n > 0);
    int T = c->max_len, V = m->cfg.vocab;
    double sum = 0;
    int64_t count = 0;
    for (int64_t at = 0; at < n; at += c->batch_size) {
        int B = (int)(n - at < c->batch_size ? n - at : c->batch_size);
        int64_t seq[64];
        for (int b = 0; b < B; b++)
            seq[b] = at + b;
        int32_t *ids = check_alloc((size_t)B * T * 4), *attn = check_alloc((size_t)B * T * 4),
                *lab = check_alloc((size_t)B * T * 4);
        pretrain_mask_batch(&pc.eval, seq, B, &pc.sp, c->mask_prob, c->seed, UINT64_MAX, ids,
                            attn, lab);
        struct model_batch mb = {.B = B, .T = T, .ids = ids, .mask = attn};
        CHECK_OK(model_forward(m, &mb, &err), &err);
        const float *lg = tensor_f32(model_logits(m));
        for (int64_t i = 0; i < (int64_t)B * T; i++) {
            if (lab[i] == PRETRAIN_IGNORE)
                continue;
            const float *x = lg + i * V;
            double mx = x[0], z = 0;
            for (int v = 1; v < V; v++)
                mx = x[v] > mx ? x[v] : mx;
            for (int v = 0; v < V; v++)
                z += exp((double)x[v] - mx);
            sum += mx + log(z) - (double)x[lab[i]];
            count++;
        }
        free(ids);
        free(attn);
        free(lab);
    }
    pretrain_corpus_free(&pc);
    return sum / (double)count;
}

Test(pretrain, learns_the_pattern_and_loads_back, .timeout = CHECK_HANG_TIMEOUT) {
    char out[600];
    out_dir(out, sizeof out, "pt_learn");
    const char *cfg = write_config("pt_learn.lua", out, 800, "");
    struct pretrain_result r;
    run_config(cfg, &r);
    cr_assert_eq(r.steps, 800);
    /* 6 first letters, each followed by its partner: a masked letter is predictable from a
     * neighbour; always answering the most frequent letter gets about 1/12 */
    cr_assert(r.unigram_accuracy < 0.2, "unigram %f", r.unigram_accuracy);
    cr_assert(r.eval_accuracy > r.unigram_accuracy + 0.25, "eval accuracy %f, unigram %f",
              r.eval_accuracy, r.unigram_accuracy);
    cr_assert(r.eval_loss < log(12.0) - 0.6, "eval loss %f", r.eval_loss);
    cr_assert(r.final_train_loss < 1.8, "train loss %f", r.final_train_loss);

    /* the folder is an HF BertForMaskedLM our loader reads completely */
    struct model m;
    struct model_load_info info;
    struct model_load_opts o = {.head = -1, .seed = 1};
    struct pf_err err = {0};
    CHECK_OK(model_load(&m, out, check_cpu(1), &o, &info, &err), &err);
    cr_assert_eq(m.cfg.head, HEAD_MLM);
    cr_assert_eq(m.cfg.hidden, 16);
    cr_assert_eq(m.cfg.layers, 1);
    cr_assert_eq(info.n_initialised, 0, "first missing: %s", info.first_initialised);
    cr_assert_eq(info.n_unused, 0, "first unused: %s", info.first_unused);
    cr_assert(info.prefixed);
    struct pretrain_config c;
    CHECK_OK(pretrain_config_load(cfg, &c, &err), &err);
    double ref = reference_eval_loss(&m, &c);
    cr_assert(fabs(ref - r.eval_loss) < 1e-4 * (1 + ref), "reference %f, run %f", ref,
              r.eval_loss);
    model_free(&m);

    struct st_file f;
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    CHECK_OK(st_open(&f, path, &err), &err);
    cr_assert_not_null(st_find(&f, "bert.embeddings.word_embeddings.weight"));
    cr_assert_not_null(st_find(&f, "cls.predictions.transform.dense.weight"));
    cr_assert_not_null(st_find(&f, "cls.predictions.bias"));
    st_close(&f);

    snprintf(path, sizeof path, "%s/pretrain_summary.json", out);
    char *sum = check_read_file(path, NULL);
    cr_assert(strstr(sum, "\"steps\":\t800"), "%s", sum);
    cr_assert(strstr(sum, "\"checkpoint\":\t\"last\""), "%s", sum);
    free(sum);
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    char *met = check_read_file(path, NULL);
    cr_assert(strstr(met, "{\"event\":\"eval\",\"step\":200,"), "%s", met);
    cr_assert(strstr(met, "{\"event\":\"train\",\"step\":800,"), "%s", met);
    free(met);

    const char *args[] = {"inspect", out, NULL};
    char so[8192], se[4096];
    cr_assert_eq(check_run_argv(args, so, sizeof so, se, sizeof se), 0, "%s", se);
}

/* The text of file `path` with the first `from` replaced by `to`, written to temp `name`. */
static const char *edited_copy(const char *path, const char *name, const char *from,
                               const char *to) {
    char *src = check_read_file(path, NULL);
    char *at = strstr(src, from);
    cr_assert(at, "no '%s' in %s", from, src);
    char text[8192];
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
    free(src);
    static char out[600];
    snprintf(out, sizeof out, "%s", check_write_temp(name, text));
    return out;
}

/* init_from: continued pretraining starts from a folder's weights (one step at a negligible
 * learning rate keeps the first run's held-out loss, where a fresh start is near the unigram
 * baseline); another shape is refused naming the field. */
Test(pretrain, init_from_continues_and_checks_the_shape, .timeout = CHECK_HANG_TIMEOUT) {
    char a[600], b[600], f[600];
    out_dir(a, sizeof a, "pt_init_a");
    out_dir(b, sizeof b, "pt_init_b");
    out_dir(f, sizeof f, "pt_init_f");
    struct pretrain_result ra, rb, rf;
    run_config(write_config("pt_init_a.lua", a, 400, ""), &ra);
    char extra[800];
    snprintf(extra, sizeof extra, "  init_from = \"%s\",\n", a);
    char cb[600], cf[600];
    snprintf(cb, sizeof cb, "%s", write_config("pt_init_b.lua", b, 1, extra));
    snprintf(cb, sizeof cb, "%s", edited_copy(cb, "pt_init_b.lua", "lr = 5e-3, warmup = 10",
                                              "lr = 1e-9, warmup = 0"));
    snprintf(cf, sizeof cf, "%s", edited_copy(cb, "pt_init_f.lua", extra, ""));
    snprintf(cf, sizeof cf, "%s", edited_copy(cf, "pt_init_f.lua", "pt_init_b\"", "pt_init_f\""));
    run_config(cb, &rb);
    run_config(cf, &rf);
    cr_assert(fabs(rb.eval_loss - ra.eval_loss) < 0.02, "continued %f, first run %f",
              rb.eval_loss, ra.eval_loss);
    cr_assert(rb.eval_accuracy > rf.eval_accuracy + 0.2, "continued %f, fresh %f",
              rb.eval_accuracy, rf.eval_accuracy);
    /* another hidden size: refused, naming init_from and the field */
    struct pretrain_config pc;
    struct pf_err err = {0};
    CHECK_OK(pretrain_config_load(edited_copy(cb, "pt_init_x.lua", "hidden = 16", "hidden = 32"),
                                  &pc, &err), &err);
    struct pretrain_result rx;
    pf_status st = pretrain_run(&pc, check_cpu(1), 1, &rx, &err);
    cr_assert_neq(st, PF_OK);
    cr_assert(strstr(err.msg, "init_from") && strstr(err.msg, "hidden_size"), "%s", err.msg);
}

Test(pretrain, two_runs_are_byte_identical, .timeout = CHECK_HANG_TIMEOUT) {
    char a[600], b[600], pa[700], pb[700];
    out_dir(a, sizeof a, "pt_det_a");
    out_dir(b, sizeof b, "pt_det_b");
    struct pretrain_result r;
    run_config(write_config("pt_det_a.lua", a, 30, ""), &r);
    run_config(write_config("pt_det_b.lua", b, 30, ""), &r);
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    size_t na, nb;
    char *x = check_read_file(pa, &na), *y = check_read_file(pb, &nb);
    cr_assert_eq(na, nb);
    cr_assert(memcmp(x, y, na) == 0, "model.safetensors differs between two runs");
    free(x);
    free(y);
    /* another seed gives other weights */
    out_dir(b, sizeof b, "pt_det_c");
    run_config(write_config("pt_det_c.lua", b, 30, "  seed = 4,\n"), &r);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    x = check_read_file(pa, &na);
    y = check_read_file(pb, &nb);
    cr_assert(na != nb || memcmp(x, y, na) != 0);
    free(x);
    free(y);
}

Test(pretrain, masking_rule) {
    enum { T = 64, N = 200 };
    struct pretrain_special sp = {.pad = 0, .unk = 1, .cls = 2, .sep = 3, .mask = 4,
                                  .vocab = 50};
    int32_t *rows = check_alloc((size_t)N * T * 4);
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            rows[n * T + t] = t == 0 ? 2 : t == 40 ? 3 : t > 40 ? 0 : 5 + (n + t) % 45;
    struct pretrain_seqs s = {.n = N, .T = T, .ids = rows};
    int64_t seq[N];
    for (int i = 0; i < N; i++)
        seq[i] = i;
    int32_t *ids = check_alloc(sizeof rows[0] * N * T), *attn = check_alloc(4 * N * T),
            *lab = check_alloc(4 * N * T), *ids2 = check_alloc(4 * N * T);
    int64_t k = pretrain_mask_batch(&s, seq, N, &sp, 0.15, 9, 5, ids, attn, lab);
    int64_t cand = (int64_t)N * 39, masked = 0, kept = 0, random = 0, chosen = 0;
    for (int i = 0; i < N * T; i++) {
        int32_t orig = rows[i];
        cr_assert_eq(attn[i], orig != 0);
        if (orig < 5) { /* specials and padding are never chosen nor changed */
            cr_assert_eq(lab[i], PRETRAIN_IGNORE);
            cr_assert_eq(ids[i], orig);
            continue;
        }
        if (lab[i] == PRETRAIN_IGNORE) {
            cr_assert_eq(ids[i], orig);
            continue;
        }
        chosen++;
        cr_assert_eq(lab[i], orig);
        masked += ids[i] == 4;
        kept += ids[i] == orig;
        random += ids[i] != 4 && ids[i] != orig;
    }
    cr_assert_eq(chosen, k);
    double f = (double)chosen / (double)cand;
    cr_assert(f > 0.13 && f < 0.17, "chosen share %f", f);
    cr_assert(fabs((double)masked / chosen - 0.8) < 0.04, "mask share %f", (double)masked / chosen);
    cr_assert(fabs((double)(kept + random) / chosen - 0.2) < 0.04);
    /* the same (seed, step) gives the same batch; another step another one */
    pretrain_mask_batch(&s, seq, N, &sp, 0.15, 9, 5, ids2, attn, lab);
    cr_assert(memcmp(ids, ids2, 4 * N * T) == 0);
    pretrain_mask_batch(&s, seq, N, &sp, 0.15, 9, 6, ids2, attn, lab);
    cr_assert(memcmp(ids, ids2, 4 * N * T) != 0);
    /* a batch with nothing chosen still has one target */
    int64_t one = pretrain_mask_batch(&s, seq, 1, &sp, 1e-9, 9, 5, ids2, attn, lab);
    cr_assert_eq(one, 1);
    cr_assert_eq(lab[1], rows[1]);
    free(rows);
    free(ids);
    free(ids2);
    free(attn);
    free(lab);
}

Test(pretrain, packing) {
    struct pretrain_special sp = {.pad = 0, .unk = 1, .cls = 2, .sep = 3, .mask = 4, .vocab = 99};
    /* lines of 3, 4, 12 (longer than T - 2 = 8) and 2 tokens */
    int32_t toks[21];
    for (int i = 0; i < 21; i++)
        toks[i] = 10 + i;
    int64_t off[5] = {0, 3, 7, 19, 21}, idx[4] = {0, 1, 2, 3}, trunc = 0;
    struct pretrain_seqs s;
    pretrain_pack(&s, 10, &sp, toks, off, idx, 4, &trunc);
    cr_assert_eq(s.n, 4);
    cr_assert_eq(trunc, 1);
    const int32_t want[4][10] = {
        {2, 10, 11, 12, 3, 13, 14, 15, 16, 3},  /* two lines fit exactly */
        {2, 17, 18, 19, 20, 21, 22, 23, 24, 3}, /* the long line: 8 + 4, rows of its own */
        {2, 25, 26, 27, 28, 3, 0, 0, 0, 0},
        {2, 29, 30, 3, 0, 0, 0, 0, 0, 0}};
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < 10; t++)
            cr_assert_eq(s.ids[r * 10 + t], want[r][t], "row %d col %d: %d", r, t,
                         s.ids[r * 10 + t]);
    free(s.ids);
    int64_t p[50], q[50];
    pretrain_permutation(p, 50, 1, 0);
    pretrain_permutation(q, 50, 1, 1);
    int seen[50] = {0}, same = 0;
    for (int i = 0; i < 50; i++) {
        seen[p[i]]++;
        same += p[i] == q[i];
    }
    for (int i = 0; i < 50; i++)
        cr_assert_eq(seen[i], 1);
    cr_assert(same < 10);
}

Test(pretrain, bad_configs_name_the_field) {
    static const struct {
        const char *lua, *want;
    } cases[] = {
        {"return { tokenizer = 't', corpus = 'c', out = 'o', stepz = 3 }", "stepz: unknown key"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', steps = 0 }", "steps: expected"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', lr = 'x' }", "lr: expected"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', model = { hidden = 10, heads = 3 } }",
         "model.heads: 3 does not divide"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', model = { layer = 1 } }",
         "model.layer: unknown key"},
        {"return { tokenizer = 't', corpus = { 1 }, out = 'o' }", "corpus[1]: expected"},
        {"return { corpus = 'c', out = 'o' }", "tokenizer: missing"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', max_len = 600 }",
         "max_len: 600 exceeds model.max_positions"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', schedule = 'cos' }", "schedule:"},
        {"return { tokenizer = 't', corpus = 'c', out = 'o', mask_prob = 1.5 }", "mask_prob:"},
        {"return 3", "expected a table"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = check_write_temp("pt_bad.lua", cases[i].lua);
        struct pretrain_config c;
        struct pf_err err = {0};
        cr_assert_eq(pretrain_config_load(p, &c, &err), PF_ERR_SCRIPT, "case %zu", i);
        cr_assert(strstr(err.msg, cases[i].want), "case %zu: %s", i, err.msg);
        cr_assert(strstr(err.msg, "pt_bad.lua"), "case %zu: %s", i, err.msg);
    }
    /* defaults resolve */
    const char *p = check_write_temp("pt_ok.lua", "return { tokenizer = 't', corpus = 'c', "
                                                  "out = 'o', steps = 200 }");
    struct pretrain_config c;
    struct pf_err err = {0};
    CHECK_OK(pretrain_config_load(p, &c, &err), &err);
    cr_assert_eq(c.warmup, 20);
    cr_assert_eq(c.n_corpus, 1);
    cr_assert(fabs(c.mask_prob - 0.15) < 1e-12);
}

Test(pretrain, cli, .timeout = CHECK_HANG_TIMEOUT) {
    char out[600];
    out_dir(out, sizeof out, "pt_cli");
    const char *cfg = write_config("pt_cli.lua", out, 20, "");
    const char *args[] = {"pretrain", cfg, "--quiet", NULL};
    char so[4096], se[4096];
    int rc = check_run_argv(args, so, sizeof so, se, sizeof se);
    cr_assert_eq(rc, 0, "stderr: %s", se);
    cr_assert(strstr(so, "\"steps\": 20") && strstr(so, "\"eval_accuracy\": "), "%s", so);

    const char *none[] = {"pretrain", NULL};
    cr_assert_eq(check_run_argv(none, so, sizeof so, se, sizeof se), 2);
    cr_assert(strstr(se, "bipeft: pretrain: missing CONFIG.lua"), "%s", se);

    const char *bad = check_write_temp("pt_cli_bad.lua", "return { tokenizer = 't', corpus = "
                                                         "'c', out = 'o', batch_size = -1 }");
    const char *a2[] = {"pretrain", bad, NULL};
    cr_assert_eq(check_run_argv(a2, so, sizeof so, se, sizeof se), 2);
    cr_assert(strstr(se, "bipeft: pretrain: ") && strstr(se, "batch_size: expected"), "%s", se);

    /* a corpus file that does not exist: exit 2, named */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no_such_corpus.txt", check_temp_dir());
    char text[2048];
    snprintf(text, sizeof text, "return { tokenizer = \"%s\", corpus = \"%s\", out = \"%s/x\", "
             "model = { hidden = 8, heads = 2, intermediate = 8, max_positions = 16 }, "
             "max_len = 16 }", tokenizer_dir(), missing, check_temp_dir());
    const char *a3[] = {"pretrain", check_write_temp("pt_cli_nocorpus.lua", text), NULL};
    rc = check_run_argv(a3, so, sizeof so, se, sizeof se);
    cr_assert_eq(rc, 2, "rc %d", rc);
    cr_assert(strstr(se, "no_such_corpus.txt"), "%s", se);
}
