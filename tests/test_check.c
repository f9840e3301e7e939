/* test_check.c - the test helpers themselves: the finite-difference check recovers a known
 * gradient and, above all, rejects a wrong one (a check that cannot fail is a defect). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>

#include "check.h"

struct cube_ctx {
    double *x;
    size_t n;
};

/* L(x) = sum x_i^3 / 3 + x_0 x_1: dL/dx_i = x_i^2 (+ x_1 / x_0 terms). */
static double cube_loss(void *p) {
    struct cube_ctx *c = p;
    double s = 0.0;
    for (size_t i = 0; i < c->n; i++)
        s += c->x[i] * c->x[i] * c->x[i] / 3.0;
    return s + c->x[0] * c->x[1];
}

/* stderr is captured: the deliberate failures below would otherwise print worst-element reports
 * into every test log and look like real errors. */
Test(check, numgrad_matches_analytic_and_rejects_wrong, .init = cr_redirect_stderr) {
    enum { N = 9 };
    double x[N], g[N], want[N];
    float exact[N], wrong[N];
    check_fill_d(x, N, 11, -2.0, 2.0);
    struct cube_ctx c = {x, N};
    check_numgrad(g, x, N, cube_loss, &c, 1e-6);
    for (int i = 0; i < N; i++)
        want[i] = x[i] * x[i] + (i == 0 ? x[1] : i == 1 ? x[0] : 0.0);
    check_to_float(exact, want, N);
    cr_assert(check_close("exact", exact, g, N, 1e-5, 1e-6));
    for (int i = 0; i < N; i++)
        wrong[i] = exact[i];
    wrong[4] *= 1.001f; /* a 0.1% error in one element must be caught */
    cr_assert_not(check_close("deliberately wrong", wrong, g, N, 1e-4, 1e-6));
    wrong[4] = NAN;
    cr_assert_not(check_close("NaN", wrong, g, N, 1e-4, 1e-6));
}
