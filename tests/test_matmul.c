/* test_matmul.c - matmul forward/backward (bias, both transposes, accumulate, frozen weights)
 * against an fp64 reference and central finite differences; argument errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- fp64 reference: out(M,N) = op(a) op(b) + bias ---- */

struct mm_case {
    int M, N, K, trans_a, trans_b, bias;
};

struct mm_ctx {
    const struct mm_case *c;
    double *a, *b, *bias, *g, *out;
};

static double a_at(const struct mm_case *c, const double *a, int i, int k) {
    return c->trans_a ? a[(size_t)k * c->M + i] : a[(size_t)i * c->K + k];
}

static double b_at(const struct mm_case *c, const double *b, int k, int j) {
    return c->trans_b ? b[(size_t)j * c->K + k] : b[(size_t)k * c->N + j];
}

static void mm_ref(struct mm_ctx *x) {
    const struct mm_case *c = x->c;
    for (int i = 0; i < c->M; i++)
        for (int j = 0; j < c->N; j++) {
            double s = c->bias ? x->bias[j] : 0.0;
            for (int k = 0; k < c->K; k++)
                s += a_at(c, x->a, i, k) * b_at(c, x->b, k, j);
            x->out[(size_t)i * c->N + j] = s;
        }
}

static double mm_loss(void *ctx) {
    struct mm_ctx *x = ctx;
    mm_ref(x);
    return check_dot(x->g, x->out, (size_t)x->c->M * x->c->N);
}

static struct mm_case cases[] = {
    {21, 12, 7, 0, 1, 1},  /* Linear: a (M,K), w (N,K), bias */
    {21, 12, 7, 0, 0, 1},  /* Conv1D layout: w (K,N) */
    {9, 5, 13, 1, 0, 0},   /* a stored (K,M) */
    {9, 5, 13, 1, 1, 1},   /* both transposed */
    {1, 3, 1, 0, 1, 0},    /* degenerate sizes */
};

ParameterizedTestParameters(matmul, grad) {
    return cr_make_param_array(struct mm_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct mm_case *c, matmul, grad) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    size_t na = (size_t)c->M * c->K, nb = (size_t)c->K * c->N, no = (size_t)c->M * c->N;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *bias = malloc((size_t)c->N * 4);
    float *out = malloc(no * 4), *g = malloc(no * 4);
    float *da = malloc(na * 4), *db = malloc(nb * 4), *dbias = malloc((size_t)c->N * 4);
    double *ad = malloc(na * 8), *bd = malloc(nb * 8), *biasd = malloc((size_t)c->N * 8);
    double *gd = malloc(no * 8), *outd = malloc(no * 8);
    double *nda = malloc(na * 8), *ndb = malloc(nb * 8), *ndbias = malloc((size_t)c->N * 8);
    check_fill(a, na, 1, -1, 1);
    check_fill(b, nb, 2, -1, 1);
    check_fill(bias, c->N, 3, -1, 1);
    check_fill(g, no, 4, -1, 1);
    check_to_double(ad, a, na);
    check_to_double(bd, b, nb);
    check_to_double(biasd, bias, c->N);
    check_to_double(gd, g, no);

    int64_t sa[2] = {c->trans_a ? c->K : c->M, c->trans_a ? c->M : c->K};
    int64_t sb[2] = {c->trans_b ? c->N : c->K, c->trans_b ? c->K : c->N};
    int64_t so[2] = {c->M, c->N}, sn[1] = {c->N};
    struct tensor ta = check_tensor(be, a, TENSOR_F32, "a", 2, sa);
    struct tensor tb = check_tensor(be, b, TENSOR_F32, "b", 2, sb);
    struct tensor tbias = check_tensor(be, bias, TENSOR_F32, "bias", 1, sn);
    struct tensor tout = check_tensor(be, out, TENSOR_F32, "out", 2, so);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, so);
    struct tensor tda = check_tensor(be, da, TENSOR_F32, "da", 2, sa);
    struct tensor tdb = check_tensor(be, db, TENSOR_F32, "db", 2, sb);
    struct tensor tdbias = check_tensor(be, dbias, TENSOR_F32, "dbias", 1, sn);

    CHECK_OK(op_matmul_forward(be, &tout, &ta, &tb, c->bias ? &tbias : NULL, c->trans_a,
                               c->trans_b, &err), &err);
    struct mm_ctx x = {c, ad, bd, biasd, gd, outd};
    mm_ref(&x);
    CHECK_CLOSE("matmul out", out, outd, no, 1e-5, 1e-5);

    /* parameter gradients accumulate: start them at 0.5 and subtract afterwards */
    for (size_t i = 0; i < nb; i++)
        db[i] = 0.5f;
    for (int i = 0; i < c->N; i++)
        dbias[i] = 0.5f;
    memset(da, 0xff, na * 4); /* NaN: da must be overwritten, not accumulated */
    CHECK_OK(op_matmul_backward(be, &tda, &tdb, c->bias ? &tdbias : NULL, &tg, &ta, &tb,
                                c->trans_a, c->trans_b, 0, &err), &err);
    for (size_t i = 0; i < nb; i++)
        db[i] -= 0.5f;
    for (int i = 0; i < c->N; i++)
        dbias[i] -= 0.5f;

    check_numgrad(nda, ad, na, mm_loss, &x, 1e-6);
    check_numgrad(ndb, bd, nb, mm_loss, &x, 1e-6);
    CHECK_CLOSE("matmul da", da, nda, na, 1e-4, 1e-5);
    CHECK_CLOSE("matmul db", db, ndb, nb, 1e-4, 1e-5);
    if (c->bias) {
        check_numgrad(ndbias, biasd, c->N, mm_loss, &x, 1e-6);
        CHECK_CLOSE("matmul dbias", dbias, ndbias, c->N, 1e-4, 1e-5);
    }

    /* accumulate = 1 adds to da */
    float *da2 = malloc(na * 4);
    memcpy(da2, da, na * 4);
    struct tensor tda2 = check_tensor(be, da2, TENSOR_F32, "da", 2, sa);
    CHECK_OK(op_matmul_backward(be, &tda2, NULL, NULL, &tg, &ta, &tb, c->trans_a, c->trans_b, 1,
                                &err), &err);
    for (size_t i = 0; i < na; i++)
        nda[i] *= 2.0;
    CHECK_CLOSE("matmul da accumulated", da2, nda, na, 1e-4, 1e-5);

    free(a); free(b); free(bias); free(out); free(g); free(da); free(db); free(dbias);
    free(ad); free(bd); free(biasd); free(gd); free(outd); free(nda); free(ndb); free(ndbias);
    free(da2);
}

