/* test_block.c - the encoder layer as a whole: forward against an fp64 reference written here,
 * and the gradients of the input and of every parameter against central finite differences
 * of that reference (GQA, key padding mask); frozen parameters receive no gradient. Then the
 * same against an independent PyTorch float64 computation (tests/data/block_ref.bin, made by
 * tools/make_block_fixture.py), which checks the semantics, not only the calculus. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/block.h"

enum { B = 2, T = 5, C = 12, H = 3, KVH = 1, F = 16, D = C / H, KV = D * KVH, NT = B * T };

struct ref {
    double *p[BP_COUNT]; /* parameters in double */
    double x[NT * C], g[NT * C], y[NT * C];
    int32_t mask[NT];
};

static void lin(double *out, const double *in, const double *w, const double *b, int n, int in_f,
                int out_f) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out_f; o++) {
            double s = b[o];
            for (int k = 0; k < in_f; k++)
                s += in[i * in_f + k] * w[o * in_f + k];
            out[i * out_f + o] = s;
        }
}

static void layernorm(double *out, const double *in, const double *w, const double *b) {
    for (int i = 0; i < NT; i++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += in[i * C + c] / C;
        for (int c = 0; c < C; c++)
            v += (in[i * C + c] - m) * (in[i * C + c] - m) / C;
        for (int c = 0; c < C; c++)
            out[i * C + c] = (in[i * C + c] - m) / sqrt(v + 1e-5) * w[c] + b[c];
    }
}

static void ref_forward(struct ref *r) {
    static double q[NT * C], k[NT * KV], v[NT * KV], a[NT * C], o[NT * C], h1[NT * C];
    static double f1[NT * F], f2[NT * C];
    double **p = r->p;
    lin(q, r->x, p[BP_WQ], p[BP_BQ], NT, C, C);
    lin(k, r->x, p[BP_WK], p[BP_BK], NT, C, KV);
    lin(v, r->x, p[BP_WV], p[BP_BV], NT, C, KV);
    check_ref_attention(a, q, k, v, r->mask, B, T, H, KVH, D, 0);
    lin(o, a, p[BP_WO], p[BP_BO], NT, C, C);
    for (int i = 0; i < NT * C; i++)
        o[i] += r->x[i];
    layernorm(h1, o, p[BP_LN1_W], p[BP_LN1_B]);
    lin(f1, h1, p[BP_W1], p[BP_B1], NT, C, F);
    for (int i = 0; i < NT * F; i++)
        f1[i] = 0.5 * f1[i] * (1.0 + erf(f1[i] / sqrt(2.0)));
    lin(f2, f1, p[BP_W2], p[BP_B2], NT, F, C);
    for (int i = 0; i < NT * C; i++)
        f2[i] += h1[i];
    layernorm(r->y, f2, p[BP_LN2_W], p[BP_LN2_B]);
}

static double ref_loss(void *ctx) {
    struct ref *r = ctx;
    ref_forward(r);
    return check_dot(r->g, r->y, NT * C);
}

static void setup(struct block *blk, struct arena *ar, struct backend *be) {
    struct pf_err err = {0};
    struct block_dims d = {.B = B, .T = T, .C = C, .H = H, .KVH = KVH, .F = F, .ln_eps = 1e-5f,
                           .act = GELU_ERF};
    arena_init(ar, "test", NULL, 0);
    CHECK_OK(block_init(blk, ar, be, &d, &err), &err);
    block_init_params(blk, 5);
    for (int i = 0; i < BP_COUNT; i++) { /* larger weights than 0.02 so gradients are not tiny */
        float *w = tensor_f32(&blk->p[i]);
        check_fill(w, (size_t)blk->p[i].numel, 100 + (uint64_t)i, -0.5f, 0.5f);
        if (i == BP_LN1_W || i == BP_LN2_W)
            for (int64_t j = 0; j < blk->p[i].numel; j++)
                w[j] += 1.0f;
    }
}

Test(block, forward_and_all_gradients_match_fp64) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct block blk;
    struct arena ar;
    setup(&blk, &ar, be);
    static struct ref r;
    float x[NT * C], g[NT * C], dx[NT * C];
    check_fill(x, NT * C, 1, -1, 1);
    check_fill(g, NT * C, 2, -1, 1);
    check_to_double(r.x, x, NT * C);
    check_to_double(r.g, g, NT * C);
    for (int i = 0; i < NT; i++)
        r.mask[i] = !(i >= T + 3); /* second sequence: last two positions are padding */
    for (int i = 0; i < BP_COUNT; i++) {
        r.p[i] = malloc((size_t)blk.p[i].numel * sizeof(double));
        check_to_double(r.p[i], tensor_f32(&blk.p[i]), (size_t)blk.p[i].numel);
    }
    int64_t s3[3] = {B, T, C}, s2[2] = {B, T};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "x", 3, s3);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dy", 3, s3);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dx", 3, s3);
    struct tensor tm = check_tensor(be, r.mask, TENSOR_I32, "mask", 2, s2);
    blk.trainable[BP_BK] = 0; /* one frozen parameter: its gradient must stay zero */
    CHECK_OK(block_forward(&blk, &tx, &tm, &err), &err);
    ref_forward(&r);
    CHECK_CLOSE("block y", tensor_f32(&blk.a[BA_Y]), r.y, NT * C, 1e-4, 1e-5);
    CHECK_OK(block_backward(&blk, &tg, &tdx, &err), &err);

    double num[F * C];
    check_numgrad(num, r.x, NT * C, ref_loss, &r, 1e-6);
    CHECK_CLOSE("block dx", dx, num, NT * C, 1e-3, 1e-5);
    for (int i = 0; i < BP_COUNT; i++) {
        size_t n = (size_t)blk.p[i].numel;
        check_numgrad(num, r.p[i], n, ref_loss, &r, 1e-6);
        const float *got = tensor_f32(&blk.g[i]);
        if (i == BP_BK) {
            for (size_t j = 0; j < n; j++)
                cr_assert_eq(got[j], 0.0f, "frozen %s received a gradient", block_param_name(i));
            continue;
        }
        double scale = check_maxabs(num, n);
        cr_assert(check_close(block_param_name(i), got, num, n, 1e-3, 1e-5 * scale),
                  "gradient of %s differs from finite differences", block_param_name(i));
    }
    for (int i = 0; i < BP_COUNT; i++)
        free(r.p[i]);
    arena_free(&ar);
}

