/* block.c - forward and backward of one transformer layer through core/ops.h, in the
 * post-LN (BERT), pre-LN (GPT-2) and pre-RMSNorm (LLaMA) shapes. Does not load checkpoints,
 * apply dropout or know about heads; see block.h. */
#include "model/block.h"

#include <stdio.h>
#include <string.h>

#include "core/ops.h"
#include "util/rng.h"

static const char *param_names[BP_COUNT] = {
    [BP_WQ] = "attention.self.query.weight",     [BP_BQ] = "attention.self.query.bias",
    [BP_WK] = "attention.self.key.weight",       [BP_BK] = "attention.self.key.bias",
    [BP_WV] = "attention.self.value.weight",     [BP_BV] = "attention.self.value.bias",
    [BP_WO] = "attention.output.dense.weight",   [BP_BO] = "attention.output.dense.bias",
    [BP_LN1_W] = "attention.output.LayerNorm.weight",
    [BP_LN1_B] = "attention.output.LayerNorm.bias",
    [BP_W1] = "intermediate.dense.weight",       [BP_B1] = "intermediate.dense.bias",
    [BP_W2] = "output.dense.weight",             [BP_B2] = "output.dense.bias",
    [BP_LN2_W] = "output.LayerNorm.weight",      [BP_LN2_B] = "output.LayerNorm.bias",
    [BP_WG] = "intermediate.gate.weight",        [BP_BG] = "intermediate.gate.bias",
};

const char *block_param_name(enum block_param i) {
    return (unsigned)i < BP_COUNT ? param_names[i] : "?";
}

static int head_dim(const struct block_dims *d) {
    return d->D > 0 ? d->D : d->C / d->H;
}

static int is_pre(const struct block_dims *d) {
    return d->style != BLOCK_POST_LN;
}

static int is_rms(const struct block_dims *d) {
    return d->style == BLOCK_PRE_RMS;
}

static int swiglu(const struct block_dims *d) {
    return d->ffn == FFN_SWIGLU;
}

int block_has(const struct block_dims *d, enum block_param i) {
    switch (i) {
    case BP_BQ: case BP_BK: case BP_BV: return !d->no_qkv_bias;
    case BP_BO: return !d->no_o_bias;
    case BP_B1: case BP_B2: return !d->no_ffn_bias;
    case BP_WG: return swiglu(d);
    case BP_BG: return swiglu(d) && !d->no_ffn_bias;
    case BP_LN1_B: case BP_LN2_B: return !is_rms(d);
    default: return (unsigned)i < BP_COUNT;
    }
}

/* ---- size tables ---- */

int block_param_shape(const struct block_dims *d, enum block_param i, int *ndim,
                      int64_t s[2]) {
    if (!block_has(d, i))
        return 0;
    int64_t C = d->C, F = d->F, HD = (int64_t)d->H * head_dim(d),
            KV = (int64_t)d->KVH * head_dim(d);
    int64_t out, in = C; /* torch Linear layout (out, in) */
    switch (i) {
    case BP_WQ: case BP_BQ: out = HD; break;
    case BP_WK: case BP_WV: case BP_BK: case BP_BV: out = KV; break;
    case BP_WO: out = C; in = HD; break;
    case BP_W1: case BP_B1: case BP_WG: case BP_BG: out = F; break;
    case BP_W2: out = C; in = F; break;
    default: out = C; break; /* output biases and norm gains */
    }
    int matrix = i == BP_WQ || i == BP_WK || i == BP_WV || i == BP_WO || i == BP_W1 ||
                 i == BP_W2 || i == BP_WG;
    *ndim = matrix ? 2 : 1;
    s[0] = matrix && d->w_in_out ? in : out;
    s[1] = matrix && d->w_in_out ? out : in;
    return 1;
}

