/* test_loss.c - cross-entropy (ignored rows, all rows ignored, in-place backward, logits of
 * +-80) and MSE forward against fp64 references and backward against central finite
 * differences; thread-count independence of the reductions; argument errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/rng.h"

enum { IGNORE = -100 };

/* ---- fp64 reference cross-entropy ---- */

struct ce_case {
    int N, V;
    int ignore_every; /* rows i with i % ignore_every == 1 are ignored; 0: none, 1: all */
    float range;      /* logits uniform in [-range, range) */
    int in_place;     /* backward writes dlogits over logits */
};

struct ce_ctx {
    const struct ce_case *c;
    const int32_t *targets;
    double *logits, *lse, dloss;
};

/* Mean over non-ignored rows of lse - logit[target]; fills lse. Returns dloss * loss. */
static double ce_ref(struct ce_ctx *x, double *loss_out) {
    const struct ce_case *c = x->c;
    double sum = 0.0;
    int n = 0;
    for (int i = 0; i < c->N; i++) {
        const double *r = x->logits + (size_t)i * c->V;
        double mx = r[0];
        for (int j = 1; j < c->V; j++)
            mx = r[j] > mx ? r[j] : mx;
        double s = 0.0;
        for (int j = 0; j < c->V; j++)
            s += exp(r[j] - mx);
        x->lse[i] = mx + log(s);
        if (x->targets[i] == IGNORE)
            continue;
        sum += x->lse[i] - r[x->targets[i]];
        n++;
    }
    double loss = n ? sum / n : 0.0;
    if (loss_out)
        *loss_out = loss;
    return x->dloss * loss;
}

static double ce_loss(void *ctx) {
    return ce_ref(ctx, NULL);
}

static void fill_targets(int32_t *t, const struct ce_case *c, uint64_t seed) {
    for (int i = 0; i < c->N; i++) {
        int k = (int)(rng_uniform_at(seed, (uint64_t)i) * (float)c->V);
        t[i] = k < c->V ? k : c->V - 1;
        if (c->ignore_every == 1 || (c->ignore_every > 1 && i % c->ignore_every == 1))
            t[i] = IGNORE;
    }
}

static struct ce_case ce_cases[] = {
    {21, 13, 4, 3.0f, 0},  /* odd shapes, some rows ignored */
    {21, 13, 4, 3.0f, 1},  /* the same, backward in place */
    {16, 37, 0, 80.0f, 1}, /* logits of +-80: no overflow, sharp softmax */
    {7, 5, 1, 2.0f, 0},    /* every row ignored: loss 0, gradient 0 */
    {3, 1, 0, 1.0f, 0},    /* one class: loss 0 */
    {3, 600, 2, 4.0f, 1},  /* rows longer than the kernel's 256-wide exp block */
};

ParameterizedTestParameters(loss, crossentropy) {
    return cr_make_param_array(struct ce_case, ce_cases, sizeof ce_cases / sizeof ce_cases[0]);
}

