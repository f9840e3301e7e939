/* test_activation.c - GELU (erf and tanh forms), ReLU, SiLU, SwiGLU, tanh and the residual add,
 * forward and backward, against fp64 references (written from the textbook formulas, e.g.
 * GELU-tanh through tanh itself) and central finite differences, over inputs spanning
 * [-6, 6]; the threaded path and thread-count independence; argument errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define PI_D 3.14159265358979323846

enum act_op { A_GELU_ERF, A_GELU_TANH, A_RELU, A_SILU, A_SWIGLU, A_RESIDUAL, A_TANH };

static const char *const act_names[] = {"gelu_erf", "gelu_tanh", "relu", "silu", "swiglu",
                                        "residual", "tanh"};

/* ---- fp64 references; y is the second input (up of SwiGLU, b of the residual) ---- */

static double ref1(int op, double x, double y) {
    switch (op) {
    case A_GELU_ERF:
        return x * 0.5 * erfc(-x / sqrt(2.0));
    case A_GELU_TANH:
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / PI_D) * (x + 0.044715 * x * x * x)));
    case A_RELU:
        return x > 0.0 ? x : 0.0;
    case A_SILU:
        return x / (1.0 + exp(-x));
    case A_SWIGLU:
        return x / (1.0 + exp(-x)) * y;
    case A_TANH:
        return tanh(x);
    default:
        return x + y;
    }
}

static int binary(int op) {
    return op == A_SWIGLU || op == A_RESIDUAL;
}

struct act_ctx {
    int op;
    size_t n;
    double *x, *y, *g, *out;
};

static double act_loss(void *ctx) {
    struct act_ctx *k = ctx;
    for (size_t i = 0; i < k->n; i++)
        k->out[i] = ref1(k->op, k->x[i], k->y[i]);
    return check_dot(k->g, k->out, k->n);
}

/* ---- buffers and the run through the public API ---- */

struct act_bufs {
    size_t n;
    float *x, *y, *g, *out, *dx, *dy;
    double *xd, *yd, *gd, *outd, *ndx, *ndy;
};

/* x spans [-6, 6] (both ends included), y in [-2, 2), g in [-1, 1). */
static void act_bufs_init(struct act_bufs *s, size_t n) {
    s->n = n;
    float **fs[] = {&s->x, &s->y, &s->g, &s->out, &s->dx, &s->dy};
    double **ds[] = {&s->xd, &s->yd, &s->gd, &s->outd, &s->ndx, &s->ndy};
    for (int i = 0; i < 6; i++) {
        *fs[i] = check_alloc(n * 4);
        *ds[i] = check_alloc(n * 8);
    }
    check_fill(s->x, n, 31, -6.0f, 6.0f);
    s->x[0] = -6.0f;
    s->x[n - 1] = 6.0f;
    check_fill(s->y, n, 32, -2.0f, 2.0f);
    check_fill(s->g, n, 33, -1.0f, 1.0f);
    check_to_double(s->xd, s->x, n);
    check_to_double(s->yd, s->y, n);
    check_to_double(s->gd, s->g, n);
}

static void act_bufs_free(struct act_bufs *s) {
    void *ps[] = {s->x, s->y, s->g, s->out, s->dx, s->dy,
                  s->xd, s->yd, s->gd, s->outd, s->ndx, s->ndy};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        free(ps[i]);
}

/* Forward into out; backward into dx (and dy). Activation gradients start as NaN (they must
 * be written); residual gradients start at x and y (they must accumulate). */
