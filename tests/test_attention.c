/* test_attention.c - multi-head attention forward/backward (GQA, causal, key padding mask)
 * against an fp64 reference and central finite differences; exact zeros where everything is
 * masked; NULL gradients; the causal backward (which skips the upper triangle) against the
 * full one with NaN in the datt scratch; bitwise determinism; argument errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- fp64 reference ---- */

struct at_case {
    int B, T, H, KVH, D, causal, masked;
};

struct at_ctx {
    const struct at_case *c;
    double *q, *k, *v, *g; /* q (B,T,H*D), k and v (B,T,KVH*D), g like q */
    double *out, *att;     /* (B,T,H*D), (B,H,T,T) */
    const int32_t *mask;   /* (B,T) or NULL */
};

/* Key padding pattern by batch row: 0 all visible, 1 the last 3 keys padded, 2 every key
 * padded, 3 the first 2 keys padded (with causal, queries 0 and 1 then see nothing). */
static void make_mask(int32_t *m, int B, int T) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int p = b % 4;
            m[b * T + t] = p == 0 ? 1 : p == 1 ? t < T - 3 : p == 2 ? 0 : t >= 2;
        }
}

static int visible(const struct at_case *c, const int32_t *mask, int b, int t, int j) {
    return (!mask || mask[b * c->T + j]) && (!c->causal || j <= t);
}

static void at_ref(struct at_ctx *x) {
    const struct at_case *c = x->c;
    const int T = c->T, D = c->D, C = c->H * D, KC = c->KVH * D, R = c->H / c->KVH;
    const double scale = 1.0 / sqrt((double)D);
    for (int b = 0; b < c->B; b++)
        for (int h = 0; h < c->H; h++) {
            int kh = h / R;
            for (int t = 0; t < T; t++) {
                double *p = x->att + (((size_t)b * c->H + h) * T + t) * T;
                const double *qr = x->q + ((size_t)b * T + t) * C + h * D;
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < T; j++) {
                    p[j] = 0.0;
                    if (!visible(c, x->mask, b, t, j))
                        continue;
                    const double *kr = x->k + ((size_t)b * T + j) * KC + kh * D;
                    double s = 0.0;
                    for (int d = 0; d < D; d++)
                        s += qr[d] * kr[d];
                    p[j] = s * scale;
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j < T; j++)
                    if (visible(c, x->mask, b, t, j)) {
                        p[j] = exp(p[j] - mx);
                        sum += p[j];
                    }
                for (int j = 0; j < T; j++)
                    p[j] = sum > 0.0 ? p[j] / sum : 0.0;
                double *o = x->out + ((size_t)b * T + t) * C + h * D;
                for (int d = 0; d < D; d++) {
                    double s = 0.0;
                    for (int j = 0; j < T; j++)
                        s += p[j] * x->v[((size_t)b * T + j) * KC + kh * D + d];
                    o[d] = s;
                }
            }
        }
}

static double at_loss(void *ctx) {
    struct at_ctx *x = ctx;
    at_ref(x);
    const struct at_case *c = x->c;
    return check_dot(x->g, x->out, (size_t)c->B * c->T * c->H * c->D);
}

/* One set of buffers for a case: fp32 inputs/outputs/gradients and their tensors. */
struct at_bufs {
    size_t nq, nkv, natt;
    float *q, *k, *v, *g, *out, *att, *dq, *dk, *dv, *datt;
    int32_t *mask;
    struct tensor tq, tk, tv, tg, tout, tatt, tdq, tdk, tdv, tdatt, tmask;
};

