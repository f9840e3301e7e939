/* test_block_variants.c - the decoder layer shapes of model/block.c against an fp64 reference
 * written here, with the gradients of the input and of every parameter checked by central
 * finite differences of that reference (the post-LN BERT shape is tests/test_block.c):
 *   gpt2:  pre-LN, causal, fused-layout Conv1D weights (in, out), tanh GELU, all biases;
 *   llama: pre-RMSNorm, RoPE (theta 5e5), grouped-query attention (4 heads, 2 kv heads),
 *          SwiGLU, causal, no biases;
 *   qwen2: as llama with q/k/v biases only.
 * Row 1 of the batch is padded in its last two positions (key mask); padded query rows are
 * part of the loss, as in HF. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/block.h"

enum { B = 2, T = 5, C = 16, H = 4, F = 12, NT = B * T };
#define THETA 500000.0

struct variant {
    const char *name;
    struct block_dims d;
};

static const struct variant variants[] = {
    {"gpt2", {.B = B, .T = T, .C = C, .H = H, .KVH = H, .F = F, .ln_eps = 1e-5f,
              .act = GELU_TANH, .style = BLOCK_PRE_LN, .causal = 1, .w_in_out = 1}},
    {"llama", {.B = B, .T = T, .C = C, .H = H, .KVH = 2, .F = F, .ln_eps = 1e-6f,
               .style = BLOCK_PRE_RMS, .ffn = FFN_SWIGLU, .causal = 1, .rope = 1,
               .no_qkv_bias = 1, .no_o_bias = 1, .no_ffn_bias = 1}},
    {"qwen2", {.B = B, .T = T, .C = C, .H = H, .KVH = 2, .F = F, .ln_eps = 1e-6f,
               .style = BLOCK_PRE_RMS, .ffn = FFN_SWIGLU, .causal = 1, .rope = 1,
               .no_o_bias = 1, .no_ffn_bias = 1}},
};

struct ref {
    const struct block_dims *d;
    double *p[BP_COUNT]; /* parameters in double (NULL when absent) */
    int64_t pshape[BP_COUNT][2];
    double x[NT * C], g[NT * C], y[NT * C];
    int32_t mask[NT];
};

/* out (n, out_f) = in (n, in_f) W + b; W stored (out, in) or, with w_in_out, (in, out). */
static void lin(const struct ref *r, double *out, const double *in, int w, int b, int n,
                int in_f, int out_f) {
    const double *W = r->p[w], *bias = r->p[b];
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out_f; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int k = 0; k < in_f; k++)
                s += in[i * in_f + k] * (r->d->w_in_out ? W[k * out_f + o] : W[o * in_f + k]);
            out[i * out_f + o] = s;
        }
}

static void norm(const struct ref *r, double *out, const double *in, int w, int b) {
    int rms = r->d->style == BLOCK_PRE_RMS;
    for (int i = 0; i < NT; i++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += in[i * C + c] / C;
        for (int c = 0; c < C; c++) {
            double xc = rms ? in[i * C + c] : in[i * C + c] - m;
            v += xc * xc / C;
        }
        for (int c = 0; c < C; c++) {
            double xc = rms ? in[i * C + c] : in[i * C + c] - m;
            out[i * C + c] = xc / sqrt(v + r->d->ln_eps) * r->p[w][c] + (rms ? 0 : r->p[b][c]);
        }
    }
}

/* HF rotate_half RoPE on (NT, heads * D) in place, position = t. */
static void rope(double *x, int heads, int D) {
    for (int n = 0; n < NT; n++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < D / 2; i++) {
                double ang = (n % T) * pow(THETA, -2.0 * i / D);
                double *a = x + n * heads * D + h * D;
                double x1 = a[i], x2 = a[i + D / 2];
                a[i] = x1 * cos(ang) - x2 * sin(ang);
                a[i + D / 2] = x2 * cos(ang) + x1 * sin(ang);
            }
}

static double gelu_tanh(double x) {
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}

static void ref_forward(struct ref *r) {
    static double n1[NT * C], q[NT * C], k[NT * C], v[NT * C], a[NT * C], r1[NT * C];
    static double h1[NT * C], f1[NT * F], fg[NT * F], f2[NT * C];
    const struct block_dims *d = r->d;
    int KV = d->KVH * (C / H);
    norm(r, n1, r->x, BP_LN1_W, BP_LN1_B);
    lin(r, q, n1, BP_WQ, BP_BQ, NT, C, C);
    lin(r, k, n1, BP_WK, BP_BK, NT, C, KV);
    lin(r, v, n1, BP_WV, BP_BV, NT, C, KV);
    if (d->rope) {
        rope(q, H, C / H);
        rope(k, d->KVH, C / H);
    }
    check_ref_attention(a, q, k, v, r->mask, B, T, H, d->KVH, C / H, 1);
    lin(r, r1, a, BP_WO, BP_BO, NT, C, C);
    for (int i = 0; i < NT * C; i++)
        r1[i] += r->x[i];
    norm(r, h1, r1, BP_LN2_W, BP_LN2_B);
    lin(r, f1, h1, BP_W1, BP_B1, NT, C, F);
    if (d->ffn == FFN_SWIGLU) {
        lin(r, fg, h1, BP_WG, BP_BG, NT, C, F);
        for (int i = 0; i < NT * F; i++)
            f1[i] *= fg[i] / (1.0 + exp(-fg[i]));
    } else {
        for (int i = 0; i < NT * F; i++)
            f1[i] = gelu_tanh(f1[i]);
    }
    lin(r, f2, f1, BP_W2, BP_B2, NT, F, C);
    for (int i = 0; i < NT * C; i++)
        r->y[i] = r1[i] + f2[i];
}