/* ---- against PyTorch: tests/data/block_ref.bin from tools/make_block_fixture.py ---- */

struct fixture {
    int n;
    char name[40][48];
    int64_t numel[40];
    double *data[40];
};

static uint32_t read_u32(FILE *f) {
    unsigned char b[4];
    cr_assert_eq(fread(b, 1, 4, f), 4, "fixture truncated");
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void fixture_load(struct fixture *fx, const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (run the tests from the repository root)", path);
    char magic[4];
    cr_assert_eq(fread(magic, 1, 4, f), 4);
    cr_assert(memcmp(magic, "BPFX", 4) == 0, "%s: bad magic", path);
    fx->n = (int)read_u32(f);
    cr_assert(fx->n > 0 && fx->n <= 40, "%s: %d tensors", path, fx->n);
    for (int i = 0; i < fx->n; i++) {
        uint32_t len = read_u32(f);
        cr_assert(len < sizeof fx->name[i], "%s: name too long", path);
        cr_assert_eq(fread(fx->name[i], 1, len, f), len);
        fx->name[i][len] = '\0';
        uint32_t nd = read_u32(f);
        cr_assert(nd <= 4);
        int64_t n = 1;
        for (uint32_t d = 0; d < nd; d++)
            n *= read_u32(f);
        fx->numel[i] = n;
        fx->data[i] = check_alloc((size_t)n * sizeof(double));
        cr_assert_eq(fread(fx->data[i], sizeof(double), (size_t)n, f), (size_t)n,
                     "%s: %s truncated", path, fx->name[i]);
    }
    fclose(f);
}

static const double *fixture_get(const struct fixture *fx, const char *name, int64_t numel) {
    for (int i = 0; i < fx->n; i++)
        if (!strcmp(fx->name[i], name)) {
            cr_assert_eq(fx->numel[i], numel, "%s: %lld elements, expected %lld", name,
                         (long long)fx->numel[i], (long long)numel);
            return fx->data[i];
        }
    cr_assert_fail("fixture has no tensor '%s'", name);
    return NULL;
}

Test(block, matches_pytorch_reference) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct block blk;
    struct arena ar;
    setup(&blk, &ar, be);
    static struct fixture fx;
    fixture_load(&fx, "tests/data/block_ref.bin");
    for (int i = 0; i < BP_COUNT; i++) /* the fixture's weights are fp32 values stored as f64 */
        if (blk.p[i].data)
            check_to_float(tensor_f32(&blk.p[i]), fixture_get(&fx, block_param_name(i),
                                                          blk.p[i].numel),
                       (size_t)blk.p[i].numel);
    float x[NT * C], dy[NT * C], dx[NT * C];
    int32_t mask[NT];
    check_to_float(x, fixture_get(&fx, "x", NT * C), NT * C);
    check_to_float(dy, fixture_get(&fx, "dy", NT * C), NT * C);
    const double *m = fixture_get(&fx, "mask", NT);
    for (int i = 0; i < NT; i++)
        mask[i] = m[i] != 0.0;
    int64_t s3[3] = {B, T, C}, s2[2] = {B, T};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "x", 3, s3);
    struct tensor tdy = check_tensor(be, dy, TENSOR_F32, "dy", 3, s3);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dx", 3, s3);
    struct tensor tm = check_tensor(be, mask, TENSOR_I32, "mask", 2, s2);
    blk.d.ln_eps = 1e-12f; /* the fixture uses BERT's eps */
    CHECK_OK(block_forward(&blk, &tx, &tm, &err), &err);
    CHECK_OK(block_backward(&blk, &tdy, &tdx, &err), &err);
    CHECK_CLOSE("y vs torch", tensor_f32(&blk.a[BA_Y]), fixture_get(&fx, "y", NT * C), NT * C,
                1e-4, 1e-5);
    CHECK_CLOSE("dx vs torch", dx, fixture_get(&fx, "dx", NT * C), NT * C, 1e-3, 1e-5);
    char name[96];
    for (int i = 0; i < BP_COUNT; i++) {
        size_t n = (size_t)blk.p[i].numel;
        if (!blk.p[i].data) /* BERT's layer has no gate */
            continue;
        snprintf(name, sizeof name, "grad.%s", block_param_name(i));
        const double *want = fixture_get(&fx, name, (int64_t)n);
        /* the key bias gradient is exactly 0 in exact arithmetic (softmax is shift invariant):
         * an absolute floor of 1e-6 keeps fp32 rounding noise from failing it */
        double atol = fmax(1e-5 * check_maxabs(want, n), 1e-6);
        cr_assert(check_close(name, tensor_f32(&blk.g[i]), want, n, 1e-3, atol),
                  "%s differs from PyTorch", name);
    }
    for (int i = 0; i < fx.n; i++)
        free(fx.data[i]);
    arena_free(&ar);
}