static void at_alloc(struct at_bufs *s, struct backend *be, const struct at_case *c) {
    s->nq = (size_t)c->B * c->T * c->H * c->D;
    s->nkv = (size_t)c->B * c->T * c->KVH * c->D;
    s->natt = (size_t)c->B * c->H * c->T * c->T;
    s->q = malloc(s->nq * 4);
    s->k = malloc(s->nkv * 4);
    s->v = malloc(s->nkv * 4);
    s->g = malloc(s->nq * 4);
    s->out = malloc(s->nq * 4);
    s->att = malloc(s->natt * 4);
    s->dq = malloc(s->nq * 4);
    s->dk = malloc(s->nkv * 4);
    s->dv = malloc(s->nkv * 4);
    s->datt = malloc(s->natt * 4);
    s->mask = malloc((size_t)c->B * c->T * 4);
    check_fill(s->q, s->nq, 101, -1.5f, 1.5f);
    check_fill(s->k, s->nkv, 102, -1.5f, 1.5f);
    check_fill(s->v, s->nkv, 103, -1, 1);
    check_fill(s->g, s->nq, 104, -1, 1);
    make_mask(s->mask, c->B, c->T);
    memset(s->out, 0xff, s->nq * 4); /* NaN everywhere the ops must write */
    memset(s->att, 0xff, s->natt * 4);
    memset(s->dq, 0xff, s->nq * 4);
    memset(s->dk, 0xff, s->nkv * 4);
    memset(s->dv, 0xff, s->nkv * 4);
    memset(s->datt, 0xff, s->natt * 4);
    int64_t sq[3] = {c->B, c->T, (int64_t)c->H * c->D};
    int64_t skv[3] = {c->B, c->T, (int64_t)c->KVH * c->D};
    int64_t satt[4] = {c->B, c->H, c->T, c->T}, sm[2] = {c->B, c->T};
    s->tq = check_tensor(be, s->q, TENSOR_F32, "q", 3, sq);
    s->tk = check_tensor(be, s->k, TENSOR_F32, "k", 3, skv);
    s->tv = check_tensor(be, s->v, TENSOR_F32, "v", 3, skv);
    s->tg = check_tensor(be, s->g, TENSOR_F32, "dout", 3, sq);
    s->tout = check_tensor(be, s->out, TENSOR_F32, "out", 3, sq);
    s->tatt = check_tensor(be, s->att, TENSOR_F32, "att", 4, satt);
    s->tdq = check_tensor(be, s->dq, TENSOR_F32, "dq", 3, sq);
    s->tdk = check_tensor(be, s->dk, TENSOR_F32, "dk", 3, skv);
    s->tdv = check_tensor(be, s->dv, TENSOR_F32, "dv", 3, skv);
    s->tdatt = check_tensor(be, s->datt, TENSOR_F32, "datt", 4, satt);
    s->tmask = check_tensor(be, s->mask, TENSOR_I32, "key_mask", 2, sm);
}

static void at_free(struct at_bufs *s) {
    free(s->q); free(s->k); free(s->v); free(s->g); free(s->out); free(s->att);
    free(s->dq); free(s->dk); free(s->dv); free(s->datt); free(s->mask);
}

static void at_run(struct at_bufs *s, struct backend *be, const struct at_case *c) {
    struct pf_err err = {0};
    CHECK_OK(op_attention_forward(be, &s->tout, &s->tatt, &s->tq, &s->tk, &s->tv,
                                  c->masked ? &s->tmask : NULL, c->H, c->KVH, c->causal, &err),
             &err);
    CHECK_OK(op_attention_backward(be, &s->tdq, &s->tdk, &s->tdv, &s->tdatt, &s->tg, &s->tq,
                                   &s->tk, &s->tv, &s->tatt, c->H, c->KVH, c->causal, &err),
             &err);
}

static struct at_case cases[] = {
    /* B  T  H KVH D causal masked */
    {3, 7, 3, 1, 4, 0, 1},  /* GQA with one kv head; rows: full, trailing pad, all padded */
    {3, 7, 3, 1, 4, 1, 1},
    {4, 7, 4, 2, 3, 0, 1},  /* two kv heads; row 3 has leading padding */
    {4, 7, 4, 2, 3, 1, 1},  /* causal + leading padding: queries with no visible key */
    {2, 6, 2, 2, 5, 0, 0},  /* plain multi-head, no mask */
    {2, 6, 2, 2, 5, 1, 0},
    {2, 19, 2, 1, 8, 1, 1}, /* T past the 16-lane row sums */
    {2, 1, 2, 1, 2, 1, 1},  /* a single position */
    {2, 67, 2, 1, 2, 1, 1}, /* causal GEMMs in two query blocks (64 + 3 rows) */
};