/* Shape of activation i for a B x T batch; 0 when this layer shape does not use it. */
static int act_shape(const struct block_dims *d, int B, int T, int i, int *ndim,
                     int64_t s[4]) {
    int64_t C = d->C, HD = (int64_t)d->H * head_dim(d), KV = (int64_t)d->KVH * head_dim(d);
    *ndim = 3;
    s[0] = B;
    s[1] = T;
    switch (i) {
    case BA_Q: case BA_ATTN: s[2] = HD; return 1;
    case BA_K: case BA_V: s[2] = KV; return 1;
    case BA_F1: case BA_G: s[2] = d->F; return 1;
    case BA_FG: s[2] = d->F; return swiglu(d);
    case BA_ATT: *ndim = 4; s[1] = d->H; s[2] = T; s[3] = T; return 1;
    case BA_LN1_MEAN: case BA_LN2_MEAN: *ndim = 2; return !is_rms(d);
    case BA_LN1_RSTD: case BA_LN2_RSTD: *ndim = 2; return 1;
    case BA_RES2: s[2] = C; return !is_pre(d);
    case BA_N1: s[2] = C; return is_pre(d);
    default: s[2] = C; return 1;
    }
}

static int scratch_shape(const struct block_dims *d, int B, int T, int i, int *ndim,
                         int64_t s[4]) {
    static const int like[BS_COUNT] = {
        [BS_DRES2] = BA_RES2, [BS_DG] = BA_G, [BS_DF1] = BA_F1, [BS_DH1] = BA_H1,
        [BS_DRES1] = BA_RES1, [BS_DATTN] = BA_ATTN, [BS_DQ] = BA_Q, [BS_DK] = BA_K,
        [BS_DV] = BA_V, [BS_DATT] = BA_ATT, [BS_DFG] = BA_FG, [BS_DN1] = BA_N1,
        [BS_DO] = BA_O, [BS_DF2] = BA_F2};
    return act_shape(d, B, T, like[i], ndim, s);
}

static pf_status check_dims(const struct block_dims *d, int with_batch, struct pf_err *err) {
    if ((with_batch && (d->B < 1 || d->T < 1)) || d->C < 1 || d->H < 1 || d->KVH < 1 ||
        d->F < 1 || d->D < 0)
        return pf_err_set(err, PF_ERR_ARG, "block: dimensions must be positive (B=%d T=%d C=%d "
                          "H=%d KVH=%d F=%d D=%d)", d->B, d->T, d->C, d->H, d->KVH, d->F, d->D);
    if (d->D == 0 && d->C % d->H != 0)
        return pf_err_set(err, PF_ERR_ARG, "block: hidden size %d is not a multiple of %d heads",
                          d->C, d->H);
    if (d->H % d->KVH != 0)
        return pf_err_set(err, PF_ERR_ARG, "block: %d heads is not a multiple of %d kv heads",
                          d->H, d->KVH);
    if (d->rope && head_dim(d) % 2 != 0)
        return pf_err_set(err, PF_ERR_ARG, "block: RoPE needs an even head size, got %d",
                          head_dim(d));
    if (!(d->ln_eps > 0.0f))
        return pf_err_set(err, PF_ERR_ARG, "block: ln_eps must be > 0");
    if ((unsigned)d->style > BLOCK_PRE_RMS || (unsigned)d->ffn > FFN_SWIGLU)
        return pf_err_set(err, PF_ERR_ARG, "block: unknown style %d or FFN kind %d",
                          (int)d->style, (int)d->ffn);
    return PF_OK;
}

pf_status block_init_params_only(struct block *blk, struct arena *ar, struct backend *be,
                                 const struct block_dims *d, struct pf_err *err) {
    memset(blk, 0, sizeof *blk);
    pf_status st = check_dims(d, 0, err);
    if (st != PF_OK)
        return st;
    blk->d = *d;
    blk->be = be;
    int nd;
    int64_t s[2];
    for (int i = 0; i < BP_COUNT && st == PF_OK; i++) {
        if (!block_param_shape(d, i, &nd, s))
            continue;
        st = tensor_alloc(&blk->p[i], ar, be, TENSOR_F32, param_names[i], nd, s, err);
        if (st == PF_OK && !d->lazy_grads)
            st = block_alloc_grad(blk, ar, i, err);
        blk->trainable[i] = !d->lazy_grads;
    }
    return st;
}