static void act_run(struct backend *be, struct act_bufs *s, int op) {
    struct pf_err err = {0};
    int64_t sh[1] = {(int64_t)s->n};
    struct tensor tx = check_tensor(be, s->x, TENSOR_F32, "inp", 1, sh);
    struct tensor ty = check_tensor(be, s->y, TENSOR_F32, "y", 1, sh);
    struct tensor tg = check_tensor(be, s->g, TENSOR_F32, "dout", 1, sh);
    struct tensor to = check_tensor(be, s->out, TENSOR_F32, "out", 1, sh);
    struct tensor tdx = check_tensor(be, s->dx, TENSOR_F32, "dx", 1, sh);
    struct tensor tdy = check_tensor(be, s->dy, TENSOR_F32, "dy", 1, sh);
    if (op == A_RESIDUAL) {
        memcpy(s->dx, s->x, s->n * 4);
        memcpy(s->dy, s->y, s->n * 4);
    } else {
        memset(s->dx, 0xff, s->n * 4);
        memset(s->dy, 0xff, s->n * 4);
    }
    switch (op) {
    case A_GELU_ERF:
    case A_GELU_TANH: {
        enum gelu_kind kind = op == A_GELU_ERF ? GELU_ERF : GELU_TANH;
        CHECK_OK(op_gelu_forward(be, &to, &tx, kind, &err), &err);
        CHECK_OK(op_gelu_backward(be, &tdx, &tg, &tx, kind, &err), &err);
        break;
    }
    case A_RELU:
        CHECK_OK(op_relu_forward(be, &to, &tx, &err), &err);
        CHECK_OK(op_relu_backward(be, &tdx, &tg, &tx, &err), &err);
        break;
    case A_SILU:
        CHECK_OK(op_silu_forward(be, &to, &tx, &err), &err);
        CHECK_OK(op_silu_backward(be, &tdx, &tg, &tx, &err), &err);
        break;
    case A_SWIGLU:
        CHECK_OK(op_swiglu_forward(be, &to, &tx, &ty, &err), &err);
        CHECK_OK(op_swiglu_backward(be, &tdx, &tdy, &tg, &tx, &ty, &err), &err);
        break;
    case A_TANH: /* the backward reads the forward's output */
        CHECK_OK(op_tanh_forward(be, &to, &tx, &err), &err);
        CHECK_OK(op_tanh_backward(be, &tdx, &tg, &to, &err), &err);
        break;
    default:
        CHECK_OK(op_residual_forward(be, &to, &tx, &ty, &err), &err);
        CHECK_OK(op_residual_backward(be, &tdx, &tdy, &tg, &err), &err);
        break;
    }
    if (op == A_RESIDUAL) {
        for (size_t i = 0; i < s->n; i++) { /* exactly the float sum: nothing else added */
            cr_assert_eq(s->dx[i], s->x[i] + s->g[i], "residual da[%zu] did not accumulate", i);
            cr_assert_eq(s->dy[i], s->y[i] + s->g[i], "residual db[%zu] did not accumulate", i);
            s->dx[i] -= s->x[i];
            s->dy[i] -= s->y[i];
        }
    }
}

/* Tolerances. Measured worst cases (fixed seeds): forward within rtol 1e-6 + atol 1e-8,
 * gradients within rtol 5e-6 + atol 1e-7, except the residual, whose gradient check subtracts
 * the prefilled value again (one float ulp of |x + g| <= 8, 2.4e-7). Forward atol is 1e-7 for
 * all ops (the GELU tails at -6 are ~1e-8). */
struct act_tol {
    double fwd_rtol, grad_rtol, grad_atol;
};

static const struct act_tol act_tols[] = {
    [A_GELU_ERF] = {2e-6, 1e-5, 2e-7},
    [A_GELU_TANH] = {2e-6, 1e-5, 2e-7},
    [A_RELU] = {0.0, 1e-7, 1e-8}, /* exact; the 1e-8 is finite-difference noise */
    [A_SILU] = {2e-6, 1e-5, 2e-7},
    [A_SWIGLU] = {2e-6, 1e-5, 2e-7},
    [A_RESIDUAL] = {2e-7, 1e-6, 5e-7},
    [A_TANH] = {2e-6, 1e-5, 2e-7},
};

