/* model_forward.c - forward and backward of a whole model: embeddings, layers, final norm,
 * heads (model.h). Host-side preparation of a batch (positions, pooling indices) is here
 * too; everything on tensors goes through core/ops.h. */
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "model/model.h"
#include "util/xalloc.h"

static int is_encoder(const struct model *m) {
    return m->cfg.family == FAM_BERT || m->cfg.family == FAM_ROBERTA;
}

/* Optional tensor: NULL when absent. */
static const struct tensor *opt(const struct model *m, enum model_tensor id) {
    return m->t[id].data ? &m->t[id] : NULL;
}

/* Gradient of a model tensor, or NULL when absent, frozen or without a gradient. */
static struct tensor *grad(struct model *m, enum model_tensor id) {
    return m->g[id].data && m->trainable[id] ? &m->g[id] : NULL;
}

/* The output projection of the MLM/LM heads: the token embedding when tied. */
static enum model_tensor decoder_id(const struct model *m) {
    return m->t[MT_LM_W].data ? MT_LM_W : MT_WTE;
}

/* ---- binding activations to a batch shape ---- */

static pf_status alloc3(struct model *m, struct tensor *t, const char *name, int64_t a,
                        int64_t b, int64_t c, struct pf_err *err) {
    int64_t s[3] = {a, b, c};
    return tensor_alloc(t, &m->act, m->be, TENSOR_F32, name, 3, s, err);
}

static pf_status alloc2(struct model *m, struct tensor *t, enum tensor_dtype dt,
                        const char *name, int64_t a, int64_t b, struct pf_err *err) {
    int64_t s[2] = {a, b};
    return tensor_alloc(t, &m->act, m->be, dt, name, 2, s, err);
}

/* Which activations each layer shares with the others (those no backward reads; they depend
 * on the trainable flags and the attached modules): *same when neither they nor B x T
 * changed since the last bind, else m->shared_acts takes the new sharing. */
static pf_status bind_sharing(struct model *m, int B, int T, int *same, struct pf_err *err) {
    int nl = m->n_layers;
    unsigned *share = calloc((size_t)nl + 1, sizeof *share);
    if (!share || (!m->shared_acts &&
                   !(m->shared_acts = calloc((size_t)nl + 1, sizeof *m->shared_acts)))) {
        free(share);
        return pf_err_set(err, PF_ERR_NOMEM, "model: out of memory");
    }
    unsigned t0 = nl ? block_transient_acts(&m->layers[0]) : 0;
    *same = m->B == B && m->T == T;
    for (int l = 0; l < nl; l++) {
        share[l] = block_transient_acts(&m->layers[l]) & t0;
        *same = *same && m->shared_acts[l] == share[l];
    }
    if (!*same)
        memcpy(m->shared_acts, share, (size_t)nl * sizeof *share);
    free(share);
    return PF_OK;
}

/* The head's activations (and their gradients) for a B x T batch. */
static pf_status bind_head(struct model *m, int B, int T, struct pf_err *err) {
    const struct model_config *c = &m->cfg;
    int64_t C = c->hidden, V = c->vocab, L = m->n_labels;
    pf_status st = PF_OK;
    switch (c->head) {
    case HEAD_SEQ_CLS:
        PF_STEP(st, alloc2(m, &m->a.pooled_in, TENSOR_F32, "pooled_in", B, C, err));
        PF_STEP(st, alloc2(m, &m->a.pool_pre, TENSOR_F32, "pool_pre", B, C, err));
        PF_STEP(st, alloc2(m, &m->a.pool_act, TENSOR_F32, "pool_act", B, C, err));
        PF_STEP(st, alloc2(m, &m->a.d_pooled_in, TENSOR_F32, "d_pooled_in", B, C, err));
        PF_STEP(st, alloc2(m, &m->a.d_pool_pre, TENSOR_F32, "d_pool_pre", B, C, err));
        PF_STEP(st, alloc2(m, &m->a.d_pool_act, TENSOR_F32, "d_pool_act", B, C, err));
        PF_STEP(st, alloc2(m, &m->a.logits, TENSOR_F32, "logits", B, L, err));
        break;
    case HEAD_MLM:
        PF_STEP(st, alloc3(m, &m->a.mlm_pre, "mlm_pre", B, T, C, err));
        PF_STEP(st, alloc3(m, &m->a.mlm_act, "mlm_act", B, T, C, err));
        PF_STEP(st, alloc3(m, &m->a.mlm_out, "mlm_out", B, T, C, err));
        PF_STEP(st, alloc2(m, &m->a.mlm_mean, TENSOR_F32, "mlm_mean", B, T, err));
        PF_STEP(st, alloc2(m, &m->a.mlm_rstd, TENSOR_F32, "mlm_rstd", B, T, err));
        PF_STEP(st, alloc3(m, &m->a.d_mlm_pre, "d_mlm_pre", B, T, C, err));
        PF_STEP(st, alloc3(m, &m->a.d_mlm_act, "d_mlm_act", B, T, C, err));
        PF_STEP(st, alloc3(m, &m->a.d_mlm_out, "d_mlm_out", B, T, C, err));
        PF_STEP(st, alloc3(m, &m->a.logits, "logits", B, T, V, err));
        break;
    case HEAD_LM:
        PF_STEP(st, alloc3(m, &m->a.logits, "logits", B, T, V, err));
        break;
    case HEAD_NONE:
        break;
    }
    return st;
}