pf_status block_alloc_grad(struct block *blk, struct arena *ar, enum block_param i,
                           struct pf_err *err) {
    if ((unsigned)i >= BP_COUNT || !blk->p[i].data)
        return pf_err_set(err, PF_ERR_ARG, "block_alloc_grad: no parameter %d", (int)i);
    if (blk->g[i].data)
        return PF_OK;
    char name[32];
    snprintf(name, sizeof name, "d%d", (int)i);
    pf_status st = tensor_alloc(&blk->g[i], ar, blk->be, TENSOR_F32, name, blk->p[i].ndim,
                                blk->p[i].shape, err);
    return st == PF_OK ? op_zero(blk->be, &blk->g[i], err) : st;
}

pf_status block_bind_shared(struct block *blk, struct arena *ar, int B, int T,
                            const struct block *donor, unsigned share, struct pf_err *err) {
    if (B < 1 || T < 1)
        return pf_err_set(err, PF_ERR_ARG, "block: batch %d x %d must be positive", B, T);
    const struct block_dims *d = &blk->d;
    if (donor && (donor->d.B != B || donor->d.T != T || donor->d.C != d->C ||
                  donor->d.F != d->F || donor->d.H != d->H || donor->d.KVH != d->KVH ||
                  donor->d.D != d->D || donor->d.style != d->style || donor->d.ffn != d->ffn))
        return pf_err_set(err, PF_ERR_ARG, "block_bind_shared: the donor layer has another "
                          "shape");
    pf_status st = PF_OK;
    int nd;
    int64_t s[4];
    char name[32];
    memset(blk->a, 0, sizeof blk->a);
    memset(blk->s, 0, sizeof blk->s);
    for (int i = 0; i < BA_COUNT && st == PF_OK; i++) {
        if (!act_shape(d, B, T, i, &nd, s))
            continue;
        if (donor && (share >> i) & 1u && donor->a[i].data) {
            blk->a[i] = donor->a[i];
            continue;
        }
        snprintf(name, sizeof name, "act%d", i);
        st = tensor_alloc(&blk->a[i], ar, blk->be, TENSOR_F32, name, nd, s, err);
    }
    for (int i = 0; i < BS_COUNT && st == PF_OK; i++) {
        if (!scratch_shape(d, B, T, i, &nd, s))
            continue;
        if (donor) {
            blk->s[i] = donor->s[i];
            continue;
        }
        snprintf(name, sizeof name, "grad%d", i);
        st = tensor_alloc(&blk->s[i], ar, blk->be, TENSOR_F32, name, nd, s, err);
    }
    blk->d.B = B;
    blk->d.T = T;
    blk->x = NULL;
    return st;
}

pf_status block_bind(struct block *blk, struct arena *ar, int B, int T, struct pf_err *err) {
    return block_bind_shared(blk, ar, B, T, NULL, 0, err);
}

pf_status block_init(struct block *blk, struct arena *ar, struct backend *be,
                     const struct block_dims *d, struct pf_err *err) {
    pf_status st = check_dims(d, 1, err);
    if (st != PF_OK) {
        memset(blk, 0, sizeof *blk);
        return st;
    }
    st = block_init_params_only(blk, ar, be, d, err);
    return st == PF_OK ? block_bind(blk, ar, d->B, d->T, err) : st;
}

void block_init_params(struct block *blk, uint64_t seed) {
    for (int i = 0; i < BP_COUNT; i++) {
        struct tensor *t = &blk->p[i];
        if (!t->data)
            continue;
        float *host = tensor_f32(t); /* CPU memory today; a device backend uploads instead */
        int is_gain = i == BP_LN1_W || i == BP_LN2_W;
        for (int64_t j = 0; j < t->numel; j++) {
            if (t->ndim == 2)
                host[j] = 0.02f * rng_normal_at(seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL,
                                                (uint64_t)j);
            else
                host[j] = is_gain ? 1.0f : 0.0f;
        }
    }
}

void block_set_rope(struct block *blk, const struct tensor *cos, const struct tensor *sin,
                    const struct tensor *pos) {
    blk->cos = cos;
    blk->sin = sin;
    blk->pos = pos;
}

