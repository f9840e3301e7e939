/* check.c - shared helpers for the Criterion tests: random data, fp32-vs-fp64 comparison and
 * finite-difference gradients in double precision. */
#include "check.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/rng.h"

void check_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform_at(seed, i);
}

void check_fill_d(double *x, size_t n, uint64_t seed, double lo, double hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (double)rng_uniform_at(seed, i);
}

void check_to_double(double *d, const float *f, size_t n) {
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
}

void check_to_float(float *f, const double *d, size_t n) {
    for (size_t i = 0; i < n; i++)
        f[i] = (float)d[i];
}

int check_close(const char *what, const float *got, const double *want, size_t n, double rtol,
                double atol) {
    size_t worst = 0;
    double worst_excess = -INFINITY, worst_err = 0.0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double allowed = atol + rtol * fabs(want[i]);
        if (!(err <= allowed)) /* also catches NaN */
            ok = 0;
        double excess = isnan(err) ? INFINITY : err - allowed;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
            worst_err = err;
        }
    }
    if (!ok)
        fprintf(stderr, "%s: element %zu: got %.9g, want %.9g (|err| %.3g > %.3g + %.3g*|want|)\n",
                what, worst, (double)got[worst], want[worst], worst_err, atol, rtol);
    return ok;
}

void check_numgrad(double *grad, double *x, size_t n, check_loss_fn loss, void *ctx,
                   double step) {
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        double h = step * (fabs(x0) > 1.0 ? fabs(x0) : 1.0);
        x[i] = x0 + h;
        double lp = loss(ctx);
        x[i] = x0 - h;
        double lm = loss(ctx);
        x[i] = x0;
        grad[i] = (lp - lm) / (2.0 * h);
    }
}

double check_dot(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

double check_maxabs(const double *x, size_t n) {
    double m = 1e-30;
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i]) > m)
            m = fabs(x[i]);
    return m;
}

void *check_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    cr_assert_not_null(p, "test buffer of %zu bytes", bytes);
    return p;
}

struct backend *check_cpu(int threads) {
    static struct backend *be;
    if (!be)
        be = backend_cpu_new(threads);
    backend_cpu_set_threads(be, threads);
    return be;
}

struct tensor check_tensor(struct backend *be, void *data, enum tensor_dtype dt, const char *name,
                           int ndim, const int64_t *shape) {
    struct tensor t;
    struct pf_err err = {0};
    pf_status st = tensor_wrap(&t, be, data, dt, name, ndim, shape, &err);
    cr_assert_eq(st, PF_OK, "tensor_wrap(%s): %s", name, err.msg);
    return t;
}
