/* test_peft.c - every PEFT module kind (src/peft/) against an fp64 reference written here:
 * the forward output, and the gradients of the point's input x, of the hooked output y0 (what
 * the block receives back in dy), of every parameter, of the gate and of the rank mask,
 * checked by central finite differences of L = sum(w . y) in double precision.
 * Parameters are drawn non-zero (a LoRA B of zeros would hide half the gradient), the gate is
 * 0.7 and the rank mask is (1, 0.6, 0) so that partial and switched-off ranks are covered. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "peft/peft.h"
#include "peft/peft_internal.h"

enum { B = 2, T = 3, N = B * T, R = 3 };

struct mcase {
    char name[24];
    enum model_family fam;
    enum cfg_kind kind;
    enum cfg_target target;
    int r_max;
    float alpha, dropout;
    int width;
};

static const struct mcase cases[] = {
    {"lora_q_bert", FAM_BERT, CFG_KIND_LORA, CFG_T_Q, R, 4.0f, 0, 0},
    {"lora_down_bert", FAM_BERT, CFG_KIND_LORA, CFG_T_FFN_DOWN, R, 0.0f, 0, 0},
    {"lora_gate_llama", FAM_LLAMA, CFG_KIND_LORA, CFG_T_FFN_GATE, R, 2.0f, 0, 0},
    {"lora_k_gqa", FAM_LLAMA, CFG_KIND_LORA, CFG_T_K, R, 0.0f, 0, 0},
    {"lora_v_dropout", FAM_BERT, CFG_KIND_LORA, CFG_T_V, R, 8.0f, 0.3f, 0},
    {"lra_attn", FAM_BERT, CFG_KIND_LRA, CFG_T_ATTN, R, 0, 0, 5},
    {"lra_ffn_llama", FAM_LLAMA, CFG_KIND_LRA, CFG_T_FFN, R, 0, 0, 4},
    {"serial_ffn", FAM_BERT, CFG_KIND_SERIAL_ADAPTER, CFG_T_FFN, R, 0, 0, 0},
    {"serial_attn", FAM_GPT2, CFG_KIND_SERIAL_ADAPTER, CFG_T_ATTN, R, 0, 0, 0},
    {"parallel_ffn", FAM_BERT, CFG_KIND_PARALLEL_ADAPTER, CFG_T_FFN, R, 0, 0, 0},
    {"parallel_attn", FAM_LLAMA, CFG_KIND_PARALLEL_ADAPTER, CFG_T_ATTN, R, 0, 0, 0},
    {"bitfit_v", FAM_BERT, CFG_KIND_BITFIT, CFG_T_V, 0, 0, 0, 0},
    {"bitfit_attn_ln", FAM_BERT, CFG_KIND_BITFIT, CFG_T_ATTN_LN, 0, 0, 0, 0},
    {"ln_layernorm", FAM_BERT, CFG_KIND_LN, CFG_T_FFN_LN, 0, 0, 0, 0},
    {"ln_rmsnorm", FAM_LLAMA, CFG_KIND_LN, CFG_T_ATTN_LN, 0, 0, 0, 0},
    {"bitfit_final_ln", FAM_BERT, CFG_KIND_BITFIT, CFG_T_FINAL_LN, 0, 0, 0, 0},
    {"ln_final_ln", FAM_BERT, CFG_KIND_LN, CFG_T_FINAL_LN, 0, 0, 0, 0},
    {"ln_final_rms", FAM_LLAMA, CFG_KIND_LN, CFG_T_FINAL_LN, 0, 0, 0, 0},
    {"ia3_k", FAM_BERT, CFG_KIND_IA3, CFG_T_K, 0, 0, 0, 0},
    {"ia3_ffn", FAM_GPT2, CFG_KIND_IA3, CFG_T_FFN_UP, 0, 0, 0, 0},
    {"prefix_bert", FAM_BERT, CFG_KIND_PREFIX, CFG_T_ATTN, R, 0, 0, 5},
    {"prefix_gqa", FAM_LLAMA, CFG_KIND_PREFIX, CFG_T_ATTN, R, 0, 0, 4},
};

/* ---- the fp64 reference ---- */

struct ref {
    const struct mcase *c;
    const struct model *m;
    int in, out, npar;
    double *x, *y0, *w, *par[PEFT_MAX_T], gate, mask[PEFT_MAX_RANK], scale;
    double *y; /* output */
    double *drop; /* LoRA dropout: 0 or 1/(1-p) per input element (NULL: none) */
};