pf_status block_zero_grad(struct block *blk, struct pf_err *err) {
    for (int i = 0; i < BP_COUNT; i++) {
        if (!blk->g[i].data)
            continue;
        pf_status st = op_zero(blk->be, &blk->g[i], err);
        if (st != PF_OK)
            return st;
    }
    return PF_OK;
}

/* ---- pieces shared by both orders ---- */

/* Optional parameter (absent bias) as a NULL pointer. */
static const struct tensor *opt(const struct block *blk, int i) {
    return blk->p[i].data ? &blk->p[i] : NULL;
}

/* Gradient tensor of parameter i, or NULL when absent, frozen or without a gradient tensor
 * (no weight-gradient work). */
static struct tensor *grad_of(struct block *blk, int i) {
    return blk->g[i].data && blk->trainable[i] ? &blk->g[i] : NULL;
}

/* ---- hook points (block.h) ---- */

static int hooked(const struct block *blk, enum block_point p) {
    return (blk->hooks.points >> p) & 1u;
}

static pf_status hook_fwd(struct block *blk, enum block_point p, const struct tensor *x,
                          struct tensor *y, struct pf_err *err) {
    return hooked(blk, p) ? blk->hooks.forward(blk->hooks.ctx, blk, p, x, y, err) : PF_OK;
}

/* Backward at a rewriting point, before the op's own backward: dx is zeroed first unless
 * *acc says it already holds a value; afterwards *acc is 1 (the op must accumulate). */
static pf_status hook_bwd(struct block *blk, enum block_point p, const struct tensor *x,
                          struct tensor *dy, struct tensor *dx, int *acc, struct pf_err *err) {
    if (!hooked(blk, p))
        return PF_OK;
    if (dx && !*acc) {
        pf_status st = op_zero(blk->be, dx, err);
        if (st != PF_OK)
            return st;
    }
    if (dx)
        *acc = 1;
    return blk->hooks.backward(blk->hooks.ctx, blk, p, x, dy, dx, err);
}

/* Backward at an additive point (BPT_CTX, BPT_NORM*), after the op's backward wrote dx. The
 * hook does not write dy (block.h), so a gradient the block only borrows can be passed. */
static pf_status hook_bwd_add(struct block *blk, enum block_point p, const struct tensor *x,
                              const struct tensor *dy, struct tensor *dx, struct pf_err *err) {
    if (!hooked(blk, p))
        return PF_OK;
    return blk->hooks.backward(blk->hooks.ctx, blk, p, x, (struct tensor *)dy, dx, err);
}

/* dst = src (same shape), for the private gradient copies hooks rewrite. */
static pf_status copy_into(struct block *blk, struct tensor *dst, const struct tensor *src,
                           struct pf_err *err) {
    pf_status st = op_zero(blk->be, dst, err);
    return st == PF_OK ? op_residual_backward(blk->be, dst, NULL, src, err) : st;
}

/* Whether parameter i gets a weight gradient (the linears' backward then reads its input). */
static int trains(const struct block *blk, int i) {
    return blk->g[i].data && blk->trainable[i];
}

unsigned block_transient_acts(const struct block *blk) {
    unsigned t = 1u << BA_O | 1u << BA_F2; /* sub-layer outputs: hooks keep their own copies */
    if (!trains(blk, BP_W2) && !hooked(blk, BPT_DOWN) && !hooked(blk, BPT_DOWN_IN))
        t |= 1u << BA_G;
    if (!trains(blk, BP_WO) && !hooked(blk, BPT_O))
        t |= 1u << BA_ATTN;
    if (!trains(blk, BP_W1) && !trains(blk, BP_WG) && !hooked(blk, BPT_UP) &&
        !hooked(blk, BPT_GATE) && !hooked(blk, BPT_FFN))
        t |= 1u << BA_H1;
    if (is_pre(&blk->d) && !trains(blk, BP_WQ) && !trains(blk, BP_WK) && !trains(blk, BP_WV) &&
        !hooked(blk, BPT_Q) && !hooked(blk, BPT_K) && !hooked(blk, BPT_V) &&
        !hooked(blk, BPT_ATTN))
        t |= 1u << BA_N1;
    return t;
}

