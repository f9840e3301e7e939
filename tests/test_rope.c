/* test_rope.c - rotary position embedding: the cos/sin tables against double math, forward
 * against an fp64 rotate_half reference, backward against central finite differences, at
 * scattered positions and two thetas; in place; argument errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- fp64 reference: HF apply_rotary_pos_emb, out = x * cos + rotate_half(x) * sin with
 * cos/sin of width D = cat(table, table) and rotate_half(x) = cat(-x[D/2:], x[:D/2]) ---- */

struct rp_case {
    int N, H, D, P;
    float theta;
};

struct rp_ctx {
    const struct rp_case *c;
    const double *cos, *sin; /* (P, D/2) */
    const int32_t *pos;      /* (N) */
    double *x, *g, *out;     /* (N, H*D) */
};

static void rp_ref(struct rp_ctx *x) {
    const struct rp_case *c = x->c;
    const int D = c->D, half = D / 2;
    double ce[512], se[512], rot[512];
    cr_assert(D <= 512);
    for (int n = 0; n < c->N; n++) {
        const double *cr = x->cos + (size_t)x->pos[n] * half;
        const double *sr = x->sin + (size_t)x->pos[n] * half;
        for (int i = 0; i < D; i++) {
            ce[i] = cr[i % half];
            se[i] = sr[i % half];
        }
        for (int h = 0; h < c->H; h++) {
            const double *xi = x->x + ((size_t)n * c->H + h) * D;
            double *o = x->out + ((size_t)n * c->H + h) * D;
            for (int i = 0; i < D; i++)
                rot[i] = i < half ? -xi[i + half] : xi[i - half];
            for (int i = 0; i < D; i++)
                o[i] = xi[i] * ce[i] + rot[i] * se[i];
        }
    }
}

static double rp_loss(void *ctx) {
    struct rp_ctx *x = ctx;
    rp_ref(x);
    return check_dot(x->g, x->out, (size_t)x->c->N * x->c->H * x->c->D);
}

/* Table entry as HF computes it: fp32 inv_freq, fp32 angle, then cos/sin in double. */
static double want_angle(int p, int i, int D, float theta) {
    float inv = (float)(1.0 / pow((double)theta, (double)(2 * i) / (double)D));
    return (double)((float)p * inv);
}

struct rp_tables {
    float *cos, *sin;
    struct tensor tcos, tsin;
};

static void rp_tables(struct rp_tables *t, struct backend *be, int P, int D, float theta) {
    struct pf_err err = {0};
    size_t n = (size_t)P * (D / 2);
    t->cos = malloc(n * 4);
    t->sin = malloc(n * 4);
    memset(t->cos, 0xff, n * 4);
    memset(t->sin, 0xff, n * 4);
    int64_t s[2] = {P, D / 2};
    t->tcos = check_tensor(be, t->cos, TENSOR_F32, "cos", 2, s);
    t->tsin = check_tensor(be, t->sin, TENSOR_F32, "sin", 2, s);
    CHECK_OK(op_rope_tables(be, &t->tcos, &t->tsin, theta, &err), &err);
}

