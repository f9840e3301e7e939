/* test_layernorm.c - LayerNorm forward/backward (with and without affine, rows far from zero,
 * the threaded path) against an fp64 reference and central finite differences; dw/db
 * accumulate, dinp is overwritten, results do not depend on the thread count; argument
 * errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define LN_EPS 1e-5f

/* ---- fp64 reference: out = (x - mean) / sqrt(var + eps) * w + b, biased var ---- */

struct ln_case {
    int B, T, C;
    int has_w, has_b;
    float center; /* inputs drawn from [center - 1, center + 1) */
    float first;  /* added to the first element of every row (the shift of the stats) */
};

struct ln_ctx {
    int N, C;
    double *x, *w, *b, *g; /* w, b NULL when absent */
    double *out, *mean, *rstd;
};

static void ln_ref(struct ln_ctx *k) {
    for (int i = 0; i < k->N; i++) {
        const double *x = k->x + (size_t)i * k->C;
        double m = 0.0, v = 0.0;
        for (int j = 0; j < k->C; j++)
            m += x[j];
        m /= k->C;
        for (int j = 0; j < k->C; j++)
            v += (x[j] - m) * (x[j] - m);
        v /= k->C;
        double r = 1.0 / sqrt(v + (double)LN_EPS);
        for (int j = 0; j < k->C; j++) {
            double y = (x[j] - m) * r;
            if (k->w)
                y *= k->w[j];
            if (k->b)
                y += k->b[j];
            k->out[(size_t)i * k->C + j] = y;
        }
        k->mean[i] = m;
        k->rstd[i] = r;
    }
}

static double ln_loss(void *ctx) {
    struct ln_ctx *k = ctx;
    ln_ref(k);
    return check_dot(k->g, k->out, (size_t)k->N * k->C);
}

/* ---- buffers of one case ---- */

struct ln_bufs {
    int N, C;
    float *x, *w, *b, *g, *out, *mean, *rstd, *dinp, *dw, *db;
    double *xd, *wd, *bd, *gd, *outd, *meand, *rstdd, *ndx, *ndw, *ndb;
};

static void ln_bufs_init(struct ln_bufs *s, int N, int C, float center, float first) {
    size_t n = (size_t)N * C;
    s->N = N;
    s->C = C;
    s->x = check_alloc(n * 4);
    s->g = check_alloc(n * 4);
    s->out = check_alloc(n * 4);
    s->dinp = check_alloc(n * 4);
    s->w = check_alloc((size_t)C * 4); s->b = check_alloc((size_t)C * 4);
    s->dw = check_alloc((size_t)C * 4); s->db = check_alloc((size_t)C * 4);
    s->mean = check_alloc((size_t)N * 4); s->rstd = check_alloc((size_t)N * 4);
    s->xd = check_alloc(n * 8);
    s->gd = check_alloc(n * 8);
    s->outd = check_alloc(n * 8);
    s->ndx = check_alloc(n * 8);
    s->wd = check_alloc((size_t)C * 8); s->bd = check_alloc((size_t)C * 8);
    s->ndw = check_alloc((size_t)C * 8); s->ndb = check_alloc((size_t)C * 8);
    s->meand = check_alloc((size_t)N * 8); s->rstdd = check_alloc((size_t)N * 8);
    check_fill(s->x, n, 11, center - 1.0f, center + 1.0f);
    for (int i = 0; i < N; i++)
        s->x[(size_t)i * C] += first;
    check_fill(s->w, C, 12, 0.5f, 1.5f);
    check_fill(s->b, C, 13, -1.0f, 1.0f);
    check_fill(s->g, n, 14, -1.0f, 1.0f);
    check_to_double(s->xd, s->x, n);
    check_to_double(s->wd, s->w, C);
    check_to_double(s->bd, s->b, C);
    check_to_double(s->gd, s->g, n);
}

static void ln_bufs_free(struct ln_bufs *s) {
    void *ps[] = {s->x, s->w, s->b, s->g, s->out, s->mean, s->rstd, s->dinp, s->dw, s->db,
                  s->xd, s->wd, s->bd, s->gd, s->outd, s->meand, s->rstdd, s->ndx, s->ndw,
                  s->ndb};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        free(ps[i]);
}

/* Run forward and backward through the public API on be. dw/db start at 0.5 and the 0.5 is
 * subtracted afterwards (they must accumulate); dinp starts as NaN (it must be written). */