static pf_status linear(struct block *blk, struct tensor *out, const struct tensor *in, int w,
                        int b, struct pf_err *err) {
    return op_matmul_forward(blk->be, out, in, &blk->p[w], opt(blk, b), 0, !blk->d.w_in_out,
                             err);
}

static pf_status linear_bwd(struct block *blk, struct tensor *din, const struct tensor *dout,
                            const struct tensor *in, int w, int b, int accumulate,
                            struct pf_err *err) {
    return op_matmul_backward(blk->be, din, grad_of(blk, w), grad_of(blk, b), dout, in,
                              &blk->p[w], 0, !blk->d.w_in_out, accumulate, err);
}

/* Norm n (1 or 2) of inp into out, caching its statistics. */
static pf_status norm(struct block *blk, int n, struct tensor *out, const struct tensor *inp,
                      struct pf_err *err) {
    struct tensor *a = blk->a;
    int w = n == 1 ? BP_LN1_W : BP_LN2_W, b = n == 1 ? BP_LN1_B : BP_LN2_B;
    int mean = n == 1 ? BA_LN1_MEAN : BA_LN2_MEAN, rstd = n == 1 ? BA_LN1_RSTD : BA_LN2_RSTD;
    pf_status st;
    if (is_rms(&blk->d))
        st = op_rmsnorm_forward(blk->be, out, &a[rstd], inp, &blk->p[w], blk->d.ln_eps, err);
    else
        st = op_layernorm_forward(blk->be, out, &a[mean], &a[rstd], inp, &blk->p[w], &blk->p[b],
                                  blk->d.ln_eps, err);
    return st == PF_OK ? hook_fwd(blk, n == 1 ? BPT_NORM1 : BPT_NORM2, inp, out, err) : st;
}

static pf_status norm_bwd(struct block *blk, int n, struct tensor *dinp,
                          const struct tensor *dout, const struct tensor *inp,
                          struct pf_err *err) {
    struct tensor *a = blk->a;
    int w = n == 1 ? BP_LN1_W : BP_LN2_W, b = n == 1 ? BP_LN1_B : BP_LN2_B;
    int mean = n == 1 ? BA_LN1_MEAN : BA_LN2_MEAN, rstd = n == 1 ? BA_LN1_RSTD : BA_LN2_RSTD;
    pf_status st;
    if (is_rms(&blk->d))
        st = op_rmsnorm_backward(blk->be, dinp, grad_of(blk, w), dout, inp, &blk->p[w],
                                 &a[rstd], err);
    else
        st = op_layernorm_backward(blk->be, dinp, grad_of(blk, w), grad_of(blk, b), dout, inp,
                                   &blk->p[w], &a[mean], &a[rstd], err);
    return st == PF_OK ? hook_bwd_add(blk, n == 1 ? BPT_NORM1 : BPT_NORM2, inp, dout, dinp, err)
                       : st;
}

/* Attention sub-layer from the normalised input h: q, k, v, RoPE, attention, output
 * projection into a[BA_O]. */