Test(rope, tables_match_double_math) {
    struct backend *be = check_cpu(2);
    const float thetas[2] = {10000.0f, 500000.0f};
    enum { P = 300, D = 16, HALF = D / 2 };
    for (int k = 0; k < 2; k++) {
        struct rp_tables t;
        rp_tables(&t, be, P, D, thetas[k]);
        for (int p = 0; p < P; p++)
            for (int i = 0; i < HALF; i++) {
                double a = want_angle(p, i, D, thetas[k]);
                float c = t.cos[p * HALF + i], s = t.sin[p * HALF + i];
                cr_assert(fabs(c - cos(a)) <= 6e-8 && fabs(s - sin(a)) <= 6e-8,
                          "theta %g p %d i %d: got (%.9g, %.9g), want (%.9g, %.9g)",
                          (double)thetas[k], p, i, (double)c, (double)s, cos(a), sin(a));
            }
        /* a few entries against the exact angle p / theta^(2i/D) (fp32 rounding of the angle
         * only): position 0 is the identity, frequency 0 turns by p radians */
        for (int i = 0; i < HALF; i++)
            cr_assert(t.cos[i] == 1.0f && t.sin[i] == 0.0f, "position 0, i %d", i);
        cr_assert(fabs(t.cos[7 * HALF] - cos(7.0)) < 1e-7 &&
                  fabs(t.sin[7 * HALF] - sin(7.0)) < 1e-7, "position 7, i 0");
        double a = 123.0 / pow((double)thetas[k], 6.0 / D); /* p 123, i 3 */
        cr_assert(fabs(t.cos[123 * HALF + 3] - cos(a)) < 2e-6, "cos %.9g vs %.9g",
                  (double)t.cos[123 * HALF + 3], cos(a));
        cr_assert(fabs(t.sin[123 * HALF + 3] - sin(a)) < 2e-6);
        free(t.cos);
        free(t.sin);
    }
}

static struct rp_case cases[] = {
    {10, 3, 8, 40, 10000.0f},  /* N rows, H heads of D, P table rows */
    {10, 2, 6, 40, 500000.0f}, /* odd D/2 */
    {7, 1, 36, 64, 10000.0f},  /* D/2 past a vector width, with a tail */
    {5, 4, 2, 40, 500000.0f},  /* D = 2: a plain 2-D rotation */
};

ParameterizedTestParameters(rope, grad) {
    return cr_make_param_array(struct rp_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct rp_case *c, rope, grad) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    /* scattered, repeated, unordered positions */
    static const int32_t pos_pool[10] = {5, 17, 3, 0, 39, 8, 8, 12, 1, 31};
    int32_t pos[10];
    for (int i = 0; i < c->N; i++)
        pos[i] = pos_pool[i];
    size_t n = (size_t)c->N * c->H * c->D, nt = (size_t)c->P * (c->D / 2);
    struct rp_tables t;
    rp_tables(&t, be, c->P, c->D, c->theta);
    float *x = malloc(n * 4), *out = malloc(n * 4), *g = malloc(n * 4), *dx = malloc(n * 4);
    float *buf = malloc(n * 4);
    double *xd = malloc(n * 8), *gd = malloc(n * 8), *outd = malloc(n * 8), *ndx = malloc(n * 8);
    double *cd = malloc(nt * 8), *sd = malloc(nt * 8);
    check_fill(x, n, 41, -2, 2);
    check_fill(g, n, 42, -1, 1);
    check_to_double(xd, x, n);
    check_to_double(gd, g, n);
    check_to_double(cd, t.cos, nt);
    check_to_double(sd, t.sin, nt);

    /* inputs shaped (B,T,H*D) with B*T = N split as (1, N) */
    int64_t sx[3] = {1, c->N, (int64_t)c->H * c->D}, sp[2] = {1, c->N};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 3, sx);
    struct tensor tout = check_tensor(be, out, TENSOR_F32, "out", 3, sx);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 3, sx);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 3, sx);
    struct tensor tbuf = check_tensor(be, buf, TENSOR_F32, "buf", 3, sx);
    struct tensor tpos = check_tensor(be, pos, TENSOR_I32, "pos", 2, sp);

    memset(out, 0xff, n * 4);
    CHECK_OK(op_rope_forward(be, &tout, &tx, &t.tcos, &t.tsin, &tpos, c->H, &err), &err);
    struct rp_ctx ctx = {c, cd, sd, pos, xd, gd, outd};
    rp_ref(&ctx);
    CHECK_CLOSE("rope out", out, outd, n, 1e-5, 1e-6);

    memset(dx, 0xff, n * 4);
    CHECK_OK(op_rope_backward(be, &tdx, &tg, &t.tcos, &t.tsin, &tpos, c->H, &err), &err);
    check_numgrad(ndx, xd, n, rp_loss, &ctx, 1e-6);
    CHECK_CLOSE("rope dinp", dx, ndx, n, 1e-5, 1e-6);

    /* in place: same bits as out of place */
    memcpy(buf, x, n * 4);
    CHECK_OK(op_rope_forward(be, &tbuf, &tbuf, &t.tcos, &t.tsin, &tpos, c->H, &err), &err);
    cr_assert(memcmp(buf, out, n * 4) == 0, "in-place forward differs");
    memcpy(buf, g, n * 4);
    CHECK_OK(op_rope_backward(be, &tbuf, &tbuf, &t.tcos, &t.tsin, &tpos, c->H, &err), &err);
    cr_assert(memcmp(buf, dx, n * 4) == 0, "in-place backward differs");

    /* the backward is the inverse rotation: backward(forward(x)) = x */
    CHECK_OK(op_rope_backward(be, &tbuf, &tout, &t.tcos, &t.tsin, &tpos, c->H, &err), &err);
    CHECK_CLOSE("rope inverse", buf, xd, n, 0.0, 1e-6);

    free(x); free(out); free(g); free(dx); free(buf);
    free(xd); free(gd); free(outd); free(ndx); free(cd); free(sd);
    free(t.cos); free(t.sin);
}