/* Frozen weights: with db and dbias NULL only da is computed, and it is still right. */
Test(matmul, frozen_weight_skips_db) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    /* a (3,2), w (3,2) used as w^T: out (3,3), out[i][j] = a_i . w_j */
    float a[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, 0, 1, 1, 1};
    float out[9], g[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, da[6];
    int64_t s32[2] = {3, 2}, s33[2] = {3, 3};
    struct tensor ta = check_tensor(be, a, TENSOR_F32, "a", 2, s32);
    struct tensor tw = check_tensor(be, w, TENSOR_F32, "w", 2, s32);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 2, s33);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, s33);
    struct tensor tda = check_tensor(be, da, TENSOR_F32, "da", 2, s32);
    CHECK_OK(op_matmul_forward(be, &to, &ta, &tw, NULL, 0, 1, &err), &err);
    const float want[9] = {1, 2, 3, 3, 4, 7, 5, 6, 11};
    for (int i = 0; i < 9; i++)
        cr_assert_float_eq(out[i], want[i], 1e-6, "out[%d]", i);
    CHECK_OK(op_matmul_backward(be, &tda, NULL, NULL, &tg, &ta, &tw, 0, 1, 0, &err), &err);
    /* da = g w with g = identity: the rows of w */
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(da[i], w[i], 1e-6, "da[%d]", i);
}

Test(matmul, shape_errors_name_op_and_shapes) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[64] = {0};
    int64_t s37[2] = {3, 7}, s58[2] = {5, 8}, s35[2] = {3, 5}, s34[2] = {3, 4};
    struct tensor a = check_tensor(be, buf, TENSOR_F32, "x", 2, s37);
    struct tensor w = check_tensor(be, buf, TENSOR_F32, "w", 2, s58);
    struct tensor out = check_tensor(be, buf, TENSOR_F32, "out", 2, s35);
    pf_status st = op_matmul_forward(be, &out, &a, &w, NULL, 0, 1, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "matmul_forward") && strstr(err.msg, "x[3,7]") &&
              strstr(err.msg, "w[5,8]"), "message: %s", err.msg);

    int64_t s57[2] = {5, 7};
    struct tensor w2 = check_tensor(be, buf, TENSOR_F32, "w", 2, s57);
    struct tensor out_bad = check_tensor(be, buf, TENSOR_F32, "out", 2, s34);
    st = op_matmul_forward(be, &out_bad, &a, &w2, NULL, 0, 1, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "out[3,4]") && strstr(err.msg, "3 rows x 5 cols"), "message: %s",
              err.msg);

    int64_t s4[1] = {4};
    struct tensor bias = check_tensor(be, buf, TENSOR_F32, "bias", 1, s4);
    st = op_matmul_forward(be, &out, &a, &w2, &bias, 0, 1, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "bias[4]"), "message: %s", err.msg);

    st = op_matmul_forward(be, &out, NULL, &w2, NULL, 0, 1, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "matmul_forward: a is NULL"), "message: %s", err.msg);

    int32_t ibuf[35];
    struct tensor ai = check_tensor(be, ibuf, TENSOR_I32, "ids", 2, s37);
    st = op_matmul_forward(be, &out, &ai, &w2, NULL, 0, 1, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "dtype i32"), "message: %s", err.msg);
}