static pf_status attn_forward(struct block *blk, const struct tensor *h, struct pf_err *err) {
    struct backend *be = blk->be;
    struct tensor *a = blk->a;
    const struct block_dims *d = &blk->d;
    pf_status st = PF_OK;
    PF_STEP(st, linear(blk, &a[BA_Q], h, BP_WQ, BP_BQ, err));
    PF_STEP(st, hook_fwd(blk, BPT_Q, h, &a[BA_Q], err));
    PF_STEP(st, linear(blk, &a[BA_K], h, BP_WK, BP_BK, err));
    PF_STEP(st, hook_fwd(blk, BPT_K, h, &a[BA_K], err));
    PF_STEP(st, linear(blk, &a[BA_V], h, BP_WV, BP_BV, err));
    PF_STEP(st, hook_fwd(blk, BPT_V, h, &a[BA_V], err));
    if (d->rope) {
        if (st == PF_OK && (!blk->cos || !blk->sin || !blk->pos))
            return pf_err_set(err, PF_ERR_ARG, "block_forward: RoPE tables not set "
                              "(block_set_rope)");
        PF_STEP(st, op_rope_forward(be, &a[BA_Q], &a[BA_Q], blk->cos, blk->sin, blk->pos, d->H,
                                    err));
        PF_STEP(st, op_rope_forward(be, &a[BA_K], &a[BA_K], blk->cos, blk->sin, blk->pos,
                                    d->KVH, err));
    }
    PF_STEP(st, op_attention_forward(be, &a[BA_ATTN], &a[BA_ATT], &a[BA_Q], &a[BA_K], &a[BA_V],
                                     blk->mask, d->H, d->KVH, d->causal, err));
    PF_STEP(st, hook_fwd(blk, BPT_CTX, &a[BA_Q], &a[BA_ATTN], err));
    PF_STEP(st, linear(blk, &a[BA_O], &a[BA_ATTN], BP_WO, BP_BO, err));
    PF_STEP(st, hook_fwd(blk, BPT_O, &a[BA_ATTN], &a[BA_O], err));
    PF_STEP(st, hook_fwd(blk, BPT_ATTN, h, &a[BA_O], err));
    return st;
}

/* Backward of attn_forward from dO: writes dh (=); dh NULL skips the input gradient. dO is
 * only read: hooks that rewrite it get a private copy. */
static pf_status attn_backward(struct block *blk, const struct tensor *dO,
                               const struct tensor *h, struct tensor *dh, struct pf_err *err) {
    struct backend *be = blk->be;
    struct tensor *a = blk->a, *s = blk->s;
    const struct block_dims *d = &blk->d;
    pf_status st = PF_OK;
    int acc_h = 0, acc_att = 0;
    if (hooked(blk, BPT_ATTN) || hooked(blk, BPT_O)) {
        PF_STEP(st, copy_into(blk, &s[BS_DO], dO, err));
        dO = &s[BS_DO];
    }
    PF_STEP(st, hook_bwd(blk, BPT_ATTN, h, &s[BS_DO], dh, &acc_h, err));
    PF_STEP(st, hook_bwd(blk, BPT_O, &a[BA_ATTN], &s[BS_DO], &s[BS_DATTN], &acc_att, err));
    PF_STEP(st, linear_bwd(blk, &s[BS_DATTN], dO, &a[BA_ATTN], BP_WO, BP_BO, acc_att, err));
    PF_STEP(st, op_attention_backward(be, &s[BS_DQ], &s[BS_DK], &s[BS_DV], &s[BS_DATT],
                                      &s[BS_DATTN], &a[BA_Q], &a[BA_K], &a[BA_V], &a[BA_ATT],
                                      d->H, d->KVH, d->causal, err));
    PF_STEP(st, hook_bwd_add(blk, BPT_CTX, &a[BA_Q], &s[BS_DATTN], &s[BS_DQ], err));
    if (d->rope) {
        PF_STEP(st, op_rope_backward(be, &s[BS_DQ], &s[BS_DQ], blk->cos, blk->sin, blk->pos,
                                     d->H, err));
        PF_STEP(st, op_rope_backward(be, &s[BS_DK], &s[BS_DK], blk->cos, blk->sin, blk->pos,
                                     d->KVH, err));
    }
    /* q, k, v projections all read h: the first writes dh (unless a hook did), the others
     * add to it */
    PF_STEP(st, hook_bwd(blk, BPT_Q, h, &s[BS_DQ], dh, &acc_h, err));
    PF_STEP(st, linear_bwd(blk, dh, &s[BS_DQ], h, BP_WQ, BP_BQ, acc_h, err));
    acc_h = 1;
    PF_STEP(st, hook_bwd(blk, BPT_K, h, &s[BS_DK], dh, &acc_h, err));
    PF_STEP(st, linear_bwd(blk, dh, &s[BS_DK], h, BP_WK, BP_BK, 1, err));
    PF_STEP(st, hook_bwd(blk, BPT_V, h, &s[BS_DV], dh, &acc_h, err));
    PF_STEP(st, linear_bwd(blk, dh, &s[BS_DV], h, BP_WV, BP_BV, 1, err));
    return st;
}

