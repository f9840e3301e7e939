/* test_rmsnorm.c - RMSNorm forward/backward against an fp64 reference and central finite
 * differences (odd shapes, rows far from zero, the threaded path); dw accumulates, dinp is
 * overwritten, NULL dw does no work, results do not depend on the thread count; argument
 * errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define RMS_EPS 1e-6f

/* ---- fp64 reference: out = x / sqrt(mean(x^2) + eps) * w ---- */

struct rms_ctx {
    int N, C;
    double *x, *w, *g, *out, *rstd;
};

static void rms_ref(struct rms_ctx *k) {
    for (int i = 0; i < k->N; i++) {
        const double *x = k->x + (size_t)i * k->C;
        double s = 0.0;
        for (int j = 0; j < k->C; j++)
            s += x[j] * x[j];
        double r = 1.0 / sqrt(s / k->C + (double)RMS_EPS);
        for (int j = 0; j < k->C; j++)
            k->out[(size_t)i * k->C + j] = x[j] * r * k->w[j];
        k->rstd[i] = r;
    }
}

static double rms_loss(void *ctx) {
    struct rms_ctx *k = ctx;
    rms_ref(k);
    return check_dot(k->g, k->out, (size_t)k->N * k->C);
}

struct rms_bufs {
    int N, C;
    float *x, *w, *g, *out, *rstd, *dinp, *dw;
    double *xd, *wd, *gd, *outd, *rstdd, *ndx, *ndw;
};

static void rms_bufs_init(struct rms_bufs *s, int N, int C, float center) {
    size_t n = (size_t)N * C;
    s->N = N;
    s->C = C;
    s->x = check_alloc(n * 4);
    s->g = check_alloc(n * 4);
    s->out = check_alloc(n * 4);
    s->dinp = check_alloc(n * 4);
    s->w = check_alloc((size_t)C * 4);
    s->dw = check_alloc((size_t)C * 4);
    s->rstd = check_alloc((size_t)N * 4);
    s->xd = check_alloc(n * 8);
    s->gd = check_alloc(n * 8);
    s->outd = check_alloc(n * 8);
    s->ndx = check_alloc(n * 8);
    s->wd = check_alloc((size_t)C * 8);
    s->ndw = check_alloc((size_t)C * 8);
    s->rstdd = check_alloc((size_t)N * 8);
    check_fill(s->x, n, 21, center - 1.0f, center + 1.0f);
    check_fill(s->w, C, 22, 0.5f, 1.5f);
    check_fill(s->g, n, 23, -1.0f, 1.0f);
    check_to_double(s->xd, s->x, n);
    check_to_double(s->wd, s->w, C);
    check_to_double(s->gd, s->g, n);
}

static void rms_bufs_free(struct rms_bufs *s) {
    void *ps[] = {s->x, s->w, s->g, s->out, s->rstd, s->dinp, s->dw,
                  s->xd, s->wd, s->gd, s->outd, s->rstdd, s->ndx, s->ndw};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        free(ps[i]);
}

/* Forward and backward through the public API; dw starts at 0.5 (subtracted afterwards),
 * dinp starts as NaN. */
static void rms_run(struct backend *be, struct rms_bufs *s, int B, int T) {
    struct pf_err err = {0};
    int64_t sx[3] = {B, T, s->C}, sc[1] = {s->C}, sn[1] = {s->N};
    struct tensor tx = check_tensor(be, s->x, TENSOR_F32, "inp", 3, sx);
    struct tensor to = check_tensor(be, s->out, TENSOR_F32, "out", 3, sx);
    struct tensor tg = check_tensor(be, s->g, TENSOR_F32, "dout", 3, sx);
    struct tensor tdx = check_tensor(be, s->dinp, TENSOR_F32, "dinp", 3, sx);
    struct tensor tw = check_tensor(be, s->w, TENSOR_F32, "w", 1, sc);
    struct tensor tdw = check_tensor(be, s->dw, TENSOR_F32, "dw", 1, sc);
    struct tensor tr = check_tensor(be, s->rstd, TENSOR_F32, "rstd", 1, sn);
    CHECK_OK(op_rmsnorm_forward(be, &to, &tr, &tx, &tw, RMS_EPS, &err), &err);
    for (int j = 0; j < s->C; j++)
        s->dw[j] = 0.5f;
    memset(s->dinp, 0xff, (size_t)s->N * s->C * 4);
    CHECK_OK(op_rmsnorm_backward(be, &tdx, &tdw, &tg, &tx, &tw, &tr, &err), &err);
    for (int j = 0; j < s->C; j++)
        s->dw[j] -= 0.5f;
}

