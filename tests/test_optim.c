/* test_optim.c - AdamW steps against an fp64 reference of torch.optim.AdamW (weight decay,
 * bias correction, zero and extreme gradients), global-norm clipping above and below the
 * threshold and on NaN/Inf, sumsq independence of the thread count, the linear warm-up
 * schedule, op_zero, and hyper-parameter errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- AdamW ---- */

struct adam_case {
    int n, steps;
    float lr, beta1, beta2, eps, wd;
    int extreme; /* gradients spanning 2^-60 .. 2^60 (v from subnormal to 2^120) */
};

/* One torch.optim.AdamW step in double. */
static void adam_ref(double *p, double *m, double *v, const double *g, int n,
                     const struct adam_case *c, int t) {
    double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    for (int i = 0; i < n; i++) {
        p[i] *= 1.0 - (double)c->lr * c->wd;
        m[i] = c->beta1 * m[i] + (1.0 - c->beta1) * g[i];
        v[i] = c->beta2 * v[i] + (1.0 - c->beta2) * g[i] * g[i];
        double mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] -= c->lr * mhat / (sqrt(vhat) + c->eps);
    }
}

static struct adam_case adam_cases[] = {
    {37, 6, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0},   /* defaults with weight decay */
    {101, 4, 0.1f, 0.5f, 0.9f, 1e-3f, 0.0f, 0},     /* no decay, large eps, fast moments */
    {64, 3, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1},  /* extreme gradient magnitudes */
    {40000, 2, 1e-3f, 0.9f, 0.95f, 1e-6f, 0.05f, 0} /* parallel path */
};

ParameterizedTestParameters(optim, adamw) {
    return cr_make_param_array(struct adam_case, adam_cases,
                               sizeof adam_cases / sizeof adam_cases[0]);
}

ParameterizedTest(struct adam_case *c, optim, adamw) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    size_t n = (size_t)c->n;
    float *p = malloc(n * 4), *g = malloc(n * 4), *m = calloc(n, 4), *v = calloc(n, 4);
    double *pd = malloc(n * 8), *gd = malloc(n * 8), *md = calloc(n, 8), *vd = calloc(n, 8);
    check_fill(p, n, 71, -1, 1);
    check_to_double(pd, p, n);
    int64_t s[1] = {c->n};
    struct tensor tp = check_tensor(be, p, TENSOR_F32, "w", 1, s);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dw", 1, s);
    struct tensor tm = check_tensor(be, m, TENSOR_F32, "m", 1, s);
    struct tensor tv = check_tensor(be, v, TENSOR_F32, "v", 1, s);
    for (int t = 1; t <= c->steps; t++) {
        check_fill(g, n, 72 + (uint64_t)t, -1, 1);
        if (c->extreme)
            for (size_t i = 0; i < n; i++) {
                float mag = ldexpf(1.0f + g[i] * g[i], (int)(i % 121) - 60);
                g[i] = g[i] < 0 ? -mag : mag;
            }
        g[0] = 0.0f; /* a zero gradient: v stays 0, only weight decay moves it */
        check_to_double(gd, g, n);
        struct adamw_params hp = {c->lr, c->beta1, c->beta2, c->eps, c->wd, t};
        CHECK_OK(op_adamw_update(be, &tp, &tg, &tm, &tv, &hp, &err), &err);
        adam_ref(pd, md, vd, gd, c->n, c, t);
        CHECK_CLOSE("adamw m", m, md, n, 1e-5, 1e-7 * check_maxabs(md, n));
        CHECK_CLOSE("adamw v", v, vd, n, 1e-5, 0);
        CHECK_CLOSE("adamw param", p, pd, n, 1e-5, 1e-6);
    }
    free(p); free(g); free(m); free(v); free(pd); free(gd); free(md); free(vd);
}

Test(optim, adamw_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[4][8] = {{0}};
    int64_t s8[1] = {8}, s7[1] = {7};
    struct tensor tp = check_tensor(be, buf[0], TENSOR_F32, "w", 1, s8);
    struct tensor tg = check_tensor(be, buf[1], TENSOR_F32, "dw", 1, s8);
    struct tensor tm = check_tensor(be, buf[2], TENSOR_F32, "m", 1, s8);
    struct tensor tv = check_tensor(be, buf[3], TENSOR_F32, "v", 1, s8);
    struct tensor tv7 = check_tensor(be, buf[3], TENSOR_F32, "v", 1, s7);
    struct adamw_params ok = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1}, hp;

    pf_status st = op_adamw_update(be, &tp, &tg, &tm, &tv7, &ok, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "adamw_update: v[7] has 7 elements, expected 8") &&
              strstr(err.msg, "w[8]"), "message: %s", err.msg);

    hp = ok;
    hp.beta1 = 1.0f;
    st = op_adamw_update(be, &tp, &tg, &tm, &tv, &hp, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "adamw_update: beta1 = 1 must be finite and in [0, 1)");

    hp = ok;
    hp.eps = 0.0f;
    st = op_adamw_update(be, &tp, &tg, &tm, &tv, &hp, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "adamw_update: eps = 0 must be finite and in (0, inf)"),
              "message: %s", err.msg);

    hp = ok;
    hp.lr = NAN;
    st = op_adamw_update(be, &tp, &tg, &tm, &tv, &hp, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "adamw_update: lr = nan"), "message: %s", err.msg);

    hp = ok;
    hp.weight_decay = -0.1f;
    st = op_adamw_update(be, &tp, &tg, &tm, &tv, &hp, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "weight_decay = -0.1"), "message: %s", err.msg);

    hp = ok;
    hp.step = 0;
    st = op_adamw_update(be, &tp, &tg, &tm, &tv, &hp, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "adamw_update: step = 0 must be >= 1"), "message: %s", err.msg);

    st = op_adamw_update(be, &tp, &tg, &tm, &tm, &ok, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "adamw_update: m and v share the same memory");

    st = op_adamw_update(be, &tp, &tg, &tm, &tv, NULL, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(buf[0][i], 0.0f, "no work is done on error");
}