static void ln_run(struct backend *be, struct ln_bufs *s, int B, int T, int has_w, int has_b) {
    struct pf_err err = {0};
    int64_t sx[3] = {B, T, s->C}, sc[1] = {s->C}, sn[2] = {B, T};
    struct tensor tx = check_tensor(be, s->x, TENSOR_F32, "inp", 3, sx);
    struct tensor to = check_tensor(be, s->out, TENSOR_F32, "out", 3, sx);
    struct tensor tg = check_tensor(be, s->g, TENSOR_F32, "dout", 3, sx);
    struct tensor tdx = check_tensor(be, s->dinp, TENSOR_F32, "dinp", 3, sx);
    struct tensor tw = check_tensor(be, s->w, TENSOR_F32, "w", 1, sc);
    struct tensor tb = check_tensor(be, s->b, TENSOR_F32, "b", 1, sc);
    struct tensor tdw = check_tensor(be, s->dw, TENSOR_F32, "dw", 1, sc);
    struct tensor tdb = check_tensor(be, s->db, TENSOR_F32, "db", 1, sc);
    struct tensor tm = check_tensor(be, s->mean, TENSOR_F32, "mean", 2, sn);
    struct tensor tr = check_tensor(be, s->rstd, TENSOR_F32, "rstd", 2, sn);

    CHECK_OK(op_layernorm_forward(be, &to, &tm, &tr, &tx, has_w ? &tw : NULL,
                                  has_b ? &tb : NULL, LN_EPS, &err), &err);
    for (int j = 0; j < s->C; j++)
        s->dw[j] = s->db[j] = 0.5f;
    memset(s->dinp, 0xff, (size_t)s->N * s->C * 4);
    CHECK_OK(op_layernorm_backward(be, &tdx, has_w ? &tdw : NULL, has_b ? &tdb : NULL, &tg,
                                   &tx, has_w ? &tw : NULL, &tm, &tr, &err), &err);
    for (int j = 0; j < s->C; j++) {
        s->dw[j] -= 0.5f;
        s->db[j] -= 0.5f;
    }
}

static struct ln_case cases[] = {
    {3, 7, 12, 1, 1, 0.0f, 0.0f},      /* N=21, affine */
    {3, 7, 12, 0, 0, 0.0f, 0.0f},      /* no affine */
    {3, 7, 12, 1, 1, 100.0f, 0.0f},    /* rows around 100 +- 1: the statistics must not cancel */
    {3, 7, 12, 1, 1, 100.0f, 1000.0f}, /* ... and the first element (the shift) an outlier */
    {1, 5, 33, 1, 0, 0.0f, 0.0f},      /* weight only; C crosses a 32-column chunk */
    {2, 3, 1, 1, 1, 0.0f, 0.0f},       /* C=1: var 0, out = b, zero input gradient */
    {5, 1, 70, 0, 1, -3.0f, 0.0f},     /* bias only, three column chunks */
};