ParameterizedTestParameters(attention, grad) {
    return cr_make_param_array(struct at_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct at_case *c, attention, grad) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct at_bufs s;
    at_alloc(&s, be, c);
    double *qd = malloc(s.nq * 8), *kd = malloc(s.nkv * 8), *vd = malloc(s.nkv * 8);
    double *gd = malloc(s.nq * 8), *outd = malloc(s.nq * 8), *attd = malloc(s.natt * 8);
    double *nq = malloc(s.nq * 8), *nk = malloc(s.nkv * 8), *nv = malloc(s.nkv * 8);
    check_to_double(qd, s.q, s.nq);
    check_to_double(kd, s.k, s.nkv);
    check_to_double(vd, s.v, s.nkv);
    check_to_double(gd, s.g, s.nq);
    struct at_ctx x = {c, qd, kd, vd, gd, outd, attd, c->masked ? s.mask : NULL};

    at_run(&s, be, c);
    at_ref(&x);
    CHECK_CLOSE("attention out", s.out, outd, s.nq, 1e-5, 1e-6);
    CHECK_CLOSE("attention att", s.att, attd, s.natt, 1e-5, 1e-7);

    check_numgrad(nq, qd, s.nq, at_loss, &x, 1e-6);
    check_numgrad(nk, kd, s.nkv, at_loss, &x, 1e-6);
    check_numgrad(nv, vd, s.nkv, at_loss, &x, 1e-6);
    CHECK_CLOSE("attention dq", s.dq, nq, s.nq, 1e-4, 1e-5 * check_maxabs(nq, s.nq));
    CHECK_CLOSE("attention dk", s.dk, nk, s.nkv, 1e-4, 1e-5 * check_maxabs(nk, s.nkv));
    CHECK_CLOSE("attention dv", s.dv, nv, s.nkv, 1e-4, 1e-5 * check_maxabs(nv, s.nkv));

    /* Exact zeros: masked keys get no probability and no dk/dv; queries that see no key get
     * zero probabilities, output and dq. */
    const int T = c->T, C = c->H * c->D, KC = c->KVH * c->D;
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < T; t++) {
            int any = 0;
            for (int j = 0; j < T; j++)
                any |= visible(c, x.mask, b, t, j);
            for (int h = 0; h < c->H; h++)
                for (int j = 0; j < T; j++)
                    if (!visible(c, x.mask, b, t, j))
                        cr_assert(s.att[(((size_t)b * c->H + h) * T + t) * T + j] == 0.0f,
                                  "att not 0 at b=%d h=%d t=%d j=%d", b, h, t, j);
            for (int i = 0; !any && i < C; i++) {
                cr_assert(s.out[((size_t)b * T + t) * C + i] == 0.0f, "out b=%d t=%d", b, t);
                cr_assert(s.dq[((size_t)b * T + t) * C + i] == 0.0f, "dq b=%d t=%d", b, t);
            }
            if (x.mask && !x.mask[b * T + t])
                for (int i = 0; i < KC; i++) {
                    cr_assert(s.dk[((size_t)b * T + t) * KC + i] == 0.0f, "dk b=%d key %d", b, t);
                    cr_assert(s.dv[((size_t)b * T + t) * KC + i] == 0.0f, "dv b=%d key %d", b, t);
                }
        }

    /* NULL gradients: each alone gives the same bits; dv alone needs no datt scratch */
    float *one = malloc(s.nq * 4);
    int64_t sq[3] = {c->B, c->T, C}, skv[3] = {c->B, c->T, KC};
    struct tensor tq1 = check_tensor(be, one, TENSOR_F32, "dq", 3, sq);
    struct tensor tkv1 = check_tensor(be, one, TENSOR_F32, "dkv", 3, skv);
    memset(one, 0xff, s.nq * 4);
    CHECK_OK(op_attention_backward(be, &tq1, NULL, NULL, &s.tdatt, &s.tg, &s.tq, &s.tk, &s.tv,
                                   &s.tatt, c->H, c->KVH, c->causal, &err), &err);
    cr_assert(memcmp(one, s.dq, s.nq * 4) == 0, "dq alone differs");
    memset(one, 0xff, s.nq * 4);
    CHECK_OK(op_attention_backward(be, NULL, &tkv1, NULL, &s.tdatt, &s.tg, &s.tq, &s.tk, &s.tv,
                                   &s.tatt, c->H, c->KVH, c->causal, &err), &err);
    cr_assert(memcmp(one, s.dk, s.nkv * 4) == 0, "dk alone differs");
    memset(one, 0xff, s.nq * 4);
    CHECK_OK(op_attention_backward(be, NULL, NULL, &tkv1, NULL, &s.tg, &s.tq, &s.tk, &s.tv,
                                   &s.tatt, c->H, c->KVH, c->causal, &err), &err);
    cr_assert(memcmp(one, s.dv, s.nkv * 4) == 0, "dv alone differs");

    free(one);
    free(qd); free(kd); free(vd); free(gd); free(outd); free(attd);
    free(nq); free(nk); free(nv);
    at_free(&s);
}