ParameterizedTest(struct ce_case *c, loss, crossentropy) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    size_t nl = (size_t)c->N * c->V;
    float *logits = malloc(nl * 4), *lse = malloc((size_t)c->N * 4), *dl = malloc(nl * 4);
    int32_t *targets = malloc((size_t)c->N * sizeof *targets);
    double *logitsd = malloc(nl * 8), *lsed = malloc((size_t)c->N * 8), *ng = malloc(nl * 8);
    check_fill(logits, nl, 41, -c->range, c->range);
    fill_targets(targets, c, 42);
    check_to_double(logitsd, logits, nl);

    int64_t sl[3] = {1, c->N, c->V}, sn[2] = {1, c->N};
    struct tensor tl = check_tensor(be, logits, TENSOR_F32, "logits", 3, sl);
    struct tensor tlse = check_tensor(be, lse, TENSOR_F32, "lse", 2, sn);
    struct tensor tt = check_tensor(be, targets, TENSOR_I32, "targets", 2, sn);
    struct tensor tdl = check_tensor(be, c->in_place ? logits : dl, TENSOR_F32, "dlogits", 3, sl);

    float loss = NAN;
    CHECK_OK(op_crossentropy_forward(be, &loss, &tlse, &tl, &tt, IGNORE, &err), &err);
    struct ce_ctx x = {c, targets, logitsd, lsed, 0.7};
    double lossd;
    ce_ref(&x, &lossd);
    CHECK_CLOSE("crossentropy loss", &loss, &lossd, 1, 1e-5, 1e-6);
    CHECK_CLOSE("crossentropy lse", lse, lsed, (size_t)c->N, 1e-6, 1e-6);

    memset(dl, 0xff, nl * 4); /* NaN: every element must be written */
    CHECK_OK(op_crossentropy_backward(be, &tdl, &tl, &tlse, &tt, IGNORE, 0.7f, &err), &err);
    const float *grad = c->in_place ? logits : dl;
    check_numgrad(ng, logitsd, nl, ce_loss, &x, 1e-6);
    CHECK_CLOSE("crossentropy dlogits", grad, ng, nl, 1e-4, 1e-6);
    for (int i = 0; i < c->N; i++)
        for (int j = 0; targets[i] == IGNORE && j < c->V; j++)
            cr_assert_eq(grad[(size_t)i * c->V + j], 0.0f, "ignored row %d must be 0", i);
    if (c->ignore_every == 1)
        cr_assert_eq(loss, 0.0f, "all rows ignored: loss %g", (double)loss);

    free(logits); free(lse); free(dl); free(targets); free(logitsd); free(lsed); free(ng);
}

/* ---- MSE ---- */

struct mse_ctx {
    size_t n;
    double *pred, *target, dloss;
};

static double mse_ref(struct mse_ctx *x) {
    double s = 0.0;
    for (size_t i = 0; i < x->n; i++)
        s += (x->pred[i] - x->target[i]) * (x->pred[i] - x->target[i]);
    return s / (double)x->n;
}

static double mse_loss(void *ctx) {
    struct mse_ctx *x = ctx;
    return x->dloss * mse_ref(x);
}

static size_t mse_sizes[] = {1, 37, 1000, 70001};

ParameterizedTestParameters(loss, mse) {
    return cr_make_param_array(size_t, mse_sizes, sizeof mse_sizes / sizeof mse_sizes[0]);
}

ParameterizedTest(size_t *np, loss, mse) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    size_t n = *np;
    float *pred = malloc(n * 4), *target = malloc(n * 4), *dpred = malloc(n * 4);
    double *pd = malloc(n * 8), *td = malloc(n * 8), *want = malloc(n * 8);
    check_fill(pred, n, 51, -2, 2);
    check_fill(target, n, 52, -1, 1);
    check_to_double(pd, pred, n);
    check_to_double(td, target, n);
    int64_t s[1] = {(int64_t)n};
    struct tensor tp = check_tensor(be, pred, TENSOR_F32, "pred", 1, s);
    struct tensor tt = check_tensor(be, target, TENSOR_F32, "target", 1, s);
    struct tensor tdp = check_tensor(be, dpred, TENSOR_F32, "dpred", 1, s);

    float loss = NAN;
    CHECK_OK(op_mse_forward(be, &loss, &tp, &tt, &err), &err);
    struct mse_ctx x = {n, pd, td, 1.3};
    double lossd = mse_ref(&x);
    CHECK_CLOSE("mse loss", &loss, &lossd, 1, 1e-6, 0);

    memset(dpred, 0xff, n * 4);
    CHECK_OK(op_mse_backward(be, &tdp, &tp, &tt, 1.3f, &err), &err);
    if (n <= 1000) {
        check_numgrad(want, pd, n, mse_loss, &x, 1e-6);
    } else { /* finite differences would be O(n^2): use the fp64 closed form */
        for (size_t i = 0; i < n; i++)
            want[i] = 2.0 * 1.3 * (pd[i] - td[i]) / (double)n;
    }
    CHECK_CLOSE("mse dpred", dpred, want, n, 1e-5, 1e-9);

    free(pred); free(target); free(dpred); free(pd); free(td); free(want);
}

