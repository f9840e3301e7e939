/* test_dropout.c - dropout with the counter-based mask: the keep rate, the exact kept values,
 * the mask equal to its definition (rng_uniform_at(seed, offset + i) >= p) element by element
 * for unaligned offsets and counter wrap-around, backward reusing the mask, offsets and seeds
 * giving new masks, p = 0 copying, thread-count independence, in-place use, central finite
 * differences, and argument errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/rng.h"

static void dropout_fwd(struct backend *be, float *out, const float *x, size_t n, float p,
                        uint64_t seed, uint64_t offset) {
    struct pf_err err = {0};
    int64_t sh[1] = {(int64_t)n};
    struct tensor tx = check_tensor(be, (void *)x, TENSOR_F32, "inp", 1, sh);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 1, sh);
    CHECK_OK(op_dropout_forward(be, &to, &tx, p, seed, offset, &err), &err);
}

static void dropout_bwd(struct backend *be, float *dx, const float *g, size_t n, float p,
                        uint64_t seed, uint64_t offset) {
    struct pf_err err = {0};
    int64_t sh[1] = {(int64_t)n};
    struct tensor tg = check_tensor(be, (void *)g, TENSOR_F32, "dout", 1, sh);
    struct tensor td = check_tensor(be, dx, TENSOR_F32, "dinp", 1, sh);
    CHECK_OK(op_dropout_backward(be, &td, &tg, p, seed, offset, &err), &err);
}

/* Keep rate within 5 sigma of 1 - p; kept values are exactly inp * (1/(1-p)) (the float
 * scale, as torch computes it), within one ulp of inp/(1-p); dropped values are 0. */
Test(dropout, keep_rate_and_values) {
    struct backend *be = check_cpu(2);
    size_t n = 100003;
    float *x = check_alloc(n * 4), *out = check_alloc(n * 4);
    check_fill(x, n, 41, 0.5f, 1.5f); /* nonzero: a zero output means dropped */
    const float ps[3] = {0.1f, 0.3f, 0.9f};
    for (int k = 0; k < 3; k++) {
        float p = ps[k], scale = 1.0f / (1.0f - p);
        dropout_fwd(be, out, x, n, p, 1234, 0);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (out[i] != 0.0f) {
                kept++;
                cr_assert_eq(out[i], x[i] * scale, "p=%g: out[%zu] = %.9g, want %.9g", p, i,
                             out[i], x[i] * scale);
                double want = (double)x[i] / (1.0 - (double)p);
                cr_assert(fabs(out[i] - want) <= 1.2e-7 * want, "p=%g: out[%zu] not x/(1-p)",
                          p, i);
            }
        }
        double mu = (double)n * (1.0 - p), sigma = sqrt((double)n * p * (1.0 - p));
        cr_assert(fabs((double)kept - mu) <= 5.0 * sigma,
                  "p=%g: kept %zu of %zu, expected %.0f +- %.0f", p, kept, n, mu, 5.0 * sigma);
    }
    free(x);
    free(out);
}

/* Element i is kept iff rng_uniform_at(seed, offset + i) >= p, for offsets of every residue
 * mod 4, lengths that are not multiples of 4 (head and tail of partial Philox blocks), the
 * threaded path, a counter that crosses 2^32 and a stream index that wraps 2^64. */
Test(dropout, mask_matches_definition) {
    struct backend *be = check_cpu(2);
    const uint64_t offsets[] = {0,
                                1,
                                2,
                                3,
                                4 * 12345 + 3,
                                (UINT64_C(1) << 34) - 10, /* counter crosses 2^32 */
                                UINT64_MAX - 5};          /* index wraps to 0 */
    const size_t lens[] = {1, 2, 3, 5, 1001, 5003};
    const uint64_t seed = 0x5eed5eed1234ULL;
    const float p = 0.4f;
    float *x = check_alloc(5003 * 4), *out = check_alloc(5003 * 4);
    check_fill(x, 5003, 42, 0.5f, 1.5f);
    for (size_t a = 0; a < sizeof offsets / sizeof offsets[0]; a++) {
        for (size_t b = 0; b < sizeof lens / sizeof lens[0]; b++) {
            size_t n = lens[b];
            dropout_fwd(be, out, x, n, p, seed, offsets[a]);
            for (size_t i = 0; i < n; i++) {
                int keep = rng_uniform_at(seed, offsets[a] + i) >= p;
                cr_assert_eq(out[i] != 0.0f, keep, "offset %llu n %zu: element %zu %s",
                             (unsigned long long)offsets[a], n, i,
                             keep ? "dropped, should be kept" : "kept, should be dropped");
            }
        }
    }
    free(x);
    free(out);
}