/* Same inputs, same thread count: bitwise identical results, also from buffers at other
 * addresses (the row sums must not depend on alignment). */
Test(attention, deterministic) {
    struct backend *be = check_cpu(2);
    const struct at_case c = {3, 100, 4, 2, 16, 1, 1};
    struct at_bufs s1, s2;
    at_alloc(&s1, be, &c);
    at_alloc(&s2, be, &c);
    at_run(&s1, be, &c);
    at_run(&s2, be, &c);
    cr_assert(memcmp(s1.out, s2.out, s1.nq * 4) == 0, "out differs between runs");
    cr_assert(memcmp(s1.att, s2.att, s1.natt * 4) == 0, "att differs between runs");
    cr_assert(memcmp(s1.dq, s2.dq, s1.nq * 4) == 0, "dq differs between runs");
    cr_assert(memcmp(s1.dk, s2.dk, s1.nkv * 4) == 0, "dk differs between runs");
    cr_assert(memcmp(s1.dv, s2.dv, s1.nkv * 4) == 0, "dv differs between runs");
    at_run(&s1, be, &c); /* and again in the same buffers */
    cr_assert(memcmp(s1.dk, s2.dk, s1.nkv * 4) == 0, "dk differs on the third run");
    for (size_t i = 0; i < s1.nq; i++)
        cr_assert(isfinite(s1.out[i]) && isfinite(s1.dq[i]), "non-finite at %zu", i);
    at_free(&s1);
    at_free(&s2);
}

/* The causal backward skips the masked upper triangle in blocks of query rows and must give
 * the full backward's result (causal = 0 on the same causal att, which is 0 above the
 * diagonal), never reading the datt entries it leaves unwritten: those hold NaN here. T = 67,
 * 128 and 130 give two blocks, two full blocks and three; B = 4 covers every mask pattern. */
static struct at_case skip_cases[] = {
    /* B  T   H KVH D causal masked */
    {4, 67, 4, 2, 8, 1, 1},
    {4, 67, 3, 1, 8, 1, 1},
    {4, 128, 4, 2, 8, 1, 1},
    {4, 130, 3, 1, 8, 1, 1},
    {4, 130, 4, 2, 16, 1, 1},
};

ParameterizedTestParameters(attention, causal_skip) {
    return cr_make_param_array(struct at_case, skip_cases,
                               sizeof skip_cases / sizeof skip_cases[0]);
}