static pf_status bind(struct model *m, int B, int T, struct pf_err *err) {
    /* activations no backward reads share one buffer across layers; which ones depends on
     * the trainable flags and the attached modules, so a change there binds again */
    int same = 0;
    pf_status st = bind_sharing(m, B, T, &same, err);
    if (st != PF_OK || same)
        return st;
    const struct model_config *c = &m->cfg;
    int64_t C = c->hidden;
    arena_free(&m->act);
    /* forget every activation tensor of the previous shape */
    memset(&m->a, 0, sizeof m->a);
    m->B = m->T = 0;
    for (int l = 0; l < m->n_layers && st == PF_OK; l++) { /* one backward scratch for all */
        st = block_bind_shared(&m->layers[l], &m->act, B, T, l ? &m->layers[0] : NULL,
                               m->shared_acts[l], err);
    }
    PF_STEP(st, alloc2(m, &m->a.ids, TENSOR_I32, "input_ids", B, T, err));
    PF_STEP(st, alloc2(m, &m->a.pos, TENSOR_I32, "position_ids", B, T, err));
    PF_STEP(st, alloc2(m, &m->a.types, TENSOR_I32, "token_type_ids", B, T, err));
    PF_STEP(st, alloc2(m, &m->a.mask, TENSOR_I32, "attention_mask", B, T, err));
    int64_t nb[1] = {B};
    PF_STEP(st, tensor_alloc(&m->a.pool_idx, &m->act, m->be, TENSOR_I32, "pool_idx", 1, nb, err));
    PF_STEP(st, alloc3(m, &m->a.emb, "embeddings", B, T, C, err));
    PF_STEP(st, alloc3(m, &m->a.d_emb, "d_embeddings", B, T, C, err));
    PF_STEP(st, alloc3(m, &m->a.d_top, "d_top", B, T, C, err));
    PF_STEP(st, alloc3(m, &m->a.d_hidden, "d_hidden", B, T, C, err));
    PF_STEP(st, alloc3(m, &m->a.d_x[0], "d_x0", B, T, C, err));
    PF_STEP(st, alloc3(m, &m->a.d_x[1], "d_x1", B, T, C, err));
    if (is_encoder(m)) {
        PF_STEP(st, alloc3(m, &m->a.emb_out, "emb_ln", B, T, C, err));
        PF_STEP(st, alloc2(m, &m->a.emb_mean, TENSOR_F32, "emb_mean", B, T, err));
        PF_STEP(st, alloc2(m, &m->a.emb_rstd, TENSOR_F32, "emb_rstd", B, T, err));
    } else {
        PF_STEP(st, alloc3(m, &m->a.fin, "final_norm", B, T, C, err));
        PF_STEP(st, alloc2(m, &m->a.fin_mean, TENSOR_F32, "fin_mean", B, T, err));
        PF_STEP(st, alloc2(m, &m->a.fin_rstd, TENSOR_F32, "fin_rstd", B, T, err));
    }
    if (c->family == FAM_LLAMA) {
        PF_STEP(st, alloc2(m, &m->a.cos, TENSOR_F32, "rope_cos", T, c->head_dim / 2, err));
        PF_STEP(st, alloc2(m, &m->a.sin, TENSOR_F32, "rope_sin", T, c->head_dim / 2, err));
        PF_STEP(st, op_rope_tables(m->be, &m->a.cos, &m->a.sin, (float)c->rope_theta, err));
    }
    PF_STEP(st, bind_head(m, B, T, err));
    if (st == PF_OK) {
        m->B = B;
        m->T = T;
    }
    return st;
}

