/* test_softmax.c - row softmax forward/backward against an fp64 reference and central finite
 * differences; -inf entries and rows that are entirely -inf; in place; argument errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- fp64 reference: softmax over rows of C, -inf entries give 0, all -inf rows give 0 ---- */

struct sm_case {
    int N, C;
    float offset; /* added to row 0: exercises the max subtraction */
};

struct sm_ctx {
    const struct sm_case *c;
    double *x, *g, *out;
};

static void sm_ref_rows(double *out, const double *x, int N, int C) {
    for (int n = 0; n < N; n++) {
        const double *r = x + (size_t)n * C;
        double *o = out + (size_t)n * C;
        double mx = -INFINITY, s = 0.0;
        for (int j = 0; j < C; j++)
            mx = r[j] > mx ? r[j] : mx;
        for (int j = 0; j < C; j++) {
            o[j] = (mx == -INFINITY || r[j] == -INFINITY) ? 0.0 : exp(r[j] - mx);
            s += o[j];
        }
        for (int j = 0; j < C; j++)
            o[j] = s > 0.0 ? o[j] / s : 0.0;
    }
}

static double sm_loss(void *ctx) {
    struct sm_ctx *x = ctx;
    sm_ref_rows(x->out, x->x, x->c->N, x->c->C);
    return check_dot(x->g, x->out, (size_t)x->c->N * x->c->C);
}

static struct sm_case cases[] = {
    {5, 7, 0.0f},    /* odd sizes */
    {3, 1, 0.0f},    /* one column: softmax is 1, gradient 0 */
    {4, 37, 500.0f}, /* row 0 near 500: exp overflows without the max subtraction */
    {2, 130, -80.0f}, /* longer than the 16 lanes of the row sums, with a tail */
};

ParameterizedTestParameters(softmax, grad) {
    return cr_make_param_array(struct sm_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct sm_case *c, softmax, grad) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    size_t n = (size_t)c->N * c->C;
    float *x = malloc(n * 4), *out = malloc(n * 4), *g = malloc(n * 4), *dx = malloc(n * 4);
    double *xd = malloc(n * 8), *gd = malloc(n * 8), *outd = malloc(n * 8);
    double *ndx = malloc(n * 8);
    check_fill(x, n, 11, -3, 3);
    for (int j = 0; j < c->C; j++)
        x[j] += c->offset;
    check_fill(g, n, 12, -1, 1);
    check_to_double(xd, x, n);
    check_to_double(gd, g, n);

    int64_t s[2] = {c->N, c->C};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 2, s);
    struct tensor tout = check_tensor(be, out, TENSOR_F32, "out", 2, s);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, s);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 2, s);

    memset(out, 0xff, n * 4); /* NaN: the op must write every element */
    CHECK_OK(op_softmax_forward(be, &tout, &tx, &err), &err);
    struct sm_ctx ctx = {c, xd, gd, outd};
    sm_ref_rows(outd, xd, c->N, c->C);
    CHECK_CLOSE("softmax out", out, outd, n, 1e-5, 1e-7);

    memset(dx, 0xff, n * 4);
    CHECK_OK(op_softmax_backward(be, &tdx, &tg, &tout, &err), &err);
    check_numgrad(ndx, xd, n, sm_loss, &ctx, 1e-6);
    CHECK_CLOSE("softmax dinp", dx, ndx, n, 1e-4, 1e-5 * check_maxabs(ndx, n));

    free(x); free(out); free(g); free(dx); free(xd); free(gd); free(outd); free(ndx);
}

/* -inf entries (masked logits) give exact zeros; a row of only -inf gives zeros, not NaN;
 * their gradients are exact zeros too. The backward is compared with the analytic fp64
 * gradient out * (g - sum(g * out)) since finite differences cannot step through -inf. */