static double ref_loss(void *ctx) {
    struct ref *r = ctx;
    ref_forward(r);
    return check_dot(r->g, r->y, NT * C);
}

static void run_variant(const struct variant *var) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    struct arena ar;
    arena_init(&ar, "test", NULL, 0);
    struct block blk;
    CHECK_OK(block_init(&blk, &ar, be, &var->d, &err), &err);
    static struct ref r;
    memset(&r, 0, sizeof r);
    r.d = &var->d;
    for (int i = 0; i < BP_COUNT; i++) {
        if (!blk.p[i].data)
            continue;
        size_t n = (size_t)blk.p[i].numel;
        float *w = tensor_f32(&blk.p[i]);
        check_fill(w, n, 300 + (uint64_t)i, -0.5f, 0.5f);
        if (i == BP_LN1_W || i == BP_LN2_W)
            for (size_t j = 0; j < n; j++)
                w[j] += 1.0f;
        r.p[i] = check_alloc(n * sizeof(double));
        check_to_double(r.p[i], w, n);
    }
    float x[NT * C], g[NT * C], dx[NT * C];
    check_fill(x, NT * C, 1, -1, 1);
    check_fill(g, NT * C, 2, -1, 1);
    check_to_double(r.x, x, NT * C);
    check_to_double(r.g, g, NT * C);
    int32_t pos[NT];
    for (int i = 0; i < NT; i++) {
        r.mask[i] = !(i >= T + 3); /* row 1: last two positions are padding */
        pos[i] = i % T;
    }
    int64_t s3[3] = {B, T, C}, s2[2] = {B, T}, sc[2] = {T, C / H / 2};
    struct tensor tx = check_tensor(be, x, TENSOR_F32, "x", 3, s3);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dy", 3, s3);
    struct tensor tdx = check_tensor(be, dx, TENSOR_F32, "dx", 3, s3);
    struct tensor tm = check_tensor(be, r.mask, TENSOR_I32, "mask", 2, s2);
    struct tensor tpos = check_tensor(be, pos, TENSOR_I32, "pos", 2, s2), tcos, tsin;
    CHECK_OK(tensor_alloc(&tcos, &ar, be, TENSOR_F32, "cos", 2, sc, &err), &err);
    CHECK_OK(tensor_alloc(&tsin, &ar, be, TENSOR_F32, "sin", 2, sc, &err), &err);
    CHECK_OK(op_rope_tables(be, &tcos, &tsin, (float)THETA, &err), &err);
    block_set_rope(&blk, &tcos, &tsin, &tpos);
    CHECK_OK(block_forward(&blk, &tx, &tm, &err), &err);
    ref_forward(&r);
    char what[64];
    snprintf(what, sizeof what, "%s y", var->name);
    CHECK_CLOSE(what, tensor_f32(&blk.a[BA_Y]), r.y, NT * C, 1e-4, 1e-5);
    CHECK_OK(block_backward(&blk, &tg, &tdx, &err), &err);
    static double num[C * C * 4];
    check_numgrad(num, r.x, NT * C, ref_loss, &r, 1e-6);
    snprintf(what, sizeof what, "%s dx", var->name);
    CHECK_CLOSE(what, dx, num, NT * C, 1e-3, 1e-5);
    int checked = 0;
    for (int i = 0; i < BP_COUNT; i++) {
        if (!r.p[i])
            continue;
        size_t n = (size_t)blk.p[i].numel;
        check_numgrad(num, r.p[i], n, ref_loss, &r, 1e-6);
        snprintf(what, sizeof what, "%s d%s", var->name, block_param_name(i));
        /* the key bias gradient is exactly 0 in exact arithmetic (softmax is shift invariant):
         * an absolute floor of 2e-6 keeps fp32 rounding noise (~7e-7) from failing it */
        cr_assert(check_close(what, tensor_f32(&blk.g[i]), num, n, 1e-3,
                              fmax(1e-5 * check_maxabs(num, n), 2e-6)),
                  "%s: gradient differs from finite differences", what);
        checked++;
    }
    for (int i = 0; i < BP_COUNT; i++)
        free(r.p[i]); /* after the loop: every finite difference reads all parameters */
    cr_assert(checked >= 9, "%s: only %d parameters", var->name, checked);
    arena_free(&ar);
}

Test(block_variants, gpt2_pre_ln_conv1d_causal) { run_variant(&variants[0]); }
Test(block_variants, llama_rmsnorm_rope_gqa_swiglu) { run_variant(&variants[1]); }
Test(block_variants, qwen2_qkv_biases) { run_variant(&variants[2]); }
