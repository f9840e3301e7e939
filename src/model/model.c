/* model.c - building a model of a family: its tensors, layers and the registry of HF
 * parameter names. Forward and backward are in model_forward.c, loading in model_load.c. */
#include "model/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "util/rng.h"
#include "util/xalloc.h"

const char *model_base_prefix(enum model_family f) {
    static const char *p[] = {"bert.", "roberta.", "transformer.", "model."};
    return (unsigned)f < 4 ? p[f] : "";
}

/* ---- registry ---- */

enum { INIT_NORMAL = 0, INIT_ZERO = 1, INIT_ONE = 2 };

static struct model_param *reg(struct model *m, int base, int head, int init, const char *fmt,
                               ...) __attribute__((format(printf, 5, 6)));

static struct model_param *reg(struct model *m, int base, int head, int init, const char *fmt,
                               ...) {
    struct model_param *p = &m->params[m->n_params++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->base = base;
    p->head = head;
    p->init = init;
    return p;
}

static void set_whole(struct model_param *p, struct tensor *t, struct tensor *g, int *train) {
    p->layout = MP_WHOLE;
    p->nparts = 1;
    p->part[0] = t;
    p->grad[0] = g;
    p->trainable[0] = train;
    p->ndim = t->ndim;
    p->shape[0] = t->shape[0];
    p->shape[1] = t->ndim > 1 ? t->shape[1] : 0;
}

/* An embedding/head tensor of the model, allocated now and registered under name. */
static pf_status add_tensor(struct model *m, enum model_tensor id, int base, int head, int init,
                            int ndim, int64_t d0, int64_t d1, const char *name,
                            struct pf_err *err) {
    int64_t s[2] = {d0, d1};
    pf_status st = tensor_alloc(&m->t[id], &m->par, m->be, TENSOR_F32, "param", ndim, s, err);
    if (st != PF_OK)
        return st;
    snprintf(m->t[id].name, sizeof m->t[id].name, "%.31s", name);
    struct model_param *p = reg(m, base, head, init, "%s", name);
    set_whole(p, &m->t[id], &m->g[id], &m->trainable[id]);
    return PF_OK;
}

/* The layer parameters of one family, by block index, as HF names relative to the layer. */
static const char *layer_name(enum model_family f, int i) {
    static const char *gpt2[BP_COUNT] = {
        [BP_WO] = "attn.c_proj.weight", [BP_BO] = "attn.c_proj.bias",
        [BP_LN1_W] = "ln_1.weight", [BP_LN1_B] = "ln_1.bias",
        [BP_W1] = "mlp.c_fc.weight", [BP_B1] = "mlp.c_fc.bias",
        [BP_W2] = "mlp.c_proj.weight", [BP_B2] = "mlp.c_proj.bias",
        [BP_LN2_W] = "ln_2.weight", [BP_LN2_B] = "ln_2.bias"};
    static const char *llama[BP_COUNT] = {
        [BP_WQ] = "self_attn.q_proj.weight", [BP_BQ] = "self_attn.q_proj.bias",
        [BP_WK] = "self_attn.k_proj.weight", [BP_BK] = "self_attn.k_proj.bias",
        [BP_WV] = "self_attn.v_proj.weight", [BP_BV] = "self_attn.v_proj.bias",
        [BP_WO] = "self_attn.o_proj.weight", [BP_BO] = "self_attn.o_proj.bias",
        [BP_LN1_W] = "input_layernorm.weight", [BP_LN2_W] = "post_attention_layernorm.weight",
        [BP_W1] = "mlp.up_proj.weight", [BP_B1] = "mlp.up_proj.bias",
        [BP_WG] = "mlp.gate_proj.weight", [BP_BG] = "mlp.gate_proj.bias",
        [BP_W2] = "mlp.down_proj.weight", [BP_B2] = "mlp.down_proj.bias"};
    switch (f) {
    case FAM_GPT2: return gpt2[i];
    case FAM_LLAMA: return llama[i];
    default: return block_param_name(i);
    }
}

static const char *layer_prefix(enum model_family f) {
    switch (f) {
    case FAM_GPT2: return "h.";
    case FAM_LLAMA: return "layers.";
    default: return "encoder.layer.";
    }
}

static int is_gain(int i) {
    return i == BP_LN1_W || i == BP_LN2_W;
}

static void register_layer(struct model *m, int l) {
    struct block *blk = &m->layers[l];
    enum model_family f = m->cfg.family;
    const char *pre = layer_prefix(f);
    if (f == FAM_GPT2) { /* fused c_attn: one HF tensor, three block tensors */
        struct model_param *w = reg(m, 1, 0, INIT_NORMAL, "%s%d.attn.c_attn.weight", pre, l);
        struct model_param *b = reg(m, 1, 0, INIT_ZERO, "%s%d.attn.c_attn.bias", pre, l);
        int wi[3] = {BP_WQ, BP_WK, BP_WV}, bi[3] = {BP_BQ, BP_BK, BP_BV};
        w->layout = MP_COLS3;
        b->layout = MP_ROWS3;
        w->nparts = b->nparts = 3;
        w->ndim = 2;
        w->shape[0] = m->cfg.hidden;
        w->shape[1] = 3LL * m->cfg.hidden;
        b->ndim = 1;
        b->shape[0] = 3LL * m->cfg.hidden;
        for (int k = 0; k < 3; k++) {
            w->part[k] = &blk->p[wi[k]];
            w->grad[k] = &blk->g[wi[k]];
            w->trainable[k] = &blk->trainable[wi[k]];
            b->part[k] = &blk->p[bi[k]];
            b->grad[k] = &blk->g[bi[k]];
            b->trainable[k] = &blk->trainable[bi[k]];
        }
    }
    for (int i = 0; i < BP_COUNT; i++) {
        if (!blk->p[i].data || !layer_name(f, i))
            continue;
        int init = blk->p[i].ndim == 2 ? INIT_NORMAL : is_gain(i) ? INIT_ONE : INIT_ZERO;
        struct model_param *p = reg(m, 1, 0, init, "%s%d.%s", pre, l, layer_name(f, i));
        set_whole(p, &blk->p[i], &blk->g[i], &blk->trainable[i]);
    }
}

static struct block_dims layer_dims(const struct model_config *c) {
    struct block_dims d = {.B = 1, .T = 1, .C = c->hidden, .H = c->heads, .KVH = c->kv_heads,
                           .F = c->ffn, .D = c->head_dim, .ln_eps = c->norm_eps,
                           .act = hf_gelu_kind(c->act), .lazy_grads = 1};
    switch (c->family) {
    case FAM_BERT: case FAM_ROBERTA:
        d.style = BLOCK_POST_LN;
        break;
    case FAM_GPT2:
        d.style = BLOCK_PRE_LN;
        d.causal = 1;
        d.w_in_out = 1;
        break;
    case FAM_LLAMA:
        d.style = BLOCK_PRE_RMS;
        d.ffn = FFN_SWIGLU;
        d.causal = 1;
        d.rope = 1;
        d.no_qkv_bias = !c->attn_bias;
        d.no_o_bias = !c->o_bias;
        d.no_ffn_bias = !c->mlp_bias;
        break;
    }
    return d;
}

static pf_status build_embeddings(struct model *m, struct pf_err *err) {
    const struct model_config *c = &m->cfg;
    int64_t V = c->vocab, C = c->hidden;
    pf_status st = PF_OK;
    switch (c->family) {
    case FAM_BERT: case FAM_ROBERTA:
        PF_STEP(st, add_tensor(m, MT_WTE, 1, 0, INIT_NORMAL, 2, V, C,
                               "embeddings.word_embeddings.weight", err));
        PF_STEP(st, add_tensor(m, MT_WPE, 1, 0, INIT_NORMAL, 2, c->max_pos, C,
                               "embeddings.position_embeddings.weight", err));
        PF_STEP(st, add_tensor(m, MT_WTT, 1, 0, INIT_NORMAL, 2, c->type_vocab, C,
                               "embeddings.token_type_embeddings.weight", err));
        PF_STEP(st, add_tensor(m, MT_EMB_LN_W, 1, 0, INIT_ONE, 1, C, 0,
                               "embeddings.LayerNorm.weight", err));
        PF_STEP(st, add_tensor(m, MT_EMB_LN_B, 1, 0, INIT_ZERO, 1, C, 0,
                               "embeddings.LayerNorm.bias", err));
        break;
    case FAM_GPT2:
        PF_STEP(st, add_tensor(m, MT_WTE, 1, 0, INIT_NORMAL, 2, V, C, "wte.weight", err));
        PF_STEP(st, add_tensor(m, MT_WPE, 1, 0, INIT_NORMAL, 2, c->max_pos, C, "wpe.weight",
                               err));
        break;
    case FAM_LLAMA:
        PF_STEP(st, add_tensor(m, MT_WTE, 1, 0, INIT_NORMAL, 2, V, C, "embed_tokens.weight",
                               err));
        break;
    }
    return st;
}

static pf_status build_final_norm(struct model *m, struct pf_err *err) {
    pf_status st = PF_OK;
    int64_t C = m->cfg.hidden;
    if (m->cfg.family == FAM_GPT2) {
        PF_STEP(st, add_tensor(m, MT_FINAL_W, 1, 0, INIT_ONE, 1, C, 0, "ln_f.weight", err));
        PF_STEP(st, add_tensor(m, MT_FINAL_B, 1, 0, INIT_ZERO, 1, C, 0, "ln_f.bias", err));
    } else if (m->cfg.family == FAM_LLAMA) {
        PF_STEP(st, add_tensor(m, MT_FINAL_W, 1, 0, INIT_ONE, 1, C, 0, "norm.weight", err));
    }
    return st;
}

static pf_status build_head(struct model *m, struct pf_err *err) {
    const struct model_config *c = &m->cfg;
    int64_t V = c->vocab, C = c->hidden, L = m->n_labels;
    int enc = c->family == FAM_BERT || c->family == FAM_ROBERTA;
    pf_status st = PF_OK;
    switch (c->head) {
    case HEAD_NONE:
        break;
    case HEAD_SEQ_CLS:
        if (c->family == FAM_BERT) { /* the pooler belongs to BertModel */
            PF_STEP(st, add_tensor(m, MT_POOL_W, 1, 1, INIT_NORMAL, 2, C, C,
                                   "pooler.dense.weight", err));
            PF_STEP(st, add_tensor(m, MT_POOL_B, 1, 1, INIT_ZERO, 1, C, 0, "pooler.dense.bias",
                                   err));
            PF_STEP(st, add_tensor(m, MT_CLS_W, 0, 1, INIT_NORMAL, 2, L, C, "classifier.weight",
                                   err));
            PF_STEP(st, add_tensor(m, MT_CLS_B, 0, 1, INIT_ZERO, 1, L, 0, "classifier.bias",
                                   err));
        } else if (c->family == FAM_ROBERTA) {
            PF_STEP(st, add_tensor(m, MT_POOL_W, 0, 1, INIT_NORMAL, 2, C, C,
                                   "classifier.dense.weight", err));
            PF_STEP(st, add_tensor(m, MT_POOL_B, 0, 1, INIT_ZERO, 1, C, 0,
                                   "classifier.dense.bias", err));
            PF_STEP(st, add_tensor(m, MT_CLS_W, 0, 1, INIT_NORMAL, 2, L, C,
                                   "classifier.out_proj.weight", err));
            PF_STEP(st, add_tensor(m, MT_CLS_B, 0, 1, INIT_ZERO, 1, L, 0,
                                   "classifier.out_proj.bias", err));
        } else {
            PF_STEP(st, add_tensor(m, MT_CLS_W, 0, 1, INIT_NORMAL, 2, L, C, "score.weight",
                                   err));
        }
        break;
    case HEAD_MLM: {
        int bert = c->family == FAM_BERT;
        PF_STEP(st, add_tensor(m, MT_MLM_W, 0, 1, INIT_NORMAL, 2, C, C,
                               bert ? "cls.predictions.transform.dense.weight"
                                    : "lm_head.dense.weight", err));
        PF_STEP(st, add_tensor(m, MT_MLM_B, 0, 1, INIT_ZERO, 1, C, 0,
                               bert ? "cls.predictions.transform.dense.bias"
                                    : "lm_head.dense.bias", err));
        PF_STEP(st, add_tensor(m, MT_MLM_LN_W, 0, 1, INIT_ONE, 1, C, 0,
                               bert ? "cls.predictions.transform.LayerNorm.weight"
                                    : "lm_head.layer_norm.weight", err));
        PF_STEP(st, add_tensor(m, MT_MLM_LN_B, 0, 1, INIT_ZERO, 1, C, 0,
                               bert ? "cls.predictions.transform.LayerNorm.bias"
                                    : "lm_head.layer_norm.bias", err));
        PF_STEP(st, add_tensor(m, MT_MLM_BIAS, 0, 1, INIT_ZERO, 1, V, 0,
                               bert ? "cls.predictions.bias" : "lm_head.bias", err));
        if (!c->tie_word_embeddings)
            PF_STEP(st, add_tensor(m, MT_LM_W, 0, 1, INIT_NORMAL, 2, V, C,
                                   bert ? "cls.predictions.decoder.weight"
                                        : "lm_head.decoder.weight", err));
        break;
    }
    case HEAD_LM:
        if (enc)
            return pf_err_set(err, PF_ERR_UNSUPPORTED, "model: a causal LM head on an encoder");
        if (!c->tie_word_embeddings)
            PF_STEP(st, add_tensor(m, MT_LM_W, 0, 1, INIT_NORMAL, 2, V, C, "lm_head.weight",
                                   err));
        break;
    }
    return st;
}

pf_status model_create(struct model *m, const struct model_config *cfg, struct backend *be,
                       int head, int n_labels, struct pf_err *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (head >= 0)
        m->cfg.head = (enum model_head)head;
    m->n_labels = n_labels > 0 ? n_labels : cfg->num_labels;
    m->be = be;
    if (cfg->family != FAM_LLAMA && cfg->act != ACT_GELU_ERF && cfg->act != ACT_GELU_TANH)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "model: %s with activation other than GELU "
                          "is not supported", hf_family_name(cfg->family));
    struct arena_allocator al = backend_arena_allocator(be);
    arena_init(&m->par, "parameters", &al, 0);
    arena_init(&m->act, "activations", &al, 0);
    m->n_layers = cfg->layers;
    m->layers = xcalloc((size_t)cfg->layers, sizeof *m->layers);
    /* embeddings (<= 5) + per layer (<= BP_COUNT + 2) + final norm (2) + head (<= 6) */
    m->params = xcalloc((size_t)cfg->layers * (BP_COUNT + 2) + 16, sizeof *m->params);
    pf_status st = build_embeddings(m, err);
    struct block_dims d = layer_dims(&m->cfg);
    for (int l = 0; l < cfg->layers && st == PF_OK; l++) {
        st = block_init_params_only(&m->layers[l], &m->par, be, &d, err);
        if (st == PF_OK)
            register_layer(m, l);
    }
    PF_STEP(st, build_final_norm(m, err));
    PF_STEP(st, build_head(m, err));
    if (st != PF_OK)
        model_free(m);
    return st;
}