static double gelu_tanh(double v) {
    return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

/* out[n, o] = sum_i in[n, i] W[o, i] (+ b[o]) for torch-layout W (o, i) */
static void lin(double *out, const double *in, const double *W, const double *b, int n, int ni,
                int no) {
    for (int r = 0; r < n; r++)
        for (int o = 0; o < no; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < ni; i++)
                s += in[r * ni + i] * W[o * ni + i];
            out[r * no + o] = s;
        }
}

static void ref_forward(struct ref *r) {
    const struct mcase *c = r->c;
    const struct block_dims *d = &r->m->layers[0].d;
    int C = d->C, rr = c->r_max, w = c->width, Dh = d->D > 0 ? d->D : C / d->H;
    double g = r->gate, *y = r->y;
    for (int i = 0; i < N * r->out; i++)
        y[i] = r->y0[i];
    switch (c->kind) {
    case CFG_KIND_LORA: {
        double u[N * R], xd[N * 64];
        for (int i = 0; i < N * r->in; i++)
            xd[i] = r->drop ? r->x[i] * r->drop[i] : r->x[i];
        lin(u, xd, r->par[0], NULL, N, r->in, rr);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < r->out; o++)
                for (int j = 0; j < rr; j++)
                    y[n * r->out + o] += g * r->scale * r->mask[j] * u[n * rr + j] *
                                         r->par[1][o * rr + j];
        break;
    }
    case CFG_KIND_LRA: {
        double t1[N * R], t2[N * 8], u1[N * R], o[N * 8 * 4];
        lin(t1, r->y0, r->par[0], NULL, N, C, rr);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < rr; j++)
                t1[n * rr + j] *= r->mask[j];
        lin(t2, t1, r->par[1], r->par[2], N, rr, w);
        for (int i = 0; i < N * w; i++)
            t2[i] = gelu_tanh(t2[i]);
        lin(u1, t2, r->par[3], NULL, N, w, rr);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < rr; j++)
                u1[n * rr + j] *= r->mask[j];
        lin(o, u1, r->par[4], r->par[5], N, rr, C);
        for (int i = 0; i < N * C; i++)
            y[i] += g * o[i];
        break;
    }
    case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER: {
        double h[N * R], o[N * 8];
        const double *z = c->kind == CFG_KIND_SERIAL_ADAPTER ? r->y0 : r->x;
        lin(h, z, r->par[0], r->par[1], N, C, rr);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < rr; j++)
                h[n * rr + j] = gelu_tanh(h[n * rr + j] * r->mask[j]);
        lin(o, h, r->par[2], r->par[3], N, rr, C);
        for (int i = 0; i < N * C; i++)
            y[i] += g * o[i];
        break;
    }
    case CFG_KIND_BITFIT:
        for (int n = 0; n < N; n++)
            for (int o = 0; o < r->out; o++)
                y[n * r->out + o] += g * r->par[0][o];
        break;
    case CFG_KIND_IA3:
        for (int n = 0; n < N; n++)
            for (int o = 0; o < r->out; o++)
                y[n * r->out + o] *= 1.0 + g * r->par[0][o];
        break;
    case CFG_KIND_LN: {
        int rms = d->style == BLOCK_PRE_RMS;
        for (int n = 0; n < N; n++) {
            double mean = 0, var = 0;
            for (int k = 0; k < C; k++)
                mean += rms ? 0.0 : r->x[n * C + k] / C;
            for (int k = 0; k < C; k++)
                var += (r->x[n * C + k] - mean) * (r->x[n * C + k] - mean) / C;
            for (int k = 0; k < C; k++)
                y[n * C + k] += g * r->par[0][k] * (r->x[n * C + k] - mean) /
                                sqrt(var + d->ln_eps);
        }
        break;
    }
    case CFG_KIND_PREFIX: {
        int H = d->H, KVH = d->KVH, KV = KVH * Dh, HD = H * Dh;
        double hh[R * 8], kv[R * 2 * 8];
        lin(hh, r->par[0], r->par[1], r->par[2], rr, C, w);
        for (int i = 0; i < rr * w; i++)
            hh[i] = tanh(hh[i]);
        lin(kv, hh, r->par[3], r->par[4], rr, w, 2 * KV);
        double lam = r->par[5][0];
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++) {
                int kh = h / (H / KVH);
                double e[R], Z = 0;
                for (int l = 0; l < rr; l++) {
                    double s = 0;
                    for (int k = 0; k < Dh; k++)
                        s += r->x[n * HD + h * Dh + k] * kv[l * 2 * KV + kh * Dh + k];
                    e[l] = exp(s / sqrt((double)Dh));
                    Z += r->mask[l] * e[l];
                }
                for (int k = 0; k < Dh; k++) {
                    double o = 0;
                    for (int l = 0; l < rr; l++)
                        o += r->mask[l] * e[l] / Z * kv[l * 2 * KV + KV + kh * Dh + k];
                    y[n * HD + h * Dh + k] += g * lam * o;
                }
            }
        break;
    }
    default:
        cr_assert_fail("no reference for kind %d", (int)c->kind);
    }
}