/* ---- gradient clipping ---- */

struct clip_set {
    float a[37], b[1000], c[5];
    struct tensor ta, tb, tc;
    struct tensor *list[3];
};

static void clip_setup(struct clip_set *s, struct backend *be) {
    int64_t sa[1] = {37}, sb[2] = {40, 25}, sc[1] = {5};
    check_fill(s->a, 37, 81, -1, 1);
    check_fill(s->b, 1000, 82, -0.1f, 0.1f);
    check_fill(s->c, 5, 83, -3, 3);
    s->ta = check_tensor(be, s->a, TENSOR_F32, "da", 1, sa);
    s->tb = check_tensor(be, s->b, TENSOR_F32, "db", 2, sb);
    s->tc = check_tensor(be, s->c, TENSOR_F32, "dc", 1, sc);
    s->list[0] = &s->ta;
    s->list[1] = &s->tb;
    s->list[2] = &s->tc;
}

static double clip_ref_norm(const struct clip_set *s) {
    double t = 0.0;
    for (int i = 0; i < 37; i++)
        t += (double)s->a[i] * s->a[i];
    for (int i = 0; i < 1000; i++)
        t += (double)s->b[i] * s->b[i];
    for (int i = 0; i < 5; i++)
        t += (double)s->c[i] * s->c[i];
    return sqrt(t);
}

Test(optim, clip_above_and_below) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct clip_set s, orig;
    clip_setup(&s, be);
    orig = s;
    double want = clip_ref_norm(&s), norm = 0.0;

    /* below the threshold (and max_norm 0: report only): nothing changes */
    CHECK_OK(op_clip_grad_norm(be, s.list, 3, (float)(2.0 * want), &norm, &err), &err);
    cr_assert(fabs(norm - want) <= 1e-12 * want, "norm %.17g want %.17g", norm, want);
    CHECK_OK(op_clip_grad_norm(be, s.list, 3, 0.0f, &norm, &err), &err);
    cr_assert(memcmp(s.a, orig.a, sizeof s.a) == 0 && memcmp(s.b, orig.b, sizeof s.b) == 0 &&
              memcmp(s.c, orig.c, sizeof s.c) == 0, "gradients below max_norm were changed");

    /* above: every gradient scaled by max_norm / (norm + 1e-6) */
    float max_norm = (float)(0.5 * want);
    CHECK_OK(op_clip_grad_norm(be, s.list, 3, max_norm, &norm, &err), &err);
    cr_assert(fabs(norm - want) <= 1e-12 * want, "norm %.17g want %.17g", norm, want);
    double coef = max_norm / (want + 1e-6), wa[37], wb[1000], wc[5];
    for (int i = 0; i < 37; i++)
        wa[i] = orig.a[i] * coef;
    for (int i = 0; i < 1000; i++)
        wb[i] = orig.b[i] * coef;
    for (int i = 0; i < 5; i++)
        wc[i] = orig.c[i] * coef;
    CHECK_CLOSE("clipped a", s.a, wa, 37, 1e-6, 0);
    CHECK_CLOSE("clipped b", s.b, wb, 1000, 1e-6, 0);
    CHECK_CLOSE("clipped c", s.c, wc, 5, 1e-6, 0);
    double after = clip_ref_norm(&s);
    cr_assert(fabs(after - max_norm) <= 1e-5 * max_norm, "norm after clipping %.9g", after);
}