/* ---- host-side batch preparation ---- */

static pf_status check_batch(const struct model *m, const struct model_batch *b,
                             struct pf_err *err) {
    const struct model_config *c = &m->cfg;
    if (!b || !b->ids || b->B < 1 || b->T < 1)
        return pf_err_set(err, PF_ERR_ARG, "model_forward: empty batch");
    int max_t = c->max_pos - c->pos_offset;
    if (c->family != FAM_LLAMA && b->T > max_t)
        return pf_err_set(err, PF_ERR_ARG, "model_forward: %d tokens exceed the model's %d "
                          "positions (max_position_embeddings)", b->T, max_t);
    if (c->sliding_window > 0 && b->T > c->sliding_window)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "model_forward: %d tokens exceed the "
                          "sliding window %d (not implemented)", b->T, c->sliding_window);
    return PF_OK;
}

static pf_status prepare(struct model *m, const struct model_batch *b, struct pf_err *err) {
    const struct model_config *c = &m->cfg;
    int B = b->B, T = b->T;
    size_t n = (size_t)B * (size_t)T;
    int32_t *buf = xmalloc(n * 3 * sizeof(int32_t) + (size_t)B * sizeof(int32_t));
    int32_t *pos = buf, *mask = buf + n, *types = buf + 2 * n, *pool = buf + 3 * n;
    pf_status st = PF_OK;
    for (int r = 0; r < B; r++) {
        const int32_t *ids = b->ids + (size_t)r * T;
        int count = 0, last = 0;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            mask[i] = b->mask ? (b->mask[i] != 0) : 1;
            types[i] = b->type_ids ? b->type_ids[i] : 0;
            if (c->family == FAM_ROBERTA) { /* HF create_position_ids_from_input_ids */
                int real = ids[t] != c->pad_id;
                count += real;
                pos[i] = real ? count + c->pad_id : c->pad_id;
            } else {
                pos[i] = t;
            }
            if (c->pad_id >= 0 && ids[t] != c->pad_id)
                last = t; /* HF: the rightmost token that is not the pad token */
        }
        if (is_encoder(m))
            pool[r] = r * T; /* [CLS] / <s> */
        else if (c->pad_id >= 0)
            pool[r] = r * T + last;
        else if (B > 1 && c->head == HEAD_SEQ_CLS)
            st = pf_err_set(err, PF_ERR_ARG, "model_forward: a batch of %d needs a "
                            "pad_token_id in config.json to find each row's last token", B);
        else
            pool[r] = r * T + T - 1;
    }
    if (st == PF_OK) {
        struct backend *be = m->be;
        be->upload(be, m->a.ids.data, b->ids, n * sizeof(int32_t));
        be->upload(be, m->a.pos.data, pos, n * sizeof(int32_t));
        be->upload(be, m->a.mask.data, mask, n * sizeof(int32_t));
        be->upload(be, m->a.types.data, types, n * sizeof(int32_t));
        be->upload(be, m->a.pool_idx.data, pool, (size_t)B * sizeof(int32_t));
    }
    free(buf);
    return st;
}

/* hidden viewed as (B*T, C) rows for the pooling gather/scatter */
static pf_status rows_view(struct model *m, struct tensor *view, const struct tensor *t,
                           struct pf_err *err) {
    int64_t s[2] = {(int64_t)m->B * m->T, m->cfg.hidden};
    return tensor_wrap(view, m->be, t->data, TENSOR_F32, t->name, 2, s, err);
}

const struct tensor *model_logits(const struct model *m) {
    return m->forwarded && m->a.logits.data ? &m->a.logits : NULL;
}

const struct tensor *model_input_grad(const struct model *m) {
    return m->a.d_emb.data ? &m->a.d_emb : NULL;
}

const struct tensor *model_hidden(const struct model *m) {
    if (!m->forwarded)
        return NULL;
    return is_encoder(m) ? &m->layers[m->n_layers - 1].a[BA_Y] : &m->a.fin;
}

/* ---- forward ---- */