ParameterizedTest(struct at_case *c, attention, causal_skip) {
    enum { BLOCK = 64 }; /* CAUSAL_BLOCK of core/cpu/attention.c */
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct at_bufs s;
    at_alloc(&s, be, c);
    CHECK_OK(op_attention_forward(be, &s.tout, &s.tatt, &s.tq, &s.tk, &s.tv, &s.tmask, c->H,
                                  c->KVH, 1, &err), &err);
    /* reference: the full backward, which writes all of datt */
    CHECK_OK(op_attention_backward(be, &s.tdq, &s.tdk, &s.tdv, &s.tdatt, &s.tg, &s.tq, &s.tk,
                                   &s.tv, &s.tatt, c->H, c->KVH, 0, &err), &err);
    double *rq = malloc(s.nq * 8), *rk = malloc(s.nkv * 8), *rv = malloc(s.nkv * 8);
    check_to_double(rq, s.dq, s.nq);
    check_to_double(rk, s.dk, s.nkv);
    check_to_double(rv, s.dv, s.nkv);

    memset(s.dq, 0xff, s.nq * 4);
    memset(s.dk, 0xff, s.nkv * 4);
    memset(s.dv, 0xff, s.nkv * 4);
    memset(s.datt, 0xff, s.natt * 4);
    CHECK_OK(op_attention_backward(be, &s.tdq, &s.tdk, &s.tdv, &s.tdatt, &s.tg, &s.tq, &s.tk,
                                   &s.tv, &s.tatt, c->H, c->KVH, 1, &err), &err);
    for (size_t i = 0; i < s.nq; i++)
        cr_assert(isfinite(s.dq[i]), "dq non-finite at %zu", i);
    for (size_t i = 0; i < s.nkv; i++)
        cr_assert(isfinite(s.dk[i]) && isfinite(s.dv[i]), "dk/dv non-finite at %zu", i);
    CHECK_CLOSE("causal dq", s.dq, rq, s.nq, 1e-5, 1e-6 * check_maxabs(rq, s.nq));
    CHECK_CLOSE("causal dk", s.dk, rk, s.nkv, 1e-5, 1e-6 * check_maxabs(rk, s.nkv));
    CHECK_CLOSE("causal dv", s.dv, rv, s.nkv, 1e-5, 1e-6 * check_maxabs(rv, s.nkv));
    /* the exact zeros of the full backward (masked keys, queries that see nothing) stay */
    for (size_t i = 0; i < s.nq; i++)
        cr_assert(rq[i] != 0.0 || s.dq[i] == 0.0f, "dq not 0 at %zu", i);
    for (size_t i = 0; i < s.nkv; i++)
        cr_assert((rk[i] != 0.0 || s.dk[i] == 0.0f) && (rv[i] != 0.0 || s.dv[i] == 0.0f),
                  "dk/dv not 0 at %zu", i);
    /* the work was skipped: keys after the end of a query's block left datt untouched */
    const int T = c->T;
    for (size_t bh = 0; bh < (size_t)c->B * c->H; bh++)
        for (int t = 0; t < T; t++)
            for (int j = (t / BLOCK + 1) * BLOCK; j < T; j++)
                cr_assert(isnan(s.datt[(bh * T + t) * T + j]), "datt written at bh=%zu t=%d "
                          "j=%d", bh, t, j);
    free(rq); free(rk); free(rv);
    at_free(&s);
}

/* Causal backward on 2 threads: bitwise identical from buffers at other addresses and
 * whatever the datt scratch held (NaN, zeros, or the previous run's values). */
Test(attention, causal_backward_deterministic) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    const struct at_case cs[] = {{4, 130, 4, 2, 16, 1, 1}, {2, 67, 3, 1, 8, 1, 1}};
    for (size_t n = 0; n < sizeof cs / sizeof cs[0]; n++) {
        const struct at_case *c = &cs[n];
        struct at_bufs s1, s2;
        at_alloc(&s1, be, c);
        at_alloc(&s2, be, c);
        memset(s2.datt, 0, s2.natt * 4);
        at_run(&s1, be, c);
        at_run(&s2, be, c);
        cr_assert(memcmp(s1.dq, s2.dq, s1.nq * 4) == 0, "dq differs between runs (T=%d)", c->T);
        cr_assert(memcmp(s1.dk, s2.dk, s1.nkv * 4) == 0, "dk differs between runs (T=%d)", c->T);
        cr_assert(memcmp(s1.dv, s2.dv, s1.nkv * 4) == 0, "dv differs between runs (T=%d)", c->T);
        memset(s1.dq, 0xff, s1.nq * 4);
        memset(s1.dk, 0xff, s1.nkv * 4);
        memset(s1.dv, 0xff, s1.nkv * 4);
        CHECK_OK(op_attention_backward(be, &s1.tdq, &s1.tdk, &s1.tdv, &s1.tdatt, &s1.tg,
                                       &s1.tq, &s1.tk, &s1.tv, &s1.tatt, c->H, c->KVH, 1, &err),
                 &err);
        cr_assert(memcmp(s1.dq, s2.dq, s1.nq * 4) == 0, "dq differs on a rerun (T=%d)", c->T);
        cr_assert(memcmp(s1.dk, s2.dk, s1.nkv * 4) == 0, "dk differs on a rerun (T=%d)", c->T);
        cr_assert(memcmp(s1.dv, s2.dv, s1.nkv * 4) == 0, "dv differs on a rerun (T=%d)", c->T);
        at_free(&s1);
        at_free(&s2);
    }
}