/* FFN from h into a[BA_F2]. */
static pf_status ffn_forward(struct block *blk, const struct tensor *h, struct pf_err *err) {
    struct tensor *a = blk->a;
    pf_status st = PF_OK;
    PF_STEP(st, linear(blk, &a[BA_F1], h, BP_W1, BP_B1, err));
    PF_STEP(st, hook_fwd(blk, BPT_UP, h, &a[BA_F1], err));
    if (swiglu(&blk->d)) {
        PF_STEP(st, linear(blk, &a[BA_FG], h, BP_WG, BP_BG, err));
        PF_STEP(st, hook_fwd(blk, BPT_GATE, h, &a[BA_FG], err));
        PF_STEP(st, op_swiglu_forward(blk->be, &a[BA_G], &a[BA_FG], &a[BA_F1], err));
    } else {
        PF_STEP(st, op_gelu_forward(blk->be, &a[BA_G], &a[BA_F1], blk->d.act, err));
    }
    PF_STEP(st, hook_fwd(blk, BPT_DOWN_IN, NULL, &a[BA_G], err));
    PF_STEP(st, linear(blk, &a[BA_F2], &a[BA_G], BP_W2, BP_B2, err));
    PF_STEP(st, hook_fwd(blk, BPT_DOWN, &a[BA_G], &a[BA_F2], err));
    PF_STEP(st, hook_fwd(blk, BPT_FFN, h, &a[BA_F2], err));
    return st;
}

/* Backward of ffn_forward from dF2: writes dh (=). dF2 is only read (hooks that rewrite it
 * get a private copy). */
static pf_status ffn_backward(struct block *blk, const struct tensor *dF2,
                              const struct tensor *h, struct tensor *dh, struct pf_err *err) {
    struct tensor *a = blk->a, *s = blk->s;
    pf_status st = PF_OK;
    int acc_h = 0, acc_g = 0, none = 0;
    if (hooked(blk, BPT_FFN) || hooked(blk, BPT_DOWN)) {
        PF_STEP(st, copy_into(blk, &s[BS_DF2], dF2, err));
        dF2 = &s[BS_DF2];
    }
    PF_STEP(st, hook_bwd(blk, BPT_FFN, h, &s[BS_DF2], dh, &acc_h, err));
    PF_STEP(st, hook_bwd(blk, BPT_DOWN, &a[BA_G], &s[BS_DF2], &s[BS_DG], &acc_g, err));
    PF_STEP(st, linear_bwd(blk, &s[BS_DG], dF2, &a[BA_G], BP_W2, BP_B2, acc_g, err));
    PF_STEP(st, hook_bwd(blk, BPT_DOWN_IN, NULL, &s[BS_DG], NULL, &none, err));
    if (swiglu(&blk->d)) {
        PF_STEP(st, op_swiglu_backward(blk->be, &s[BS_DFG], &s[BS_DF1], &s[BS_DG], &a[BA_FG],
                                       &a[BA_F1], err));
        PF_STEP(st, hook_bwd(blk, BPT_UP, h, &s[BS_DF1], dh, &acc_h, err));
        PF_STEP(st, linear_bwd(blk, dh, &s[BS_DF1], h, BP_W1, BP_B1, acc_h, err));
        acc_h = 1;
        PF_STEP(st, hook_bwd(blk, BPT_GATE, h, &s[BS_DFG], dh, &acc_h, err));
        PF_STEP(st, linear_bwd(blk, dh, &s[BS_DFG], h, BP_WG, BP_BG, 1, err));
    } else {
        PF_STEP(st, op_gelu_backward(blk->be, &s[BS_DF1], &s[BS_DG], &a[BA_F1], blk->d.act,
                                     err));
        PF_STEP(st, hook_bwd(blk, BPT_UP, h, &s[BS_DF1], dh, &acc_h, err));
        PF_STEP(st, linear_bwd(blk, dh, &s[BS_DF1], h, BP_W1, BP_B1, acc_h, err));
    }
    return st;
}