static pf_status embed_forward(struct model *m, struct pf_err *err) {
    struct backend *be = m->be;
    pf_status st = PF_OK;
    PF_STEP(st, op_embedding_forward(be, &m->a.emb, &m->a.ids, &m->t[MT_WTE], 0, err));
    if (m->t[MT_WPE].data)
        PF_STEP(st, op_embedding_forward(be, &m->a.emb, &m->a.pos, &m->t[MT_WPE], 1, err));
    if (m->t[MT_WTT].data)
        PF_STEP(st, op_embedding_forward(be, &m->a.emb, &m->a.types, &m->t[MT_WTT], 1, err));
    if (is_encoder(m)) {
        PF_STEP(st, op_layernorm_forward(be, &m->a.emb_out, &m->a.emb_mean, &m->a.emb_rstd, &m->a.emb,
                                         &m->t[MT_EMB_LN_W], &m->t[MT_EMB_LN_B],
                                         m->cfg.norm_eps, err));
        if (m->final_hooks.active)
            PF_STEP(st, m->final_hooks.forward(m->final_hooks.ctx, m, &m->a.emb, &m->a.emb_out,
                                               err));
    }
    return st;
}

static pf_status head_forward(struct model *m, const struct tensor *h, struct pf_err *err) {
    struct backend *be = m->be;
    const struct model_config *c = &m->cfg;
    pf_status st = PF_OK;
    switch (c->head) {
    case HEAD_SEQ_CLS: {
        struct tensor rows;
        PF_STEP(st, rows_view(m, &rows, h, err));
        PF_STEP(st, op_embedding_forward(be, &m->a.pooled_in, &m->a.pool_idx, &rows, 0, err));
        const struct tensor *in = &m->a.pooled_in;
        if (m->t[MT_POOL_W].data) {
            PF_STEP(st, op_matmul_forward(be, &m->a.pool_pre, in, &m->t[MT_POOL_W],
                                          opt(m, MT_POOL_B), 0, 1, err));
            PF_STEP(st, op_tanh_forward(be, &m->a.pool_act, &m->a.pool_pre, err));
            in = &m->a.pool_act;
        }
        PF_STEP(st, op_matmul_forward(be, &m->a.logits, in, &m->t[MT_CLS_W], opt(m, MT_CLS_B), 0,
                                      1, err));
        break;
    }
    case HEAD_MLM:
        PF_STEP(st, op_matmul_forward(be, &m->a.mlm_pre, h, &m->t[MT_MLM_W], &m->t[MT_MLM_B], 0,
                                      1, err));
        PF_STEP(st, op_gelu_forward(be, &m->a.mlm_act, &m->a.mlm_pre, hf_gelu_kind(c->act), err));
        PF_STEP(st, op_layernorm_forward(be, &m->a.mlm_out, &m->a.mlm_mean, &m->a.mlm_rstd,
                                         &m->a.mlm_act, &m->t[MT_MLM_LN_W], &m->t[MT_MLM_LN_B],
                                         c->norm_eps, err));
        PF_STEP(st, op_matmul_forward(be, &m->a.logits, &m->a.mlm_out, &m->t[decoder_id(m)],
                                      &m->t[MT_MLM_BIAS], 0, 1, err));
        break;
    case HEAD_LM:
        PF_STEP(st, op_matmul_forward(be, &m->a.logits, h, &m->t[decoder_id(m)], NULL, 0, 1,
                                      err));
        break;
    case HEAD_NONE:
        break;
    }
    return st;
}

pf_status model_forward(struct model *m, const struct model_batch *b, struct pf_err *err) {
    m->forwarded = 0;
    pf_status st = check_batch(m, b, err);
    PF_STEP(st, bind(m, b->B, b->T, err));
    PF_STEP(st, prepare(m, b, err));
    PF_STEP(st, embed_forward(m, err));
    const struct tensor *x = is_encoder(m) ? &m->a.emb_out : &m->a.emb;
    for (int l = 0; l < m->n_layers && st == PF_OK; l++) {
        struct block *blk = &m->layers[l];
        if (blk->d.rope)
            block_set_rope(blk, &m->a.cos, &m->a.sin, &m->a.pos);
        st = block_forward(blk, x, &m->a.mask, err);
        x = &blk->a[BA_Y];
    }
    if (m->cfg.family == FAM_GPT2)
        PF_STEP(st, op_layernorm_forward(m->be, &m->a.fin, &m->a.fin_mean, &m->a.fin_rstd, x,
                                         &m->t[MT_FINAL_W], &m->t[MT_FINAL_B], m->cfg.norm_eps,
                                         err));
    else if (m->cfg.family == FAM_LLAMA)
        PF_STEP(st, op_rmsnorm_forward(m->be, &m->a.fin, &m->a.fin_rstd, x, &m->t[MT_FINAL_W],
                                       m->cfg.norm_eps, err));
    if (!is_encoder(m) && m->final_hooks.active)
        PF_STEP(st, m->final_hooks.forward(m->final_hooks.ctx, m, x, &m->a.fin, err));
    PF_STEP(st, head_forward(m, is_encoder(m) ? x : &m->a.fin, err));
    m->forwarded = st == PF_OK;
    return st;
}