/* Backward recomputes the same mask and scale; dinp is written (starts as NaN). */
Test(dropout, backward_uses_the_same_mask) {
    struct backend *be = check_cpu(2);
    size_t n = 30001;
    float p = 0.25f, scale = 1.0f / (1.0f - p);
    float *x = check_alloc(n * 4), *out = check_alloc(n * 4);
    float *g = check_alloc(n * 4), *dx = check_alloc(n * 4);
    check_fill(x, n, 43, 0.5f, 1.5f);
    check_fill(g, n, 44, -1.0f, 1.0f);
    dropout_fwd(be, out, x, n, p, 77, 1003);
    memset(dx, 0xff, n * 4);
    dropout_bwd(be, dx, g, n, p, 77, 1003);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(dx[i], out[i] != 0.0f ? g[i] * scale : g[i] * 0.0f, "dinp[%zu]", i);
    free(x);
    free(out);
    free(g);
    free(dx);
}

/* The mask is a stream: shifting the offset by k shifts the mask by k elements; a new seed
 * or a distant offset gives an unrelated mask (disagreement near 2p(1-p)). */
Test(dropout, offsets_and_seeds_select_masks) {
    struct backend *be = check_cpu(2);
    size_t n = 100000, k = 37;
    float p = 0.5f;
    float *x = check_alloc(n * 4), *a = check_alloc(n * 4), *b = check_alloc(n * 4);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f;
    dropout_fwd(be, a, x, n, p, 9, 0);
    dropout_fwd(be, b, x, n - k, p, 9, k);
    for (size_t i = 0; i < n - k; i++)
        cr_assert_eq(b[i], a[i + k], "offset shift: element %zu", i);
    dropout_fwd(be, b, x, n, p, 9, n); /* the next n elements of the stream */
    size_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += a[i] != b[i];
    cr_assert(diff > 0.48 * n && diff < 0.52 * n, "offset n: %zu of %zu differ", diff, n);
    dropout_fwd(be, b, x, n, p, 10, 0);
    diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += a[i] != b[i];
    cr_assert(diff > 0.48 * n && diff < 0.52 * n, "seed 10: %zu of %zu differ", diff, n);
    free(x);
    free(a);
    free(b);
}

Test(dropout, same_with_one_and_two_threads) {
    size_t n = 100003;
    float *x = check_alloc(n * 4), *a = check_alloc(n * 4), *b = check_alloc(n * 4);
    check_fill(x, n, 45, -1.0f, 1.0f);
    dropout_fwd(check_cpu(1), a, x, n, 0.2f, 5, 6);
    dropout_fwd(check_cpu(2), b, x, n, 0.2f, 5, 6);
    cr_assert(memcmp(a, b, n * 4) == 0, "forward differs between 1 and 2 threads");
    dropout_bwd(check_cpu(1), a, x, n, 0.2f, 5, 6);
    dropout_bwd(check_cpu(2), b, x, n, 0.2f, 5, 6);
    cr_assert(memcmp(a, b, n * 4) == 0, "backward differs between 1 and 2 threads");
    free(x);
    free(a);
    free(b);
}