Test(attention, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    static float buf[4096];
    static int32_t ibuf[64];
    int64_t sq[3] = {3, 7, 12}, sk_bad[3] = {3, 7, 8}, skv[3] = {3, 7, 4};
    int64_t satt[4] = {3, 3, 7, 7}, satt_bad[4] = {3, 3, 7, 6};
    int64_t sm_bad[2] = {3, 6};
    struct tensor q = check_tensor(be, buf, TENSOR_F32, "q", 3, sq);
    struct tensor out = check_tensor(be, buf, TENSOR_F32, "out", 3, sq);
    struct tensor kbad = check_tensor(be, buf, TENSOR_F32, "k", 3, sk_bad);
    struct tensor k = check_tensor(be, buf, TENSOR_F32, "k", 3, skv);
    struct tensor v = check_tensor(be, buf, TENSOR_F32, "v", 3, skv);
    struct tensor att = check_tensor(be, buf, TENSOR_F32, "att", 4, satt);
    struct tensor attbad = check_tensor(be, buf, TENSOR_F32, "att", 4, satt_bad);
    struct tensor mbad = check_tensor(be, ibuf, TENSOR_I32, "key_mask", 2, sm_bad);
    struct tensor mf = check_tensor(be, buf, TENSOR_F32, "key_mask", 2, sm_bad);

    pf_status st = op_attention_forward(be, &out, &att, &q, &kbad, &v, NULL, 3, 1, 0, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "attention_forward: k[3,7,8] does not match q[3,7,12] "
                              "(expected [3,7,4] for n_head=3, n_kv_head=1)"),
              "message: %s", err.msg);

    st = op_attention_forward(be, &out, &att, &q, &k, &v, NULL, 4, 3, 0, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "attention_forward: n_head=4 is not a multiple of n_kv_head=3"),
              "message: %s", err.msg);

    st = op_attention_forward(be, &out, &att, &q, &k, &v, NULL, 5, 1, 0, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "q[3,7,12]") && strstr(err.msg, "n_head=5"), "message: %s",
              err.msg);

    st = op_attention_forward(be, &out, &attbad, &q, &k, &v, NULL, 3, 1, 0, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "attention_forward: att[3,3,7,6]") && strstr(err.msg, "[3,3,7,7]"),
              "message: %s", err.msg);

    st = op_attention_forward(be, &out, &att, &q, &k, &v, &mbad, 3, 1, 0, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "key_mask[3,6]") && strstr(err.msg, "[3,7]"), "message: %s",
              err.msg);

    st = op_attention_forward(be, &out, &att, &q, &k, &v, &mf, 3, 1, 0, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "key_mask") && strstr(err.msg, "dtype f32, expected i32"),
              "message: %s", err.msg);

    /* backward: dk shaped like q, and a missing datt scratch */
    struct tensor dkbad = check_tensor(be, buf, TENSOR_F32, "dk", 3, sq);
    st = op_attention_backward(be, NULL, &dkbad, NULL, &att, &out, &q, &k, &v, &att, 3, 1, 0,
                               &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "attention_backward: dk[3,7,12] does not match"),
              "message: %s", err.msg);
    st = op_attention_backward(be, &out, NULL, NULL, NULL, &out, &q, &k, &v, &att, 3, 1, 0,
                               &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "attention_backward: datt is NULL"), "message: %s", err.msg);
}