/* ---- forward ---- */

pf_status block_forward(struct block *blk, const struct tensor *x, const struct tensor *mask,
                        struct pf_err *err) {
    struct backend *be = blk->be;
    struct tensor *a = blk->a;
    pf_status st = PF_OK;
    if (!a[BA_Y].data)
        return pf_err_set(err, PF_ERR_ARG, "block_forward: no activations bound (block_bind)");
    blk->x = x;
    blk->mask = mask;
    if (is_pre(&blk->d)) {
        PF_STEP(st, norm(blk, 1, &a[BA_N1], x, err));
        PF_STEP(st, attn_forward(blk, &a[BA_N1], err));
        PF_STEP(st, op_residual_forward(be, &a[BA_RES1], x, &a[BA_O], err));
        PF_STEP(st, norm(blk, 2, &a[BA_H1], &a[BA_RES1], err));
        PF_STEP(st, ffn_forward(blk, &a[BA_H1], err));
        PF_STEP(st, op_residual_forward(be, &a[BA_Y], &a[BA_RES1], &a[BA_F2], err));
    } else {
        PF_STEP(st, attn_forward(blk, x, err));
        PF_STEP(st, op_residual_forward(be, &a[BA_RES1], x, &a[BA_O], err));
        PF_STEP(st, norm(blk, 1, &a[BA_H1], &a[BA_RES1], err));
        PF_STEP(st, ffn_forward(blk, &a[BA_H1], err));
        PF_STEP(st, op_residual_forward(be, &a[BA_RES2], &a[BA_H1], &a[BA_F2], err));
        PF_STEP(st, norm(blk, 2, &a[BA_Y], &a[BA_RES2], err));
    }
    return st;
}

/* ---- backward ---- */

pf_status block_backward(struct block *blk, const struct tensor *dy, struct tensor *dx,
                         struct pf_err *err) {
    struct backend *be = blk->be;
    struct tensor *a = blk->a, *s = blk->s;
    const struct tensor *x = blk->x;
    pf_status st = PF_OK;
    if (!x)
        return pf_err_set(err, PF_ERR_ARG, "block_backward: no forward pass to differentiate");
    if (is_pre(&blk->d)) {
        /* y = r1 + FFN(Norm2(r1)), r1 = x + O(Norm1(x)) */
        PF_STEP(st, ffn_backward(blk, dy, &a[BA_H1], &s[BS_DH1], err));
        PF_STEP(st, norm_bwd(blk, 2, &s[BS_DRES1], &s[BS_DH1], &a[BA_RES1], err));
        PF_STEP(st, op_residual_backward(be, &s[BS_DRES1], NULL, dy, err));
        PF_STEP(st, attn_backward(blk, &s[BS_DRES1], &a[BA_N1], &s[BS_DN1], err));
        PF_STEP(st, norm_bwd(blk, 1, dx, &s[BS_DN1], x, err));
        if (dx)
            PF_STEP(st, op_residual_backward(be, dx, NULL, &s[BS_DRES1], err));
        return st;
    }
    /* y = LN2(res2), res2 = h1 + FFN(h1), h1 = LN1(res1), res1 = x + O(x) */
    PF_STEP(st, norm_bwd(blk, 2, &s[BS_DRES2], dy, &a[BA_RES2], err));
    PF_STEP(st, ffn_backward(blk, &s[BS_DRES2], &a[BA_H1], &s[BS_DH1], err));
    PF_STEP(st, op_residual_backward(be, &s[BS_DH1], NULL, &s[BS_DRES2], err));
    PF_STEP(st, norm_bwd(blk, 1, &s[BS_DRES1], &s[BS_DH1], &a[BA_RES1], err));
    PF_STEP(st, attn_backward(blk, &s[BS_DRES1], x, dx, err));
    if (dx)
        PF_STEP(st, op_residual_backward(be, dx, NULL, &s[BS_DRES1], err));
    return st;
}