/* ---- backward ---- */

/* Head backward from dlogits: parameter gradients, and += into m->a.d_hidden. */
static pf_status head_backward(struct model *m, const struct tensor *h,
                               const struct tensor *dl, struct pf_err *err) {
    struct backend *be = m->be;
    const struct model_config *c = &m->cfg;
    pf_status st = PF_OK;
    enum model_tensor dec = decoder_id(m);
    switch (c->head) {
    case HEAD_SEQ_CLS: {
        int pool = m->t[MT_POOL_W].data != NULL;
        const struct tensor *in = pool ? &m->a.pool_act : &m->a.pooled_in;
        struct tensor *din = pool ? &m->a.d_pool_act : &m->a.d_pooled_in;
        PF_STEP(st, op_matmul_backward(be, din, grad(m, MT_CLS_W), grad(m, MT_CLS_B), dl, in,
                                       &m->t[MT_CLS_W], 0, 1, 0, err));
        if (pool) {
            PF_STEP(st, op_tanh_backward(be, &m->a.d_pool_pre, &m->a.d_pool_act, &m->a.pool_act, err));
            PF_STEP(st, op_matmul_backward(be, &m->a.d_pooled_in, grad(m, MT_POOL_W),
                                           grad(m, MT_POOL_B), &m->a.d_pool_pre, &m->a.pooled_in,
                                           &m->t[MT_POOL_W], 0, 1, 0, err));
        }
        struct tensor rows;
        PF_STEP(st, rows_view(m, &rows, &m->a.d_hidden, err));
        PF_STEP(st, op_embedding_backward(be, &rows, &m->a.d_pooled_in, &m->a.pool_idx, err));
        break;
    }
    case HEAD_MLM:
        PF_STEP(st, op_matmul_backward(be, &m->a.d_mlm_out, grad(m, dec), grad(m, MT_MLM_BIAS), dl,
                                       &m->a.mlm_out, &m->t[dec], 0, 1, 0, err));
        PF_STEP(st, op_layernorm_backward(be, &m->a.d_mlm_act, grad(m, MT_MLM_LN_W),
                                          grad(m, MT_MLM_LN_B), &m->a.d_mlm_out, &m->a.mlm_act,
                                          &m->t[MT_MLM_LN_W], &m->a.mlm_mean, &m->a.mlm_rstd, err));
        PF_STEP(st, op_gelu_backward(be, &m->a.d_mlm_pre, &m->a.d_mlm_act, &m->a.mlm_pre,
                                     hf_gelu_kind(c->act), err));
        PF_STEP(st, op_matmul_backward(be, &m->a.d_hidden, grad(m, MT_MLM_W), grad(m, MT_MLM_B),
                                       &m->a.d_mlm_pre, h, &m->t[MT_MLM_W], 0, 1, 1, err));
        break;
    case HEAD_LM:
        PF_STEP(st, op_matmul_backward(be, &m->a.d_hidden, grad(m, dec), NULL, dl, h, &m->t[dec],
                                       0, 1, 1, err));
        break;
    case HEAD_NONE:
        break;
    }
    return st;
}

/* HF builds these embeddings with padding_idx: the lookup adds nothing to the pad row's
 * gradient. We keep the row as it was before the lookup's backward (other uses of a tied
 * table, the MLM/LM decoder, still count). */