static void act_compare(struct act_bufs *s, int op, int numgrad_full) {
    char what[64];
    const struct act_tol *t = &act_tols[op];
    struct act_ctx k = {op, s->n, s->xd, s->yd, s->gd, s->outd};
    act_loss(&k);
    snprintf(what, sizeof what, "%s out", act_names[op]);
    CHECK_CLOSE(what, s->out, s->outd, s->n, t->fwd_rtol, 1e-7);
    if (numgrad_full) {
        check_numgrad(s->ndx, s->xd, s->n, act_loss, &k, 1e-6);
        if (binary(op))
            check_numgrad(s->ndy, s->yd, s->n, act_loss, &k, 1e-6);
    } else { /* elementwise: the same central differences, one element at a time */
        for (size_t i = 0; i < s->n; i++) {
            double x = s->xd[i], y = s->yd[i];
            double hx = 1e-6 * (fabs(x) > 1.0 ? fabs(x) : 1.0);
            double hy = 1e-6 * (fabs(y) > 1.0 ? fabs(y) : 1.0);
            s->ndx[i] = s->gd[i] * (ref1(op, x + hx, y) - ref1(op, x - hx, y)) / (2 * hx);
            s->ndy[i] = s->gd[i] * (ref1(op, x, y + hy) - ref1(op, x, y - hy)) / (2 * hy);
        }
    }
    snprintf(what, sizeof what, "%s dinp", act_names[op]);
    CHECK_CLOSE(what, s->dx, s->ndx, s->n, t->grad_rtol, t->grad_atol);
    if (binary(op)) {
        snprintf(what, sizeof what, "%s d(second input)", act_names[op]);
        CHECK_CLOSE(what, s->dy, s->ndy, s->n, t->grad_rtol, t->grad_atol);
    }
}

static int all_ops[] = {A_GELU_ERF, A_GELU_TANH, A_RELU, A_SILU, A_SWIGLU, A_RESIDUAL,
                        A_TANH};

ParameterizedTestParameters(activation, grad) {
    return cr_make_param_array(int, all_ops, sizeof all_ops / sizeof all_ops[0]);
}

/* 601 elements (single-threaded path), full finite-difference gradient. */
ParameterizedTest(int *op, activation, grad) {
    struct act_bufs s;
    act_bufs_init(&s, 601);
    act_run(check_cpu(2), &s, *op);
    act_compare(&s, *op, 1);
    act_bufs_free(&s);
}

ParameterizedTestParameters(activation, threaded) {
    return cr_make_param_array(int, all_ops, sizeof all_ops / sizeof all_ops[0]);
}

/* 40001 elements (threaded path): same checks, and bitwise the same with 1 and 2 threads. */
ParameterizedTest(int *op, activation, threaded) {
    struct act_bufs s, s1;
    size_t n = 40001;
    act_bufs_init(&s, n);
    act_bufs_init(&s1, n);
    act_run(check_cpu(2), &s, *op);
    act_compare(&s, *op, 0);
    act_run(check_cpu(1), &s1, *op);
    cr_assert(memcmp(s.out, s1.out, n * 4) == 0, "%s out: 1 and 2 threads differ",
              act_names[*op]);
    cr_assert(memcmp(s.dx, s1.dx, n * 4) == 0, "%s dinp: 1 and 2 threads differ",
              act_names[*op]);
    act_bufs_free(&s);
    act_bufs_free(&s1);
}

/* Behaviour at the edges: ReLU gradient is 0 at x <= 0; tails are exact limits, no NaN. */
Test(activation, edges) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float x[8] = {0.0f, -0.0f, -1e-30f, 1e-30f, -30.0f, 30.0f, -100.0f, 100.0f};
    float out[8], g[8] = {1, 1, 1, 1, 1, 1, 1, 1}, dx[8];
    int64_t sh[1] = {8};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "inp", 1, sh);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 1, sh);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 1, sh);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dinp", 1, sh);
    CHECK_OK(op_relu_backward(be, &tdx, &tg, &tx, &err), &err);
    cr_assert(dx[0] == 0.0f && dx[1] == 0.0f && dx[2] == 0.0f && dx[3] == 1.0f);
    for (int kind = 0; kind < 2; kind++) {
        CHECK_OK(op_gelu_forward(be, &to, &tx, (enum gelu_kind)kind, &err), &err);
        CHECK_OK(op_gelu_backward(be, &tdx, &tg, &tx, (enum gelu_kind)kind, &err), &err);
        cr_assert(fabsf(out[4]) < 1e-30f && out[5] == 30.0f && fabsf(out[6]) < 1e-30f &&
                  out[7] == 100.0f, "gelu kind %d tails: %g %g %g %g", kind, out[4], out[5],
                  out[6], out[7]);
        cr_assert(fabsf(dx[4]) < 1e-30f && dx[5] == 1.0f && fabsf(dx[6]) < 1e-30f &&
                  dx[7] == 1.0f, "gelu kind %d tail gradients: %g %g %g %g", kind, dx[4], dx[5],
                  dx[6], dx[7]);
        cr_assert(out[0] == 0.0f && fabsf(dx[0] - 0.5f) < 1e-7f, "gelu kind %d at 0", kind);
    }
    CHECK_OK(op_silu_forward(be, &to, &tx, &err), &err);
    CHECK_OK(op_silu_backward(be, &tdx, &tg, &tx, &err), &err);
    cr_assert(out[0] == 0.0f && dx[0] == 0.5f && out[7] == 100.0f && dx[7] == 1.0f);
    cr_assert(fabsf(out[6]) < 1e-30f && fabsf(dx[6]) < 1e-30f && !isnan(dx[6]));
}