/* The reductions must give the same bits with 1 and 2 threads. */
Test(loss, bitwise_across_threads) {
    enum { N = 64, V = 1031 };
    size_t n = (size_t)N * V;
    float *logits = malloc(n * 4), *target = malloc(n * 4), lse[2][N], ce[2], mse[2];
    int32_t targets[N];
    check_fill(logits, n, 61, -5, 5);
    check_fill(target, n, 62, -5, 5);
    for (int i = 0; i < N; i++)
        targets[i] = (i * 37) % V;
    int64_t sl[2] = {N, V}, sn[1] = {N};
    for (int k = 0; k < 2; k++) {
        struct backend *be = check_cpu(k + 1);
        struct pf_err err = {0};
        struct tensor tl = check_tensor(be, logits, TENSOR_F32, "logits", 2, sl);
        struct tensor tg = check_tensor(be, target, TENSOR_F32, "target", 2, sl);
        struct tensor tlse = check_tensor(be, lse[k], TENSOR_F32, "lse", 1, sn);
        struct tensor tt = check_tensor(be, targets, TENSOR_I32, "targets", 1, sn);
        CHECK_OK(op_crossentropy_forward(be, &ce[k], &tlse, &tl, &tt, IGNORE, &err), &err);
        CHECK_OK(op_mse_forward(be, &mse[k], &tl, &tg, &err), &err);
    }
    cr_assert(memcmp(&ce[0], &ce[1], sizeof ce[0]) == 0, "ce %.9g vs %.9g", (double)ce[0],
              (double)ce[1]);
    cr_assert(memcmp(lse[0], lse[1], sizeof lse[0]) == 0, "lse differs");
    cr_assert(memcmp(&mse[0], &mse[1], sizeof mse[0]) == 0, "mse %.9g vs %.9g", (double)mse[0],
              (double)mse[1]);
    free(logits); free(target);
}

Test(loss, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float logits[5 * 13] = {0}, lse[5], loss = 0.0f;
    int32_t targets[5] = {0, 12, IGNORE, 13, 2};
    int64_t sl[2] = {5, 13}, sn[1] = {5}, s4[1] = {4};
    struct tensor tl = check_tensor(be, logits, TENSOR_F32, "logits", 2, sl);
    struct tensor tlse = check_tensor(be, lse, TENSOR_F32, "lse", 1, sn);
    struct tensor tt = check_tensor(be, targets, TENSOR_I32, "targets", 1, sn);
    pf_status st = op_crossentropy_forward(be, &loss, &tlse, &tl, &tt, IGNORE, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "crossentropy_forward: targets[3] = 13 is out of range for "
                     "logits[5,13] (V=13, ignore_index=-100)");

    targets[3] = 3;
    struct tensor tlse4 = check_tensor(be, lse, TENSOR_F32, "lse", 1, s4);
    st = op_crossentropy_forward(be, &loss, &tlse4, &tl, &tt, IGNORE, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "crossentropy_forward: lse[4] has 4 elements, expected 5") &&
              strstr(err.msg, "logits[5,13]"), "message: %s", err.msg);

    st = op_crossentropy_forward(be, NULL, &tlse, &tl, &tt, IGNORE, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "crossentropy_forward: loss is NULL");

    st = op_crossentropy_backward(be, &tl, &tl, &tlse, &tt, IGNORE, NAN, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "crossentropy_backward: dloss = nan is not finite"),
              "message: %s", err.msg);

    struct tensor tp = check_tensor(be, logits, TENSOR_F32, "pred", 2, sl);
    st = op_mse_forward(be, &loss, &tp, &tlse, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "mse_forward: target lse[5] has 5 elements, expected 65") &&
              strstr(err.msg, "pred[5,13]"), "message: %s", err.msg);
}