struct rms_case {
    int B, T, C;
    float center;
};

static struct rms_case cases[] = {
    {3, 7, 12, 0.0f},   /* N=21 */
    {3, 7, 12, 100.0f}, /* rows around 100 +- 1 */
    {1, 5, 33, 0.3f},   /* C crosses a 32-column chunk */
    {2, 3, 1, 0.0f},    /* C=1 */
    {5, 1, 70, -2.0f},  /* three column chunks */
};

ParameterizedTestParameters(rmsnorm, grad) {
    return cr_make_param_array(struct rms_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct rms_case *c, rmsnorm, grad) {
    struct backend *be = check_cpu(2);
    int N = c->B * c->T, C = c->C;
    size_t n = (size_t)N * C;
    struct rms_bufs s;
    rms_bufs_init(&s, N, C, c->center);
    rms_run(be, &s, c->B, c->T);
    struct rms_ctx k = {N, C, s.xd, s.wd, s.gd, s.outd, s.rstdd};
    rms_ref(&k);
    CHECK_CLOSE("rmsnorm out", s.out, s.outd, n, 2e-6, 1e-7);
    CHECK_CLOSE("rmsnorm rstd", s.rstd, s.rstdd, N, 1e-6, 0.0);
    check_numgrad(s.ndx, s.xd, n, rms_loss, &k, 1e-6);
    check_numgrad(s.ndw, s.wd, C, rms_loss, &k, 1e-6);
    CHECK_CLOSE("rmsnorm dinp", s.dinp, s.ndx, n, 2e-5, 2e-6);
    CHECK_CLOSE("rmsnorm dw", s.dw, s.ndw, C, 2e-5, 2e-6);
    rms_bufs_free(&s);
}

/* Threaded path (16640 elements): forward in full, gradients on a subset. */
Test(rmsnorm, threaded_path) {
    struct backend *be = check_cpu(2);
    int B = 5, T = 13, C = 256, N = B * T;
    size_t n = (size_t)N * C;
    struct rms_bufs s;
    rms_bufs_init(&s, N, C, 0.5f);
    rms_run(be, &s, B, T);
    struct rms_ctx k = {N, C, s.xd, s.wd, s.gd, s.outd, s.rstdd};
    rms_ref(&k);
    CHECK_CLOSE("rmsnorm out", s.out, s.outd, n, 2e-6, 1e-7);
    CHECK_CLOSE("rmsnorm rstd", s.rstd, s.rstdd, N, 1e-6, 0.0);
    size_t r1 = (size_t)(N - 1) * C;
    check_numgrad(s.ndx, s.xd, C, rms_loss, &k, 1e-6);
    check_numgrad(s.ndx + r1, s.xd + r1, C, rms_loss, &k, 1e-6);
    check_numgrad(s.ndw + 20, s.wd + 20, 40, rms_loss, &k, 1e-6);
    CHECK_CLOSE("rmsnorm dinp row 0", s.dinp, s.ndx, C, 2e-5, 2e-6);
    CHECK_CLOSE("rmsnorm dinp last row", s.dinp + r1, s.ndx + r1, C, 2e-5, 2e-6);
    CHECK_CLOSE("rmsnorm dw", s.dw + 20, s.ndw + 20, 40, 2e-5, 2e-6);
    rms_bufs_free(&s);
}

Test(rmsnorm, thread_count_independent) {
    int B = 4, T = 33, C = 200, N = B * T;
    size_t n = (size_t)N * C;
    struct rms_bufs s1, s2;
    rms_bufs_init(&s1, N, C, 1.0f);
    rms_bufs_init(&s2, N, C, 1.0f);
    rms_run(check_cpu(1), &s1, B, T);
    rms_run(check_cpu(2), &s2, B, T);
    cr_assert(memcmp(s1.out, s2.out, n * 4) == 0, "out differs between 1 and 2 threads");
    cr_assert(memcmp(s1.rstd, s2.rstd, (size_t)N * 4) == 0);
    cr_assert(memcmp(s1.dinp, s2.dinp, n * 4) == 0, "dinp differs between 1 and 2 threads");
    cr_assert(memcmp(s1.dw, s2.dw, (size_t)C * 4) == 0, "dw differs between 1 and 2 threads");
    rms_bufs_free(&s1);
    rms_bufs_free(&s2);
}

/* Frozen weight: NULL dw; dinp is still right and in place over dout works. */
Test(rmsnorm, frozen_weight_and_in_place) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float x[6] = {1, 2, 4, -1, 0, 3}, w[3] = {1, 2, 3}, out[6], rstd[2];
    float g[6] = {1, -1, 0.5f, 2, 0, 1}, dx[6];
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 2, s23);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 2, s23);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, s23);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 2, s23);
    struct tensor tw = check_tensor(be, w, TENSOR_F32, "w", 1, s3);
    struct tensor tr = check_tensor(be, rstd, TENSOR_F32, "rstd", 1, s2);
    CHECK_OK(op_rmsnorm_forward(be, &to, &tr, &tx, &tw, RMS_EPS, &err), &err);
    cr_assert_float_eq(rstd[0], 1.0f / sqrtf(7.0f + RMS_EPS), 1e-6);
    CHECK_OK(op_rmsnorm_backward(be, &tdx, NULL, &tg, &tx, &tw, &tr, &err), &err);
    CHECK_OK(op_rmsnorm_backward(be, &tg, NULL, &tg, &tx, &tw, &tr, &err), &err);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(g[i], dx[i], "in-place dinp differs at %d", i);
}