ParameterizedTestParameters(layernorm, grad) {
    return cr_make_param_array(struct ln_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct ln_case *c, layernorm, grad) {
    struct backend *be = check_cpu(2);
    int N = c->B * c->T, C = c->C;
    size_t n = (size_t)N * C;
    struct ln_bufs s;
    ln_bufs_init(&s, N, C, c->center, c->first);
    ln_run(be, &s, c->B, c->T, c->has_w, c->has_b);

    struct ln_ctx k = {N, C, s.xd, c->has_w ? s.wd : NULL, c->has_b ? s.bd : NULL, s.gd,
                       s.outd, s.meand, s.rstdd};
    ln_ref(&k);
    CHECK_CLOSE("layernorm out", s.out, s.outd, n, 2e-6, 1e-6);
    CHECK_CLOSE("layernorm mean", s.mean, s.meand, N, 1e-7, 1e-7);
    CHECK_CLOSE("layernorm rstd", s.rstd, s.rstdd, N, 1e-6, 0.0);

    /* Gradient errors measured ~2e-7 relative. The cached mean is a float, though: rows at
     * 100 +- 1 carry its rounding (ulp(100)/2 = 3.8e-6, times rstd ~ 2) into xhat, measured
     * 7e-6 in dinp and 2.5e-5 in dw (a sum over 21 rows), hence a looser atol there. dinp
     * is made of terms of size rstd * |dout * w|, so its atol scales with rstd (C = 1 has
     * rstd = 1/sqrt(eps) = 316: one ulp of dout * w becomes 3e-6 when the build contracts
     * to FMA). */
    double atol = fabsf(c->center) < 10.0f ? 2e-6 : 1e-4;
    double atol_dinp = fmax(atol, 1e-6 * check_maxabs(s.rstdd, N));
    check_numgrad(s.ndx, s.xd, n, ln_loss, &k, 1e-6);
    CHECK_CLOSE("layernorm dinp", s.dinp, s.ndx, n, 2e-5, atol_dinp);
    if (c->has_w) {
        check_numgrad(s.ndw, s.wd, C, ln_loss, &k, 1e-6);
        CHECK_CLOSE("layernorm dw", s.dw, s.ndw, C, 2e-5, atol);
    } else {
        for (int j = 0; j < C; j++) /* untouched */
            cr_assert_eq(s.dw[j], 0.0f);
    }
    if (c->has_b) {
        check_numgrad(s.ndb, s.bd, C, ln_loss, &k, 1e-6);
        CHECK_CLOSE("layernorm db", s.db, s.ndb, C, 2e-5, 2e-6);
    }
    ln_bufs_free(&s);
}

/* A case big enough for the threaded path (16640 elements): forward in full, gradients on a
 * subset (two rows of dinp, 40 columns of dw and db, across a chunk boundary). */
Test(layernorm, threaded_path) {
    struct backend *be = check_cpu(2);
    int B = 5, T = 13, C = 256, N = B * T;
    size_t n = (size_t)N * C;
    struct ln_bufs s;
    ln_bufs_init(&s, N, C, 0.5f, 0.0f);
    ln_run(be, &s, B, T, 1, 1);
    struct ln_ctx k = {N, C, s.xd, s.wd, s.bd, s.gd, s.outd, s.meand, s.rstdd};
    ln_ref(&k);
    CHECK_CLOSE("layernorm out", s.out, s.outd, n, 2e-6, 1e-6);
    CHECK_CLOSE("layernorm rstd", s.rstd, s.rstdd, N, 1e-6, 0.0);
    size_t r1 = (size_t)(N - 1) * C;
    check_numgrad(s.ndx, s.xd, C, ln_loss, &k, 1e-6);
    check_numgrad(s.ndx + r1, s.xd + r1, C, ln_loss, &k, 1e-6);
    CHECK_CLOSE("layernorm dinp row 0", s.dinp, s.ndx, C, 2e-5, 2e-6);
    CHECK_CLOSE("layernorm dinp last row", s.dinp + r1, s.ndx + r1, C, 2e-5, 2e-6);
    check_numgrad(s.ndw + 20, s.wd + 20, 40, ln_loss, &k, 1e-6);
    check_numgrad(s.ndb + 20, s.bd + 20, 40, ln_loss, &k, 1e-6);
    CHECK_CLOSE("layernorm dw", s.dw + 20, s.ndw + 20, 40, 2e-5, 2e-6);
    CHECK_CLOSE("layernorm db", s.db + 20, s.ndb + 20, 40, 2e-5, 2e-6);
    ln_bufs_free(&s);
}

/* Same inputs with 1 and 2 threads give bitwise identical results (rows split by thread,
 * dw/db reduced by columns in row order). */
Test(layernorm, thread_count_independent) {
    int B = 4, T = 33, C = 200, N = B * T; /* 26400 elements: threaded */
    size_t n = (size_t)N * C;
    struct ln_bufs s1, s2;
    ln_bufs_init(&s1, N, C, 2.0f, 0.0f);
    ln_bufs_init(&s2, N, C, 2.0f, 0.0f);
    ln_run(check_cpu(1), &s1, B, T, 1, 1);
    ln_run(check_cpu(2), &s2, B, T, 1, 1);
    cr_assert(memcmp(s1.out, s2.out, n * 4) == 0, "out differs between 1 and 2 threads");
    cr_assert(memcmp(s1.mean, s2.mean, (size_t)N * 4) == 0);
    cr_assert(memcmp(s1.rstd, s2.rstd, (size_t)N * 4) == 0);
    cr_assert(memcmp(s1.dinp, s2.dinp, n * 4) == 0, "dinp differs between 1 and 2 threads");
    cr_assert(memcmp(s1.dw, s2.dw, (size_t)C * 4) == 0, "dw differs between 1 and 2 threads");
    cr_assert(memcmp(s1.db, s2.db, (size_t)C * 4) == 0, "db differs between 1 and 2 threads");
    ln_bufs_free(&s1);
    ln_bufs_free(&s2);
}

/* Frozen weights: NULL dw/db and NULL dinp do no work and leave nothing behind. */
Test(layernorm, null_gradients_skip_work) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float x[6] = {1, 2, 4, -1, 0, 3}, w[3] = {1, 2, 3}, out[6], mean[2], rstd[2];
    float g[6] = {1, -1, 0.5f, 2, 0, 1}, dx[6], dw[3] = {7, 7, 7};
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 2, s23);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 2, s23);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, s23);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 2, s23);
    struct tensor tw = check_tensor(be, w, TENSOR_F32, "w", 1, s3);
    struct tensor tdw = check_tensor(be, dw, TENSOR_F32, "dw", 1, s3);
    struct tensor tm = check_tensor(be, mean, TENSOR_F32, "mean", 1, s2);
    struct tensor tr = check_tensor(be, rstd, TENSOR_F32, "rstd", 1, s2);
    CHECK_OK(op_layernorm_forward(be, &to, &tm, &tr, &tx, &tw, NULL, LN_EPS, &err), &err);
    cr_assert_float_eq(mean[0], 7.0f / 3.0f, 1e-6);
    memset(dx, 0xff, sizeof dx);
    CHECK_OK(op_layernorm_backward(be, &tdx, NULL, NULL, &tg, &tx, &tw, &tm, &tr, &err), &err);
    for (int j = 0; j < 3; j++)
        cr_assert_eq(dw[j], 7.0f);
    for (int i = 0; i < 6; i++)
        cr_assert(!isnan(dx[i]));
    /* only dw wanted: dinp NULL */
    CHECK_OK(op_layernorm_backward(be, NULL, &tdw, NULL, &tg, &tx, &tw, &tm, &tr, &err), &err);
    cr_assert(dw[0] != 7.0f);
}