Test(softmax, neg_inf_rows) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    enum { N = 4, C = 19 };
    float x[N * C], out[N * C], g[N * C], dx[N * C];
    double xd[N * C], outd[N * C], want[N * C];
    check_fill(x, N * C, 21, -4, 4);
    check_fill(g, N * C, 22, -1, 1);
    for (int j = 0; j < C; j++) {
        if (j % 3 == 1)
            x[1 * C + j] = -INFINITY; /* row 1: some masked */
        x[2 * C + j] = -INFINITY;     /* row 2: all masked */
        if (j != 5)
            x[3 * C + j] = -INFINITY; /* row 3: a single visible entry */
    }
    check_to_double(xd, x, N * C);
    int64_t s[2] = {N, C};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 2, s);
    struct tensor tout = check_tensor(be, out, TENSOR_F32, "out", 2, s);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, s);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 2, s);
    memset(out, 0xff, sizeof out);
    memset(dx, 0xff, sizeof dx);
    CHECK_OK(op_softmax_forward(be, &tout, &tx, &err), &err);
    CHECK_OK(op_softmax_backward(be, &tdx, &tg, &tout, &err), &err);
    sm_ref_rows(outd, xd, N, C);
    CHECK_CLOSE("softmax out (-inf)", out, outd, N * C, 1e-5, 1e-7);
    for (int n = 0; n < N; n++) {
        double dot = 0.0;
        for (int j = 0; j < C; j++)
            dot += (double)g[n * C + j] * outd[n * C + j];
        for (int j = 0; j < C; j++)
            want[n * C + j] = outd[n * C + j] * ((double)g[n * C + j] - dot);
    }
    CHECK_CLOSE("softmax dinp (-inf)", dx, want, N * C, 1e-4, 1e-6);
    for (int i = 0; i < N * C; i++)
        if (x[i] == -INFINITY) {
            cr_assert(out[i] == 0.0f, "out[%d] = %g for a -inf input", i, (double)out[i]);
            cr_assert(dx[i] == 0.0f, "dinp[%d] = %g for a -inf input", i, (double)dx[i]);
        }
    cr_assert(out[3 * C + 5] == 1.0f, "single visible entry has p = %g", (double)out[3 * C + 5]);
}

/* out may be inp and dinp may be dout: same bits as out of place. */
Test(softmax, in_place) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    enum { N = 6, C = 45 };
    float x[N * C], y[N * C], g[N * C], dx[N * C];
    check_fill(x, N * C, 31, -5, 5);
    check_fill(g, N * C, 32, -1, 1);
    int64_t s[2] = {N, C};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 2, s);
    struct tensor ty = check_tensor(be, y, TENSOR_F32, "out", 2, s);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, s);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 2, s);
    CHECK_OK(op_softmax_forward(be, &ty, &tx, &err), &err);
    CHECK_OK(op_softmax_forward(be, &tx, &tx, &err), &err);
    cr_assert(memcmp(x, y, sizeof x) == 0, "in-place forward differs");
    CHECK_OK(op_softmax_backward(be, &tdx, &tg, &ty, &err), &err);
    CHECK_OK(op_softmax_backward(be, &tg, &tg, &ty, &err), &err);
    cr_assert(memcmp(g, dx, sizeof g) == 0, "in-place backward differs");
}

Test(softmax, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[64] = {0};
    int32_t ibuf[64] = {0};
    int64_t s57[2] = {5, 7}, s56[2] = {5, 6}, s75[2] = {7, 5};
    struct tensor x = check_tensor(be, buf, TENSOR_F32, "logits", 2, s57);
    struct tensor bad = check_tensor(be, buf, TENSOR_F32, "probs", 2, s56);
    pf_status st = op_softmax_forward(be, &bad, &x, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "softmax_forward: out probs[5,6] does not match logits[5,7]"),
              "message: %s", err.msg);

    struct tensor tr = check_tensor(be, buf, TENSOR_F32, "dout", 2, s75);
    st = op_softmax_backward(be, &x, &tr, &x, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "softmax_backward") && strstr(err.msg, "dout[7,5]") &&
              strstr(err.msg, "5 rows x 7 cols"), "message: %s", err.msg);

    struct tensor xi = check_tensor(be, ibuf, TENSOR_I32, "ids", 2, s57);
    st = op_softmax_forward(be, &x, &xi, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "softmax_forward: inp ids[5,7] has dtype i32"), "message: %s",
              err.msg);

    st = op_softmax_forward(be, &x, NULL, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "softmax_forward: inp is NULL"), "message: %s", err.msg);
}