Test(rmsnorm, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[512] = {0};
    int64_t sx[3] = {3, 7, 12}, s8[1] = {8}, s12[1] = {12}, s21[1] = {21}, s0[2] = {4, 0};
    struct tensor x = check_tensor(be, buf, TENSOR_F32, "inp", 3, sx);
    struct tensor out = check_tensor(be, buf, TENSOR_F32, "out", 3, sx);
    struct tensor w8 = check_tensor(be, buf, TENSOR_F32, "w", 1, s8);
    struct tensor w = check_tensor(be, buf, TENSOR_F32, "w", 1, s12);
    struct tensor rstd = check_tensor(be, buf, TENSOR_F32, "rstd", 1, s21);
    struct tensor r12 = check_tensor(be, buf, TENSOR_F32, "rstd", 1, s12);
    struct tensor x0 = check_tensor(be, buf, TENSOR_F32, "inp", 2, s0);

    pf_status st = op_rmsnorm_forward(be, &out, &rstd, &x, &w8, RMS_EPS, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "rmsnorm_forward:") && strstr(err.msg, "w[8] has 8 elements") &&
              strstr(err.msg, "expected 12 to match inp[3,7,12]"), "message: %s", err.msg);

    st = op_rmsnorm_backward(be, NULL, NULL, &out, &x, &w, &r12, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "rmsnorm_backward:") && strstr(err.msg, "rstd[12]") &&
              strstr(err.msg, "expected 21"), "message: %s", err.msg);

    st = op_rmsnorm_forward(be, &out, &rstd, &x, &w, -1e-6f, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "rmsnorm_forward: eps = -1e-06 must be finite and > 0"),
              "message: %s", err.msg);

    st = op_rmsnorm_forward(be, &out, &rstd, &x, NULL, RMS_EPS, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "rmsnorm_forward: w is NULL"), "message: %s", err.msg);

    st = op_rmsnorm_forward(be, &out, &rstd, &x0, &w, RMS_EPS, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "inp[4,0] has no columns"), "message: %s", err.msg);
}