void model_free(struct model *m) {
    if (!m)
        return;
    arena_free(&m->act);
    arena_free(&m->par);
    free(m->layers);
    free(m->params);
    free(m->shared_acts);
    m->layers = NULL;
    m->params = NULL;
    m->shared_acts = NULL;
    m->n_params = 0;
}

/* ---- parameters ---- */

void model_init_params(struct model *m, uint64_t seed, int only_missing) {
    for (int i = 0; i < m->n_params; i++) {
        struct model_param *p = &m->params[i];
        if (only_missing && p->loaded)
            continue;
        for (int k = 0; k < p->nparts; k++) {
            struct tensor *t = p->part[k];
            float *h = tensor_f32(t); /* host memory on the CPU backend */
            uint64_t stream = seed ^ ((uint64_t)(i * 3 + k + 1) * 0x9E3779B97F4A7C15ULL);
            for (int64_t j = 0; j < t->numel; j++)
                h[j] = p->init == INIT_ONE    ? 1.0f
                       : p->init == INIT_ZERO ? 0.0f
                                              : 0.02f * rng_normal_at(stream, (uint64_t)j);
        }
    }
}

struct model_param *model_find_param(struct model *m, const char *name) {
    const char *pre = model_base_prefix(m->cfg.family);
    size_t n = strlen(pre);
    for (int i = 0; i < m->n_params; i++) {
        struct model_param *p = &m->params[i];
        if (!strcmp(p->name, name) || (p->base && !strncmp(name, pre, n) &&
                                       !strcmp(p->name, name + n)))
            return p;
    }
    return NULL;
}