static double ref_loss(void *ctx) {
    struct ref *r = ctx;
    ref_forward(r);
    double s = 0;
    for (int i = 0; i < N * r->out; i++)
        s += r->w[i] * r->y[i];
    return s;
}

ParameterizedTestParameters(peft, module_gradients) {
    return cr_make_param_array(struct mcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(const struct mcase *c, peft, module_gradients) {
    struct model m;
    struct peft p;
    struct pf_err err = {0};
    check_tiny_model(&m, c->fam, 1);
    cr_assert_eq(peft_init(&p, &m, 11, &err), PF_OK, "%s", err.msg);
    int final = c->target == CFG_T_FINAL_LN;
    struct peft_spec s = {.kind = c->kind, .target = c->target, .layer = final ? -1 : 0,
                          .r_max = c->r_max,
                          .rank = c->r_max, .alpha = c->alpha, .dropout = c->dropout,
                          .width = c->width};
    int idx;
    cr_assert_eq(peft_add(&p, &s, 5, &idx, &err), PF_OK, "%s: %s", c->name, err.msg);
    struct peft_module *md = &p.mod[idx];
    cr_assert_eq(peft_bind(&p, B, T, &err), PF_OK, "%s", err.msg);
    peft_set_training(&p, c->dropout > 0); /* dropout draws a mask only while training */
    peft_next_step(&p);
    md->gate = 0.7f;
    if (c->r_max) {
        float mk[R] = {1.0f, 0.6f, 0.0f};
        cr_assert_eq(peft_set_mask(&p, idx, mk, &err), PF_OK);
    }
    /* non-zero parameters of moderate size */
    for (int i = 0; i < md->n_t; i++)
        check_fill(tensor_f32(&md->t[i]), (size_t)md->t[i].numel, 100 + (uint64_t)i, -0.6f,
                   0.6f);
    if (c->kind == CFG_KIND_PREFIX)
        tensor_f32(&md->t[5])[0] = 0.8f; /* lambda */

    struct ref r = {.c = c, .m = &m, .in = md->in, .out = md->out, .gate = md->gate};
    r.scale = c->alpha > 0 ? c->alpha / c->r_max : 1.0;
    int has_x = md->point != BPT_DOWN_IN;
    float *x = check_alloc(N * (size_t)r.in * 4), *y = check_alloc(N * (size_t)r.out * 4),
          *dy = check_alloc(N * (size_t)r.out * 4), *dx = check_alloc(N * (size_t)r.in * 4);
    check_fill(x, N * (size_t)r.in, 1, -1.5f, 1.5f);
    check_fill(y, N * (size_t)r.out, 2, -1.5f, 1.5f);
    r.x = check_alloc(N * (size_t)r.in * 8);
    r.y0 = check_alloc(N * (size_t)r.out * 8);
    r.w = check_alloc(N * (size_t)r.out * 8);
    r.y = check_alloc(N * (size_t)r.out * 8);
    check_to_double(r.x, x, N * (size_t)r.in);
    check_to_double(r.y0, y, N * (size_t)r.out);
    check_fill(dy, N * (size_t)r.out, 3, -1.0f, 1.0f);
    check_to_double(r.w, dy, N * (size_t)r.out);
    memset(dx, 0, N * (size_t)r.in * 4);
    for (int i = 0; i < md->n_t; i++) {
        r.par[i] = check_alloc((size_t)md->t[i].numel * 8);
        check_to_double(r.par[i], tensor_f32(&md->t[i]), (size_t)md->t[i].numel);
    }
    r.npar = md->n_t;
    for (int j = 0; j < c->r_max; j++)
        r.mask[j] = md->mask[j];

    /* forward */
    int64_t sx[2] = {N, r.in}, sy[2] = {N, r.out};
    struct tensor tx = check_tensor(m.be, x, TENSOR_F32, "x", 2, sx),
                  ty = check_tensor(m.be, y, TENSOR_F32, "y", 2, sy),
                  tdy = check_tensor(m.be, dy, TENSOR_F32, "dy", 2, sy),
                  tdx = check_tensor(m.be, dx, TENSOR_F32, "dx", 2, sx);
    struct block *blk = &m.layers[0], *vblk = final ? NULL : blk; /* NULL: the final norm */
    pf_status st;
    if (c->kind == CFG_KIND_LORA)
        st = peft_lora_forward(&p, md, &tx, &ty, &err);
    else if (c->kind == CFG_KIND_PREFIX)
        st = peft_prefix_forward(&p, md, blk, &tx, &ty, &err);
    else if (c->kind == CFG_KIND_BITFIT || c->kind == CFG_KIND_LN || c->kind == CFG_KIND_IA3)
        st = peft_vector_forward(&p, md, vblk, has_x ? &tx : NULL, &ty, &err);
    else
        st = peft_adapter_forward(&p, md, &tx, &ty, &err);
    cr_assert_eq(st, PF_OK, "%s forward: %s", c->name, err.msg);
    if (c->dropout > 0) { /* the mask the module drew: x_d = x * {0, 1/(1-p)} */
        r.drop = check_alloc(N * (size_t)r.in * 8);
        const float *xd = tensor_f32(&md->a[LA_XD]);
        int zeros = 0;
        for (int i = 0; i < N * r.in; i++) {
            r.drop[i] = xd[i] != 0.0f ? 1.0 / (1.0 - c->dropout) : 0.0;
            zeros += xd[i] == 0.0f;
        }
        cr_assert(zeros > 0 && zeros < N * r.in, "dropout %.1f dropped %d of %d", c->dropout,
                  zeros, N * r.in);
    }
    ref_forward(&r);
    CHECK_CLOSE("forward", y, r.y, N * (size_t)r.out, 1e-4, 1e-5);

    /* backward */
    if (c->kind == CFG_KIND_LORA)
        st = peft_lora_backward(&p, md, &tx, &tdy, &tdx, &err);
    else if (c->kind == CFG_KIND_PREFIX)
        st = peft_prefix_backward(&p, md, blk, &tx, &tdy, &tdx, &err);
    else if (c->kind == CFG_KIND_BITFIT || c->kind == CFG_KIND_LN || c->kind == CFG_KIND_IA3)
        st = peft_vector_backward(&p, md, vblk, has_x ? &tx : NULL, &tdy, has_x ? &tdx : NULL,
                                  &err);
    else
        st = peft_adapter_backward(&p, md, &tx, &tdy, &tdx, &err);
    cr_assert_eq(st, PF_OK, "%s backward: %s", c->name, err.msg);

    double *num = check_alloc(64 * 64 * 8);
    check_numgrad(num, r.y0, N * (size_t)r.out, ref_loss, &r, 1e-6);
    CHECK_CLOSE("d y0", dy, num, N * (size_t)r.out, 1e-3, 1e-5);
    if (has_x) {
        check_numgrad(num, r.x, N * (size_t)r.in, ref_loss, &r, 1e-6);
        CHECK_CLOSE("d x", dx, num, N * (size_t)r.in, 1e-3, 1e-5);
    }
    for (int i = 0; i < md->n_t; i++) {
        char what[64];
        snprintf(what, sizeof what, "d %s", md->tname[i]);
        check_numgrad(num, r.par[i], (size_t)md->t[i].numel, ref_loss, &r, 1e-6);
        CHECK_CLOSE(what, tensor_f32(&md->g[i]), num, (size_t)md->t[i].numel, 1e-3, 1e-5);
    }
    check_numgrad(num, &r.gate, 1, ref_loss, &r, 1e-6);
    float dg = (float)md->dgate;
    CHECK_CLOSE("d gate", &dg, num, 1, 1e-3, 1e-5);
    if (c->r_max) {
        check_numgrad(num, r.mask, (size_t)c->r_max, ref_loss, &r, 1e-6);
        float dm[R];
        for (int j = 0; j < R; j++)
            dm[j] = (float)md->dmask[j];
        CHECK_CLOSE("d mask", dm, num, R, 1e-3, 1e-5);
    }
    free(num);
    for (int i = 0; i < md->n_t; i++)
        free(r.par[i]);
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(r.x);
    free(r.y0);
    free(r.w);
    free(r.y);
    free(r.drop);
    peft_free(&p);
    model_free(&m);
}