/* NULL gradients do no work; the residual adds into one side only. */
Test(activation, null_gradients) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float gate[4] = {-1, 0, 1, 2}, up[4] = {1, 2, 3, 4}, g[4] = {1, 1, 1, 1};
    float dup[4] = {9, 9, 9, 9}, dgate[4], da[4] = {1, 1, 1, 1};
    int64_t sh[1] = {4};
    struct tensor tga = check_tensor(be, gate, TENSOR_F32, "gate", 1, sh);
    struct tensor tup = check_tensor(be, up, TENSOR_F32, "up", 1, sh);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 1, sh);
    struct tensor tdg = check_tensor(be, dgate, TENSOR_F32, "dgate", 1, sh);
    struct tensor tda = check_tensor(be, da, TENSOR_F32, "da", 1, sh);
    CHECK_OK(op_swiglu_backward(be, &tdg, NULL, &tg, &tga, &tup, &err), &err);
    cr_assert_float_eq(dgate[1], 1.0f, 1e-7); /* d/dg silu(g) * up at g = 0: 0.5 * 2 */
    CHECK_OK(op_swiglu_backward(be, NULL, NULL, &tg, &tga, &tup, &err), &err);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(dup[i], 9.0f);
    CHECK_OK(op_residual_backward(be, &tda, NULL, &tg, &err), &err);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(da[i], 2.0f);
    CHECK_OK(op_gelu_backward(be, NULL, &tg, &tga, GELU_ERF, &err), &err);
}

Test(activation, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[64] = {0};
    int32_t ibuf[12] = {0};
    int64_t s34[2] = {3, 4}, s10[1] = {10}, s12[1] = {12};
    struct tensor x = check_tensor(be, buf, TENSOR_F32, "inp", 2, s34);
    struct tensor o10 = check_tensor(be, buf, TENSOR_F32, "out", 1, s10);
    struct tensor o12 = check_tensor(be, buf, TENSOR_F32, "out", 1, s12);
    struct tensor xi = check_tensor(be, ibuf, TENSOR_I32, "ids", 2, s34);

    pf_status st = op_relu_forward(be, &o10, &x, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "relu_forward: out[10] has 10 elements, expected 12 to "
                              "match inp[3,4]"), "message: %s", err.msg);

    st = op_gelu_forward(be, &o12, &x, (enum gelu_kind)7, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "gelu_forward: unknown gelu kind 7"), "message: %s", err.msg);
    st = op_gelu_backward(be, &o12, &o12, &x, (enum gelu_kind)-1, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "gelu_backward: unknown gelu kind -1"), "message: %s", err.msg);

    st = op_swiglu_forward(be, &o12, &x, &o10, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "swiglu_forward: up out[10]") && strstr(err.msg, "inp[3,4]"),
              "message: %s", err.msg);

    st = op_residual_backward(be, &o10, NULL, &x, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "residual_backward: da out[10]"), "message: %s", err.msg);

    st = op_silu_forward(be, &o12, &xi, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "silu_forward: inp ids[3,4] has dtype i32"), "message: %s",
              err.msg);

    st = op_silu_backward(be, &o12, NULL, &x, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "silu_backward: dout is NULL"), "message: %s", err.msg);

    st = op_residual_forward(NULL, &o12, &x, &x, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "residual_forward: backend is NULL"), "message: %s", err.msg);
}