int64_t model_param_count(const struct model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->n_params; i++)
        for (int k = 0; k < m->params[i].nparts; k++)
            n += m->params[i].part[k]->numel;
    return n;
}

pf_status model_set_trainable(struct model *m, struct model_param *p, int on,
                              struct pf_err *err) {
    for (int k = 0; k < p->nparts; k++) {
        struct tensor *g = p->grad[k];
        if (on && !g->data) {
            pf_status st = tensor_alloc(g, &m->par, m->be, TENSOR_F32, "grad", p->part[k]->ndim,
                                        p->part[k]->shape, err);
            if (st == PF_OK)
                st = op_zero(m->be, g, err);
            if (st != PF_OK)
                return st;
        }
        *p->trainable[k] = on;
    }
    return PF_OK;
}

pf_status model_set_all_trainable(struct model *m, int on, struct pf_err *err) {
    for (int i = 0; i < m->n_params; i++) {
        pf_status st = model_set_trainable(m, &m->params[i], on, err);
        if (st != PF_OK)
            return st;
    }
    return PF_OK;
}

pf_status model_zero_grad(struct model *m, struct pf_err *err) {
    for (int i = 0; i < m->n_params; i++)
        for (int k = 0; k < m->params[i].nparts; k++)
            if (m->params[i].grad[k]->data) {
                pf_status st = op_zero(m->be, m->params[i].grad[k], err);
                if (st != PF_OK)
                    return st;
            }
    return PF_OK;
}