/* p = 0 is a copy (bitwise, also in place); p > 0 in place equals out of place. */
Test(dropout, zero_rate_copies_and_in_place) {
    struct backend *be = check_cpu(2);
    size_t n = 20001;
    float *x = check_alloc(n * 4), *a = check_alloc(n * 4), *b = check_alloc(n * 4);
    check_fill(x, n, 46, -3.0f, 3.0f);
    dropout_fwd(be, a, x, n, 0.0f, 1, 2);
    cr_assert(memcmp(a, x, n * 4) == 0, "p = 0 must copy");
    dropout_bwd(be, a, x, n, 0.0f, 1, 2);
    cr_assert(memcmp(a, x, n * 4) == 0, "p = 0 backward must copy");
    dropout_fwd(be, a, a, n, 0.0f, 1, 2);
    cr_assert(memcmp(a, x, n * 4) == 0, "p = 0 in place must keep the data");
    dropout_fwd(be, b, x, n, 0.6f, 3, 5);
    memcpy(a, x, n * 4);
    dropout_fwd(be, a, a, n, 0.6f, 3, 5);
    cr_assert(memcmp(a, b, n * 4) == 0, "in place differs from out of place");
    free(x);
    free(a);
    free(b);
}

/* ---- central finite differences of the fp64 definition ---- */

struct do_ctx {
    size_t n;
    float p;
    uint64_t seed, offset;
    double *x, *g;
};

static double do_loss(void *ctx) {
    struct do_ctx *k = ctx;
    double s = 0.0;
    for (size_t i = 0; i < k->n; i++)
        if (rng_uniform_at(k->seed, k->offset + i) >= k->p)
            s += k->g[i] * k->x[i] / (1.0 - (double)k->p);
    return s;
}

Test(dropout, grad) {
    struct backend *be = check_cpu(2);
    size_t n = 203;
    float x[203], g[203], out[203], dx[203];
    double xd[203], gd[203], nd[203], outd[203];
    struct do_ctx k = {n, 0.35f, 99, 4 * 7 + 1, xd, gd};
    check_fill(x, n, 47, -2.0f, 2.0f);
    check_fill(g, n, 48, -1.0f, 1.0f);
    check_to_double(xd, x, n);
    check_to_double(gd, g, n);
    dropout_fwd(be, out, x, n, k.p, k.seed, k.offset);
    for (size_t i = 0; i < n; i++)
        outd[i] = rng_uniform_at(k.seed, k.offset + i) >= k.p ? xd[i] / (1.0 - k.p) : 0.0;
    CHECK_CLOSE("dropout out", out, outd, n, 2e-7, 0.0);
    memset(dx, 0xff, sizeof dx);
    dropout_bwd(be, dx, g, n, k.p, k.seed, k.offset);
    check_numgrad(nd, xd, n, do_loss, &k, 1e-6);
    CHECK_CLOSE("dropout dinp", dx, nd, n, 1e-6, 1e-8);
}

Test(dropout, argument_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[16] = {0};
    int64_t s44[2] = {4, 4}, s15[1] = {15};
    struct tensor x = check_tensor(be, buf, TENSOR_F32, "inp", 2, s44);
    struct tensor o = check_tensor(be, buf, TENSOR_F32, "out", 2, s44);
    struct tensor o15 = check_tensor(be, buf, TENSOR_F32, "dinp", 1, s15);

    pf_status st = op_dropout_forward(be, &o, &x, 1.0f, 0, 0, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "dropout_forward: dropout probability p = 1 must be in [0, 1)"),
              "message: %s", err.msg);
    st = op_dropout_forward(be, &o, &x, -0.1f, 0, 0, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "p = -0.1"), "message: %s", err.msg);
    st = op_dropout_backward(be, &o, &x, NAN, 0, 0, &err);
    cr_assert_eq(st, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "dropout_backward: dropout probability p = nan"), "message: %s",
              err.msg);
    st = op_dropout_backward(be, &o15, &x, 0.1f, 0, 0, &err);
    cr_assert_eq(st, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "dropout_backward: dinp[15] has 15 elements, expected 16 "
                              "to match inp[4,4]"), "message: %s", err.msg);
}