Test(rope, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    static float buf[4096];
    struct rp_tables t;
    rp_tables(&t, be, 40, 8, 10000.0f);
    int32_t pos[6] = {0, 1, 2, 3, 40, 5};
    int64_t sx[3] = {2, 3, 16}, sp[2] = {2, 3}, sodd[3] = {2, 3, 15}, sc[2] = {40, 3};
    struct tensor x = check_tensor(be, buf, TENSOR_F32, "x", 3, sx);
    struct tensor tpos = check_tensor(be, pos, TENSOR_I32, "pos", 2, sp);

    /* a position past the table */
    pf_status st = op_rope_forward(be, &x, &x, &t.tcos, &t.tsin, &tpos, 2, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "rope_forward: pos[2,3] has value 40 at index 4, outside "
                              "[0, 40) of cos[40,4]"), "message: %s", err.msg);
    pos[4] = -1;
    st = op_rope_backward(be, &x, &x, &t.tcos, &t.tsin, &tpos, 2, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "rope_backward") && strstr(err.msg, "value -1 at index 4"),
              "message: %s", err.msg);
    pos[4] = 4;

    /* head size disagrees with the tables, or is odd */
    st = op_rope_forward(be, &x, &x, &t.tcos, &t.tsin, &tpos, 4, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "cos[40,4] has D/2=4 columns") && strstr(err.msg, "x[2,3,16]") &&
              strstr(err.msg, "head size D=4"), "message: %s", err.msg);
    struct tensor xo = check_tensor(be, buf, TENSOR_F32, "x", 3, sodd);
    st = op_rope_forward(be, &xo, &xo, &t.tcos, &t.tsin, &tpos, 3, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "rope_forward: inp x[2,3,15] with n_head=3 has odd head size D=5"),
              "message: %s", err.msg);

    /* cos and sin disagree */
    struct tensor sbad = check_tensor(be, buf, TENSOR_F32, "sin", 2, sc);
    st = op_rope_forward(be, &x, &x, &t.tcos, &sbad, &tpos, 2, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "sin[40,3] does not match cos[40,4]"), "message: %s", err.msg);
    st = op_rope_tables(be, &t.tcos, &sbad, 10000.0f, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "rope_tables"), "message: %s", err.msg);

    /* theta */
    st = op_rope_tables(be, &t.tcos, &t.tsin, 0.0f, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "rope_tables: theta = 0 must be positive"), "message: %s",
              err.msg);

    /* pos count */
    int64_t sp5[1] = {5};
    struct tensor pos5 = check_tensor(be, pos, TENSOR_I32, "pos", 1, sp5);
    st = op_rope_forward(be, &x, &x, &t.tcos, &t.tsin, &pos5, 2, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "pos[5] has 5 elements, expected 6"), "message: %s", err.msg);
    free(t.cos);
    free(t.sin);
}