/* Copy src tensors of p into dst in the HF layout. */
static pf_status gather_hf(const struct model *m, const struct model_param *p,
                           struct tensor *const *src, float *dst, struct pf_err *err) {
    for (int k = 0; k < p->nparts; k++)
        if (!src[k]->data)
            return pf_err_set(err, PF_ERR_ARG, "model: %s has no gradient (not trainable)",
                              p->name);
    if (p->layout == MP_WHOLE || p->layout == MP_ROWS3) {
        size_t off = 0;
        for (int k = 0; k < p->nparts; k++) {
            m->be->download(m->be, dst + off, src[k]->data, tensor_nbytes(src[k]));
            off += (size_t)src[k]->numel;
        }
        return PF_OK;
    }
    /* MP_COLS3: (C, 3C) from three (C, C) blocks (all in (in, out) layout) */
    int64_t rows = p->shape[0], cols = p->shape[1], w = cols / 3;
    float *tmp = xmalloc((size_t)(rows * w) * sizeof(float));
    for (int k = 0; k < 3; k++) {
        m->be->download(m->be, tmp, src[k]->data, tensor_nbytes(src[k]));
        for (int64_t r = 0; r < rows; r++)
            memcpy(dst + r * cols + k * w, tmp + r * w, (size_t)w * sizeof(float));
    }
    free(tmp);
    return PF_OK;
}