Test(layernorm, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[512] = {0};
    int64_t sx[3] = {3, 7, 12}, s8[1] = {8}, s12[1] = {12}, s21[1] = {21}, s20[1] = {20};
    int64_t sbad[3] = {3, 7, 11};
    struct tensor x = check_tensor(be, buf, TENSOR_F32, "inp", 3, sx);
    struct tensor out = check_tensor(be, buf, TENSOR_F32, "out", 3, sx);
    struct tensor w8 = check_tensor(be, buf, TENSOR_F32, "w", 1, s8);
    struct tensor w = check_tensor(be, buf, TENSOR_F32, "w", 1, s12);
    struct tensor mean = check_tensor(be, buf, TENSOR_F32, "mean", 1, s21);
    struct tensor rstd = check_tensor(be, buf, TENSOR_F32, "rstd", 1, s21);
    struct tensor m20 = check_tensor(be, buf, TENSOR_F32, "mean", 1, s20);
    struct tensor obad = check_tensor(be, buf, TENSOR_F32, "out", 3, sbad);

    pf_status st = op_layernorm_forward(be, &out, &mean, &rstd, &x, &w8, NULL, LN_EPS, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    /* the exact example documented at the top of core/ops.h */
    cr_assert_str_eq(err.msg, "layernorm_forward: w[8] has 8 elements, expected 12 to match "
                     "inp[3,7,12]");

    st = op_layernorm_forward(be, &out, &m20, &rstd, &x, &w, NULL, LN_EPS, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "mean[20]") && strstr(err.msg, "expected 21"), "message: %s",
              err.msg);

    st = op_layernorm_forward(be, &obad, &mean, &rstd, &x, &w, NULL, LN_EPS, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "out[3,7,11] must be 21 rows x 12 cols"), "message: %s", err.msg);

    st = op_layernorm_forward(be, &out, &mean, &rstd, &x, &w, NULL, 0.0f, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "layernorm_forward: eps = 0"), "message: %s", err.msg);
    st = op_layernorm_forward(be, &out, &mean, &rstd, &x, &w, NULL, NAN, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    st = op_layernorm_forward(be, &out, &mean, &rstd, &x, &w, NULL, INFINITY, &err);
    cr_assert_eq(st, PF_ERR_ARG);

    st = op_layernorm_forward(be, &out, &mean, &rstd, NULL, &w, NULL, LN_EPS, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "layernorm_forward: inp is NULL"), "message: %s", err.msg);

    /* a tensor on another device */
    struct backend other = *be;
    other.name = "other";
    struct tensor wo = check_tensor(&other, buf, TENSOR_F32, "w", 1, s12);
    st = op_layernorm_forward(be, &out, &mean, &rstd, &x, &wo, NULL, LN_EPS, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "lives on device 'other'"), "message: %s", err.msg);

    /* backward: dw without a weight, dinp of the wrong shape */
    struct tensor dw = check_tensor(be, buf, TENSOR_F32, "dw", 1, s12);
    st = op_layernorm_backward(be, NULL, &dw, NULL, &out, &x, NULL, &mean, &rstd, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "layernorm_backward: dw dw[12] given but w is NULL"),
              "message: %s", err.msg);
    st = op_layernorm_backward(be, &obad, NULL, NULL, &out, &x, &w, &mean, &rstd, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "layernorm_backward: dinp out[3,7,11]"), "message: %s", err.msg);
}