Test(optim, clip_nonfinite_is_numeric_error) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct clip_set s, orig;
    clip_setup(&s, be);
    s.b[417] = NAN;
    orig = s;
    double norm = 0.0;
    pf_status st = op_clip_grad_norm(be, s.list, 3, 1e-3f, &norm, &err);
    cr_assert_eq(st, PF_ERR_NUMERIC);
    cr_assert(isnan(norm));
    cr_assert(strstr(err.msg, "clip_grad_norm: gradient norm is nan") &&
              strstr(err.msg, "grads[1] db[40,25]"), "message: %s", err.msg);
    /* bytes compared: NaN != NaN as a float */
    cr_assert(memcmp(&s, &orig, offsetof(struct clip_set, ta)) == 0,
              "gradients were touched");

    s.b[417] = 0.0f;
    s.c[2] = -INFINITY;
    st = op_clip_grad_norm(be, s.list, 3, 1e-3f, &norm, &err);
    cr_assert_eq(st, PF_ERR_NUMERIC);
    cr_assert(strstr(err.msg, "gradient norm is inf") && strstr(err.msg, "grads[2] dc[5]"),
              "message: %s", err.msg);
    cr_assert_eq(s.a[0], orig.a[0]);

    st = op_clip_grad_norm(be, s.list, 3, INFINITY, &norm, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "clip_grad_norm: max_norm = inf is not finite"), "message: %s",
              err.msg);
}

/* sumsq: same bits with 1, 2 and 3 threads, and close to a plain double sum. */
Test(optim, sumsq_bitwise_across_threads) {
    size_t n = (1u << 20) + 123;
    float *x = malloc(n * 4);
    check_fill(x, n, 91, -1, 1);
    double s[3];
    for (int k = 0; k < 3; k++) {
        struct backend *be = check_cpu(k + 1);
        s[k] = be->ops->sumsq(be, x, n);
    }
    cr_assert(memcmp(&s[0], &s[1], sizeof s[0]) == 0, "%.17g vs %.17g", s[0], s[1]);
    cr_assert(memcmp(&s[0], &s[2], sizeof s[0]) == 0, "%.17g vs %.17g", s[0], s[2]);
    double ref = 0.0;
    for (size_t i = 0; i < n; i++)
        ref += (double)x[i] * x[i];
    cr_assert(fabs(s[0] - ref) <= 1e-12 * ref, "%.17g vs %.17g", s[0], ref);
    struct backend *be = check_cpu(2);
    cr_assert_eq(be->ops->sumsq(be, x, 0), 0.0);
    cr_assert_eq(be->ops->sumsq(be, x, 1), (double)x[0] * x[0]);
    free(x);
}

/* ---- schedule ---- */

static void expect_lr(int step, int warmup, int total, float base, double want) {
    float got = sched_linear_warmup(step, warmup, total, base);
    cr_assert(fabs((double)got - want) <= 1e-7 * fabs(want) + 1e-12,
              "sched(step %d, warmup %d, total %d): got %.9g want %.9g", step, warmup, total,
              (double)got, want);
}

Test(optim, linear_warmup_schedule) {
    expect_lr(0, 10, 110, 1e-3f, 0.0);              /* start of warm-up */
    expect_lr(4, 10, 110, 1e-3f, 4e-4);             /* warming up */
    expect_lr(10, 10, 110, 1e-3f, 1e-3);            /* peak */
    expect_lr(60, 10, 110, 1e-3f, 5e-4);            /* mid-decay */
    expect_lr(109, 10, 110, 1e-3f, 1e-5);           /* last step */
    expect_lr(110, 10, 110, 1e-3f, 0.0);            /* end */
    expect_lr(500, 10, 110, 1e-3f, 0.0);            /* beyond the end */
    expect_lr(0, 0, 100, 2e-5f, 2e-5);              /* no warm-up: starts at the peak */
    expect_lr(25, 0, 100, 2e-5f, 1.5e-5);
    expect_lr(7, 10, 10, 1.0f, 0.7);                /* total == warmup: 0 from there on */
    expect_lr(10, 10, 10, 1.0f, 0.0);
}

/* ---- op_zero ---- */

Test(optim, zero) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    float f[13];
    int32_t k[7];
    check_fill(f, 13, 95, 1, 2);
    memset(k, 0x5a, sizeof k);
    int64_t sf[1] = {13}, sk[1] = {7};
    struct tensor tf = check_tensor(be, f, TENSOR_F32, "f", 1, sf);
    struct tensor tk = check_tensor(be, k, TENSOR_I32, "k", 1, sk);
    CHECK_OK(op_zero(be, &tf, &err), &err);
    CHECK_OK(op_zero(be, &tk, &err), &err);
    for (int i = 0; i < 13; i++)
        cr_assert_eq(f[i], 0.0f);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(k[i], 0);

    /* a large buffer takes the parallel path */
    size_t n = (size_t)3 << 20;
    float *big = malloc(n * 4);
    check_fill(big, n, 96, 1, 2);
    int64_t sb[2] = {3, 1 << 20};
    struct tensor tb = check_tensor(be, big, TENSOR_F32, "big", 2, sb);
    CHECK_OK(op_zero(be, &tb, &err), &err);
    for (size_t i = 0; i < n; i++)
        if (big[i] != 0.0f)
            cr_assert_fail("big[%zu] = %g", i, (double)big[i]);
    free(big);

    pf_status st = op_zero(be, NULL, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "zero: tensor is NULL");
}