pf_status model_param_grad(const struct model *m, const struct model_param *p, float *dst,
                           struct pf_err *err) {
    return gather_hf(m, p, p->grad, dst, err);
}

pf_status model_param_value(const struct model *m, const struct model_param *p, float *dst,
                            struct pf_err *err) {
    return gather_hf(m, p, p->part, dst, err);
}

void model_param_set(struct model *m, struct model_param *p, const float *src) {
    struct backend *be = m->be;
    if (p->layout == MP_COLS3) { /* (C, 3C) -> three (C, C), all (in, out) */
        int64_t rows = p->shape[0], cols = p->shape[1], w = cols / 3;
        float *tmp = xmalloc((size_t)(rows * w) * sizeof(float));
        for (int k = 0; k < 3; k++) {
            for (int64_t r = 0; r < rows; r++)
                memcpy(tmp + r * w, src + r * cols + k * w, (size_t)w * sizeof(float));
            be->upload(be, p->part[k]->data, tmp, tensor_nbytes(p->part[k]));
        }
        free(tmp);
        return;
    }
    size_t off = 0;
    for (int k = 0; k < p->nparts; k++) {
        be->upload(be, p->part[k]->data, src + off, tensor_nbytes(p->part[k]));
        off += (size_t)p->part[k]->numel;
    }
}

int64_t model_param_numel(const struct model_param *p) {
    int64_t n = 1;
    for (int d = 0; d < p->ndim; d++)
        n *= p->shape[d];
    return n;
}

const char *model_param_full_name(const struct model *m, const struct model_param *p, char *buf,
                                  size_t n) {
    snprintf(buf, n, "%s%s", p->base ? model_base_prefix(m->cfg.family) : "", p->name);
    return buf;
}

pf_status model_param_copy_finite(const struct model *m, const struct model_param *p,
                                  const char *verb, float **out, struct pf_err *err) {
    int64_t n = model_param_numel(p);
    float *buf = xmalloc((size_t)(n ? n : 1) * sizeof(float));
    pf_status st = model_param_value(m, p, buf, err);
    for (int64_t j = 0; st == PF_OK && j < n; j++)
        if (!isfinite(buf[j]))
            st = pf_err_set(err, PF_ERR_NUMERIC, "%s[%lld] is not finite: refusing to %s",
                            p->name, (long long)j, verb);
    if (st != PF_OK) {
        xfree(buf);
        buf = NULL;
    }
    *out = buf;
    return st;
}