static pf_status table_backward(struct model *m, enum model_tensor id, const struct tensor *ids,
                                int pad_row, struct pf_err *err) {
    struct tensor *g = grad(m, id);
    if (!g)
        return PF_OK;
    struct backend *be = m->be;
    int64_t C = g->shape[1];
    int keep = pad_row >= 0 && pad_row < g->shape[0];
    float *saved = keep ? xmalloc((size_t)C * sizeof(float)) : NULL;
    float *row = keep ? tensor_f32(g) + (size_t)pad_row * (size_t)C : NULL;
    if (keep)
        be->download(be, saved, row, (size_t)C * sizeof(float));
    pf_status st = op_embedding_backward(be, g, &m->a.d_emb, ids, err);
    if (keep) {
        be->upload(be, row, saved, (size_t)C * sizeof(float));
        free(saved);
    }
    return st;
}

pf_status model_backward(struct model *m, const struct tensor *dhidden,
                         const struct tensor *dlogits, struct pf_err *err) {
    if (!m->forwarded)
        return pf_err_set(err, PF_ERR_ARG, "model_backward: no forward pass to differentiate");
    if (dlogits && m->cfg.head == HEAD_NONE)
        return pf_err_set(err, PF_ERR_ARG, "model_backward: the model has no head for dlogits");
    struct backend *be = m->be;
    const struct model_config *c = &m->cfg;
    const struct tensor *h = model_hidden(m);
    int L = m->n_layers, enc = is_encoder(m);
    pf_status st = op_zero(be, &m->a.d_hidden, err);
    if (dhidden)
        PF_STEP(st, op_residual_backward(be, &m->a.d_hidden, NULL, dhidden, err));
    if (dlogits)
        PF_STEP(st, head_backward(m, h, dlogits, err));
    /* decoders: final norm; its input is the last layer's output */
    struct tensor *top = &m->a.d_hidden;
    const struct tensor *x_last = &m->layers[L - 1].a[BA_Y];
    if (c->family == FAM_GPT2) {
        top = &m->a.d_top;
        PF_STEP(st, op_layernorm_backward(be, top, grad(m, MT_FINAL_W), grad(m, MT_FINAL_B),
                                          &m->a.d_hidden, x_last, &m->t[MT_FINAL_W], &m->a.fin_mean,
                                          &m->a.fin_rstd, err));
    } else if (c->family == FAM_LLAMA) {
        top = &m->a.d_top;
        PF_STEP(st, op_rmsnorm_backward(be, top, grad(m, MT_FINAL_W), &m->a.d_hidden, x_last,
                                        &m->t[MT_FINAL_W], &m->a.fin_rstd, err));
    }
    if (!enc && m->final_hooks.active)
        PF_STEP(st, m->final_hooks.backward(m->final_hooks.ctx, m, x_last, &m->a.d_hidden, top,
                                            err));
    /* layers, top down; layer 0 writes the gradient of the embedding output, unless nothing
     * below it learns and the caller does not want it (skip_input_grad) */
    int below = !m->skip_input_grad || grad(m, MT_WTE) || grad(m, MT_WPE) ||
                grad(m, MT_WTT) || grad(m, MT_EMB_LN_W) || grad(m, MT_EMB_LN_B) ||
                (enc && m->final_hooks.active);
    struct tensor *bottom = !below ? NULL : enc ? &m->a.d_top : &m->a.d_emb;
    const struct tensor *dcur = top;
    for (int l = L - 1; l >= 0 && st == PF_OK; l--) {
        struct tensor *dnext = l == 0 ? bottom : &m->a.d_x[l & 1];
        st = block_backward(&m->layers[l], dcur, dnext, err);
        dcur = dnext;
    }
    if (!below)
        return st;
    if (enc)
        PF_STEP(st, op_layernorm_backward(be, &m->a.d_emb, grad(m, MT_EMB_LN_W),
                                          grad(m, MT_EMB_LN_B), &m->a.d_top, &m->a.emb,
                                          &m->t[MT_EMB_LN_W], &m->a.emb_mean, &m->a.emb_rstd, err));
    if (enc && m->final_hooks.active)
        PF_STEP(st, m->final_hooks.backward(m->final_hooks.ctx, m, &m->a.emb, &m->a.d_top,
                                            &m->a.d_emb, err));
    int pad = c->family == FAM_GPT2 ? -1 : c->pad_id;
    PF_STEP(st, table_backward(m, MT_WTE, &m->a.ids, pad, err));
    PF_STEP(st, table_backward(m, MT_WPE, &m->a.pos, c->family == FAM_ROBERTA ? c->pad_id : -1,
                               err));
    PF_STEP(st, table_backward(m, MT_WTT, &m->a.types, -1, err));
    return st;
}
