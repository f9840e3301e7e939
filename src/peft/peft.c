/* peft.c - the module list: validation, exact parameter counts, initialisation, per-batch
 * activations, and the hook dispatch that runs each layer's modules in order (peft.h). */
#include "peft/peft.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "model/model.h"
#include "peft/peft_internal.h"
#include "util/rng.h"
#include "util/xalloc.h"

/* ---- where modules attach ---- */

enum block_point peft_point(enum cfg_kind k, enum cfg_target t) {
    switch (k) {
    case CFG_KIND_LRA: case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER:
        return t == CFG_T_ATTN ? BPT_ATTN : t == CFG_T_FFN ? BPT_FFN : BPT_COUNT;
    case CFG_KIND_PREFIX:
        return BPT_CTX;
    case CFG_KIND_LN:
        return t == CFG_T_ATTN_LN   ? BPT_NORM1
               : t == CFG_T_FFN_LN  ? BPT_NORM2
               : t == CFG_T_FINAL_LN ? PEFT_FINAL
                                     : BPT_COUNT;
    case CFG_KIND_IA3:
        if (t == CFG_T_FFN_UP) /* (IA)^3's l_ff scales the FFN activation (the down input) */
            return BPT_DOWN_IN;
        /* k, v and the other projections: the projection's output, as below */
        /* fall through */
    case CFG_KIND_LORA: case CFG_KIND_BITFIT:
        switch (t) {
        case CFG_T_Q: return BPT_Q;
        case CFG_T_K: return BPT_K;
        case CFG_T_V: return BPT_V;
        case CFG_T_O: return BPT_O;
        case CFG_T_FFN_UP: return BPT_UP;
        case CFG_T_FFN_DOWN: return BPT_DOWN;
        case CFG_T_FFN_GATE: return BPT_GATE;
        case CFG_T_ATTN_LN: return k == CFG_KIND_BITFIT ? BPT_NORM1 : BPT_COUNT;
        case CFG_T_FFN_LN: return k == CFG_KIND_BITFIT ? BPT_NORM2 : BPT_COUNT;
        case CFG_T_FINAL_LN: return k == CFG_KIND_BITFIT ? PEFT_FINAL : BPT_COUNT;
        default: return BPT_COUNT;
        }
    default:
        return BPT_COUNT;
    }
}

static int matrix_kind(enum cfg_kind k) {
    return k == CFG_KIND_LORA || k == CFG_KIND_LRA || k == CFG_KIND_SERIAL_ADAPTER ||
           k == CFG_KIND_PARALLEL_ADAPTER || k == CFG_KIND_PREFIX;
}

static const struct block_dims *dims_of(const struct model *m) {
    return &m->layers[0].d;
}

static int head_size(const struct block_dims *d) {
    return d->D > 0 ? d->D : d->C / d->H;
}

/* Input and output sizes at point pt. */
static void point_dims(const struct block_dims *d, enum block_point pt, int *in, int *out) {
    int C = d->C, F = d->F, HD = d->H * head_size(d), KV = d->KVH * head_size(d);
    switch (pt) {
    case BPT_Q: *in = C; *out = HD; break;
    case BPT_K: case BPT_V: *in = C; *out = KV; break;
    case BPT_O: *in = HD; *out = C; break;
    case BPT_UP: case BPT_GATE: *in = C; *out = F; break;
    case BPT_DOWN: *in = F; *out = C; break;
    case BPT_DOWN_IN: *in = F; *out = F; break;
    case BPT_CTX: *in = HD; *out = HD; break;
    default: *in = C; *out = C; break;
    }
}

static int module_width(const struct block_dims *d, const struct peft_spec *s) {
    if (s->width > 0)
        return s->width;
    int w = d->C / 32;
    return w < 1 ? 1 : w;
}

pf_status peft_check_spec(const struct model *m, const struct peft_spec *s,
                          struct pf_err *err) {
    if (!m || !m->layers || m->n_layers < 1)
        return pf_err_set(err, PF_ERR_ARG, "peft: the model has no layers");
    const struct block_dims *d = dims_of(m);
    const char *kn = script_kind_name(s->kind), *tn = script_target_name(s->target);
    if ((unsigned)s->kind >= CFG_KIND_COUNT)
        return pf_err_set(err, PF_ERR_ARG, "peft: unknown module kind %d", (int)s->kind);
    if (s->target == CFG_T_FINAL_LN ? s->layer != -1
                                    : (s->layer < 0 || s->layer >= m->n_layers))
        return pf_err_set(err, PF_ERR_ARG, "peft: %s: layer %d is outside the model's 0..%d "
                          "(-1, and only -1, for final_ln)", kn, s->layer, m->n_layers - 1);
    if (peft_point(s->kind, s->target) == BPT_COUNT)
        return pf_err_set(err, PF_ERR_ARG, "peft: %s cannot attach at target %s", kn, tn);
    if (s->target == CFG_T_FFN_GATE && d->ffn != FFN_SWIGLU)
        return pf_err_set(err, PF_ERR_ARG, "peft: %s on ffn_gate: this model's FFN has no "
                          "gate projection", kn);
    if (matrix_kind(s->kind)) {
        if (s->r_max < 1 || s->r_max > PEFT_MAX_RANK)
            return pf_err_set(err, PF_ERR_ARG, "peft: %s: stored rank %d must be in 1..%d", kn,
                              s->r_max, PEFT_MAX_RANK);
        if (s->rank < 1 || s->rank > s->r_max)
            return pf_err_set(err, PF_ERR_ARG, "peft: %s: rank %d must be in 1..%d (the "
                              "stored rank)", kn, s->rank, s->r_max);
    } else if (s->r_max != 0 || s->rank != 0) {
        return pf_err_set(err, PF_ERR_ARG, "peft: %s is a vector module: it has no rank", kn);
    }
    if (!(s->dropout >= 0.0f && s->dropout < 1.0f))
        return pf_err_set(err, PF_ERR_ARG, "peft: %s: dropout %g must be in [0, 1)", kn,
                          (double)s->dropout);
    if (!(s->alpha >= 0.0f) || !isfinite(s->alpha))
        return pf_err_set(err, PF_ERR_ARG, "peft: %s: alpha %g must be finite and >= 0", kn,
                          (double)s->alpha);
    if (s->width < 0 || s->width > 65536)
        return pf_err_set(err, PF_ERR_ARG, "peft: %s: width %d must be in 0..65536", kn,
                          s->width);
    return PF_OK;
}

int64_t peft_param_count(const struct model *m, const struct peft_spec *s, int r) {
    const struct block_dims *d = dims_of(m);
    int in, out;
    point_dims(d, peft_point(s->kind, s->target), &in, &out);
    int64_t C = d->C, w = module_width(d, s), KV = (int64_t)d->KVH * head_size(d);
    switch (s->kind) {
    case CFG_KIND_LORA: return (int64_t)r * (in + out);
    case CFG_KIND_LRA: return 2 * (int64_t)r * (C + w) + w + C;
    case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER: return 2 * r * C + r + C;
    case CFG_KIND_BITFIT: case CFG_KIND_IA3: return out;
    case CFG_KIND_LN: return C;
    case CFG_KIND_PREFIX: return r * C + w * C + w + 2 * KV * w + 2 * KV + 1;
    default: return 0;
    }
}

int64_t peft_total_params(const struct peft *p) {
    int64_t n = 0;
    for (int i = 0; i < p->n; i++)
        n += peft_param_count(p->model, &p->mod[i].s, p->mod[i].s.rank);
    return n;
}

const char *peft_module_name(const struct peft_module *md, char *buf, size_t n) {
    if (md->s.kind == CFG_KIND_PREFIX)
        snprintf(buf, n, "layers.%d.prefix", md->s.layer);
    else if (md->s.target == CFG_T_FINAL_LN)
        snprintf(buf, n, "final_ln.%s", script_kind_name(md->s.kind));
    else
        snprintf(buf, n, "layers.%d.%s.%s", md->s.layer, script_kind_name(md->s.kind),
                 script_target_name(md->s.target));
    return buf;
}

/* ---- construction ---- */

pf_status peft_init(struct peft *p, struct model *m, uint64_t seed, struct pf_err *err) {
    memset(p, 0, sizeof *p);
    if (!m || !m->layers || m->n_layers < 1)
        return pf_err_set(err, PF_ERR_ARG, "peft_init: the model has no layers");
    p->model = m;
    p->be = m->be;
    p->seed = seed;
    p->n_layers = m->n_layers;
    struct arena_allocator al = backend_arena_allocator(m->be);
    arena_init(&p->par, "peft parameters", &al, 0);
    arena_init(&p->act, "peft activations", &al, 0);
    size_t na = (size_t)m->n_layers * BPT_COUNT * PEFT_PER_POINT;
    p->at = malloc(na * sizeof *p->at);
    if (!p->at)
        return pf_err_set(err, PF_ERR_NOMEM, "peft_init: out of memory");
    for (size_t i = 0; i < na; i++)
        p->at[i] = -1;
    for (int i = 0; i < PEFT_PER_POINT; i++)
        p->final_at[i] = -1;
    return PF_OK;
}

void peft_free(struct peft *p) {
    if (!p)
        return;
    if (p->model && p->model->layers)
        for (int l = 0; l < p->model->n_layers; l++)
            if (p->model->layers[l].hooks.ctx == p)
                memset(&p->model->layers[l].hooks, 0, sizeof p->model->layers[l].hooks);
    if (p->model && p->model->final_hooks.ctx == p)
        memset(&p->model->final_hooks, 0, sizeof p->model->final_hooks);
    for (int i = 0; i < p->n; i++) {
        free(p->mod[i].mask);
        free(p->mod[i].dmask);
    }
    free(p->mod);
    free(p->at);
    free(p->scratch);
    arena_free(&p->act);
    arena_free(&p->par);
    memset(p, 0, sizeof *p);
}

static pf_status add_tensor(struct peft *p, struct peft_module *md, const char *tname, int ndim,
                            int64_t s0, int64_t s1, struct pf_err *err) {
    char name[32];
    int i = md->n_t;
    int64_t shape[2] = {s0, s1};
    snprintf(name, sizeof name, "%.31s", tname);
    pf_status st = tensor_alloc(&md->t[i], &p->par, p->be, TENSOR_F32, name, ndim, shape, err);
    if (st == PF_OK)
        st = tensor_alloc(&md->g[i], &p->par, p->be, TENSOR_F32, name, ndim, shape, err);
    if (st == PF_OK)
        st = op_zero(p->be, &md->g[i], err);
    if (st == PF_OK) {
        md->tname[i] = tname;
        md->n_t++;
    }
    return st;
}

/* Fill tensor i: 0 zeros, 1 uniform(-bound, bound), 2 normal(0, bound). */
static void fill(struct peft_module *md, int i, int how, double bound, uint64_t seed) {
    float *x = tensor_f32(&md->t[i]);
    uint64_t s = seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1));
    for (int64_t j = 0; j < md->t[i].numel; j++) {
        if (how == 0)
            x[j] = 0.0f;
        else if (how == 1)
            x[j] = (float)((2.0 * rng_uniform_at(s, (uint64_t)j) - 1.0) * bound);
        else
            x[j] = (float)(bound * rng_normal_at(s, (uint64_t)j));
    }
}

static pf_status make_tensors(struct peft *p, struct peft_module *md, uint64_t seed,
                              struct pf_err *err) {
    const struct block_dims *d = dims_of(p->model);
    int r = md->s.r_max, in = md->in, out = md->out, C = d->C;
    int w = module_width(d, &md->s), KV = d->KVH * head_size(d);
    pf_status st = PF_OK;
    switch (md->s.kind) {
    case CFG_KIND_LORA: /* A Kaiming-uniform(a = sqrt 5) = U(+-1/sqrt(in)), B = 0 */
        PF_STEP(st, add_tensor(p, md, "lora_A", 2, r, in, err));
        PF_STEP(st, add_tensor(p, md, "lora_B", 2, out, r, err));
        if (st == PF_OK) {
            fill(md, LT_A, 1, 1.0 / sqrt((double)in), seed);
            fill(md, LT_B, 0, 0, seed);
        }
        break;
    case CFG_KIND_LRA: /* spec 1.2 M6 without zero_lr_adapter */
        PF_STEP(st, add_tensor(p, md, "down_left", 2, r, C, err));
        PF_STEP(st, add_tensor(p, md, "down_right", 2, w, r, err));
        PF_STEP(st, add_tensor(p, md, "down_bias", 1, w, 0, err));
        PF_STEP(st, add_tensor(p, md, "up_left", 2, r, w, err));
        PF_STEP(st, add_tensor(p, md, "up_right", 2, C, r, err));
        PF_STEP(st, add_tensor(p, md, "up_bias", 1, C, 0, err));
        if (st == PF_OK) {
            fill(md, RT_D1, 1, sqrt(2.0) * sqrt(6.0 / (C + r)), seed);
            fill(md, RT_D2, 1, sqrt(2.0) * sqrt(6.0 / (r + w)), seed);
            fill(md, RT_DB, 0, 0, seed);
            fill(md, RT_U1, 1, sqrt(6.0 / (w + r)), seed);
            fill(md, RT_U2, 0, 0, seed);
            fill(md, RT_UB, 0, 0, seed);
        }
        break;
    case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER: /* spec 1.3: N(0, 0.01) */
        PF_STEP(st, add_tensor(p, md, "down", 2, r, C, err));
        PF_STEP(st, add_tensor(p, md, "down_bias", 1, r, 0, err));
        PF_STEP(st, add_tensor(p, md, "up", 2, C, r, err));
        PF_STEP(st, add_tensor(p, md, "up_bias", 1, C, 0, err));
        if (st == PF_OK) {
            fill(md, AT_DOWN, 2, 0.01, seed);
            fill(md, AT_DOWN_B, 0, 0, seed);
            fill(md, AT_UP, 2, 0.01, seed);
            fill(md, AT_UP_B, 0, 0, seed);
        }
        break;
    case CFG_KIND_BITFIT:
        PF_STEP(st, add_tensor(p, md, "bias", 1, out, 0, err));
        if (st == PF_OK)
            fill(md, VT_W, 0, 0, seed);
        break;
    case CFG_KIND_LN:
        PF_STEP(st, add_tensor(p, md, "weight", 1, C, 0, err));
        if (st == PF_OK)
            fill(md, VT_W, 0, 0, seed);
        break;
    case CFG_KIND_IA3:
        PF_STEP(st, add_tensor(p, md, "scale", 1, out, 0, err));
        if (st == PF_OK)
            fill(md, VT_W, 0, 0, seed);
        break;
    case CFG_KIND_PREFIX: /* HF-like: embedding N(0,1), Linear default U(+-1/sqrt(fan_in)) */
        PF_STEP(st, add_tensor(p, md, "embedding", 2, r, C, err));
        PF_STEP(st, add_tensor(p, md, "mlp_in", 2, w, C, err));
        PF_STEP(st, add_tensor(p, md, "mlp_in_bias", 1, w, 0, err));
        PF_STEP(st, add_tensor(p, md, "mlp_out", 2, 2 * KV, w, err));
        PF_STEP(st, add_tensor(p, md, "mlp_out_bias", 1, 2 * KV, 0, err));
        PF_STEP(st, add_tensor(p, md, "gate", 1, 1, 0, err));
        if (st == PF_OK) {
            fill(md, PT_E, 2, 1.0, seed);
            fill(md, PT_WE, 1, 1.0 / sqrt((double)C), seed);
            fill(md, PT_BE, 0, 0, seed);
            fill(md, PT_WP, 1, 1.0 / sqrt((double)w), seed);
            fill(md, PT_BP, 0, 0, seed);
            fill(md, PT_LAMBDA, 0, 0, seed);
        }
        break;
    default:
        st = pf_err_set(err, PF_ERR_ARG, "peft: unknown kind %d", (int)md->s.kind);
    }
    return st;
}

static void set_hooks(struct peft *p) {
    for (int l = 0; l < p->model->n_layers; l++) {
        struct block_hooks *h = &p->model->layers[l].hooks;
        h->ctx = p;
        h->forward = peft_hook_forward;
        h->backward = peft_hook_backward;
        h->points = 0;
        for (int pt = 0; pt < BPT_COUNT; pt++)
            if (p->at[((size_t)l * BPT_COUNT + pt) * PEFT_PER_POINT] >= 0)
                h->points |= 1u << pt;
    }
    struct model_norm_hooks *f = &p->model->final_hooks;
    f->ctx = p;
    f->active = p->final_at[0] >= 0;
    f->forward = peft_final_forward;
    f->backward = peft_final_backward;
}

pf_status peft_add(struct peft *p, const struct peft_spec *s, uint64_t seed, int *index,
                   struct pf_err *err) {
    pf_status st = peft_check_spec(p->model, s, err);
    if (st != PF_OK)
        return st;
    enum block_point pt = peft_point(s->kind, s->target);
    int *slot = pt == PEFT_FINAL ? p->final_at
                                 : &p->at[((size_t)s->layer * BPT_COUNT + pt) * PEFT_PER_POINT];
    int k = 0;
    for (; k < PEFT_PER_POINT && slot[k] >= 0; k++) {
        const struct peft_module *o = &p->mod[slot[k]];
        if (o->s.kind == s->kind)
            return pf_err_set(err, PF_ERR_ARG, "peft: layer %d already has a %s at %s",
                              s->layer, script_kind_name(s->kind),
                              script_target_name(s->target));
    }
    if (k == PEFT_PER_POINT)
        return pf_err_set(err, PF_ERR_ARG, "peft: more than %d modules at one point of layer %d",
                          PEFT_PER_POINT, s->layer);
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        struct peft_module *nm = realloc(p->mod, (size_t)cap * sizeof *nm);
        if (!nm)
            return pf_err_set(err, PF_ERR_NOMEM, "peft_add: out of memory");
        p->mod = nm;
        p->cap = cap;
    }
    struct peft_module *md = &p->mod[p->n];
    memset(md, 0, sizeof *md);
    md->s = *s;
    if (md->s.kind == CFG_KIND_PREFIX)
        md->s.target = CFG_T_ATTN;
    md->index = p->n;
    md->point = pt;
    md->gate = 1.0f;
    point_dims(dims_of(p->model), pt, &md->in, &md->out);
    int nm = s->r_max > 0 ? s->r_max : 1;
    md->mask = calloc((size_t)nm, sizeof *md->mask);
    md->dmask = calloc((size_t)nm, sizeof *md->dmask);
    if (!md->mask || !md->dmask) {
        free(md->mask);
        free(md->dmask);
        return pf_err_set(err, PF_ERR_NOMEM, "peft_add: out of memory");
    }
    for (int j = 0; j < s->r_max; j++)
        md->mask[j] = j < s->rank ? 1.0f : 0.0f;
    st = make_tensors(p, md, seed, err);
    if (st != PF_OK) {
        free(md->mask);
        free(md->dmask);
        return st;
    }
    /* keep kinds in forward order at a point: lora, lra, bitfit, ln, serial, parallel, ia3 */
    int pos = k;
    while (pos > 0 && p->mod[slot[pos - 1]].s.kind > s->kind) {
        slot[pos] = slot[pos - 1];
        pos--;
    }
    slot[pos] = p->n;
    if (index)
        *index = p->n;
    p->n++;
    p->B = p->T = 0; /* activations are carved again at the next forward */
    set_hooks(p);
    return PF_OK;
}

pf_status peft_set_rank(struct peft *p, int index, int rank, struct pf_err *err) {
    if (index < 0 || index >= p->n)
        return pf_err_set(err, PF_ERR_ARG, "peft_set_rank: no module %d", index);
    struct peft_module *md = &p->mod[index];
    if (rank < 1 || rank > md->s.r_max)
        return pf_err_set(err, PF_ERR_ARG, "peft_set_rank: rank %d outside 1..%d", rank,
                          md->s.r_max);
    md->s.rank = rank;
    md->custom_mask = 0;
    for (int j = 0; j < md->s.r_max; j++)
        md->mask[j] = j < rank ? 1.0f : 0.0f;
    return PF_OK;
}

pf_status peft_set_mask(struct peft *p, int index, const float *mask, struct pf_err *err) {
    if (index < 0 || index >= p->n)
        return pf_err_set(err, PF_ERR_ARG, "peft_set_mask: no module %d", index);
    struct peft_module *md = &p->mod[index];
    if (md->s.r_max < 1)
        return pf_err_set(err, PF_ERR_ARG, "peft_set_mask: a vector module has no rank mask");
    for (int j = 0; j < md->s.r_max; j++)
        if (!isfinite(mask[j]))
            return pf_err_set(err, PF_ERR_NUMERIC, "peft_set_mask: mask[%d] is not finite", j);
    for (int j = 0; j < md->s.r_max; j++)
        md->mask[j] = mask[j];
    md->custom_mask = 1;
    return PF_OK;
}

void peft_set_training(struct peft *p, int on) {
    p->training = on;
}

void peft_next_step(struct peft *p) {
    p->step++;
}

pf_status peft_zero_grad(struct peft *p, struct pf_err *err) {
    for (int i = 0; i < p->n; i++) {
        struct peft_module *md = &p->mod[i];
        for (int j = 0; j < md->n_t; j++) {
            pf_status st = op_zero(p->be, &md->g[j], err);
            if (st != PF_OK)
                return st;
        }
        md->dgate = 0.0;
        for (int j = 0; j < (md->s.r_max > 0 ? md->s.r_max : 1); j++)
            md->dmask[j] = 0.0;
    }
    return PF_OK;
}

/* ---- per-batch activations ---- */

static pf_status act(struct peft *p, struct peft_module *md, int slot, int64_t rows, int64_t cols,
                     struct pf_err *err) {
    int64_t shape[2] = {rows, cols};
    char name[32];
    snprintf(name, sizeof name, "peft%d.%d", md->index, slot);
    return tensor_alloc(&md->a[slot], &p->act, p->be, TENSOR_F32, name, 2, shape, err);
}

pf_status peft_bind(struct peft *p, int B, int T, struct pf_err *err) {
    arena_free(&p->act);
    struct arena_allocator al = backend_arena_allocator(p->be);
    arena_init(&p->act, "peft activations", &al, 0);
    const struct block_dims *d = dims_of(p->model);
    int64_t N = (int64_t)B * T;
    int C = d->C, KV = d->KVH * head_size(d);
    pf_status st = PF_OK;
    for (int i = 0; i < p->n && st == PF_OK; i++) {
        struct peft_module *md = &p->mod[i];
        int r = md->s.r_max, w = module_width(d, &md->s);
        memset(md->a, 0, sizeof md->a);
        switch (md->s.kind) {
        case CFG_KIND_LORA:
            PF_STEP(st, act(p, md, LA_U, N, r, err));
            PF_STEP(st, act(p, md, LA_VS, N, r, err));
            PF_STEP(st, act(p, md, LA_DV, N, r, err));
            if (md->s.dropout > 0.0f) {
                PF_STEP(st, act(p, md, LA_XD, N, md->in, err));
                PF_STEP(st, act(p, md, LA_DXD, N, md->in, err));
            }
            break;
        case CFG_KIND_LRA:
            PF_STEP(st, act(p, md, RA_Z, N, C, err));
            PF_STEP(st, act(p, md, RA_T1, N, r, err));
            PF_STEP(st, act(p, md, RA_T1M, N, r, err));
            PF_STEP(st, act(p, md, RA_T2, N, w, err));
            PF_STEP(st, act(p, md, RA_A, N, w, err));
            PF_STEP(st, act(p, md, RA_U1, N, r, err));
            PF_STEP(st, act(p, md, RA_U1M, N, r, err));
            PF_STEP(st, act(p, md, RA_S1, N, r, err));
            PF_STEP(st, act(p, md, RA_S2, N, w, err));
            PF_STEP(st, act(p, md, RA_S3, N, w, err));
            break;
        case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER:
            if (md->s.kind == CFG_KIND_SERIAL_ADAPTER)
                PF_STEP(st, act(p, md, AA_Z, N, C, err));
            PF_STEP(st, act(p, md, AA_HPRE, N, r, err));
            PF_STEP(st, act(p, md, AA_HM, N, r, err));
            PF_STEP(st, act(p, md, AA_ACT, N, r, err));
            PF_STEP(st, act(p, md, AA_GACT, N, r, err));
            PF_STEP(st, act(p, md, AA_S, N, r, err));
            break;
        case CFG_KIND_LN:
            PF_STEP(st, act(p, md, NA_XHAT, N, C, err));
            PF_STEP(st, act(p, md, NA_RSTD, N, 1, err));
            break;
        case CFG_KIND_IA3:
            PF_STEP(st, act(p, md, IA_YPRE, N, md->out, err));
            break;
        case CFG_KIND_PREFIX:
            PF_STEP(st, act(p, md, PA_KV, r, 2 * KV, err));
            PF_STEP(st, act(p, md, PA_HPRE, r, w, err));
            PF_STEP(st, act(p, md, PA_TH, r, w, err));
            PF_STEP(st, act(p, md, PA_PROB, N * d->H, r, err));
            PF_STEP(st, act(p, md, PA_POUT, N, (int64_t)d->H * head_size(d), err));
            PF_STEP(st, act(p, md, PA_DKV, r, 2 * KV, err));
            PF_STEP(st, act(p, md, PA_DTH, r, w, err));
            break;
        default:
            break;
        }
    }
    if (st == PF_OK) {
        p->B = B;
        p->T = T;
    } else {
        p->B = p->T = 0;
    }
    return st;
}

/* ---- hook dispatch ---- */

static int layer_of(const struct peft *p, const struct block *blk) {
    return (int)(blk - p->model->layers);
}

static pf_status run_one(struct peft *p, struct peft_module *md, struct block *blk,
                         const struct tensor *x, struct tensor *y, struct pf_err *err) {
    switch (md->s.kind) {
    case CFG_KIND_LORA: return peft_lora_forward(p, md, x, y, err);
    case CFG_KIND_LRA: case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER:
        return peft_adapter_forward(p, md, x, y, err);
    case CFG_KIND_PREFIX: return peft_prefix_forward(p, md, blk, x, y, err);
    default: return peft_vector_forward(p, md, blk, x, y, err);
    }
}

pf_status peft_hook_forward(void *ctx, struct block *blk, enum block_point pt,
                            const struct tensor *x, struct tensor *y, struct pf_err *err) {
    struct peft *p = ctx;
    pf_status st = PF_OK;
    if (blk->d.B != p->B || blk->d.T != p->T)
        PF_STEP(st, peft_bind(p, blk->d.B, blk->d.T, err));
    const int *slot = &p->at[((size_t)layer_of(p, blk) * BPT_COUNT + pt) * PEFT_PER_POINT];
    for (int k = 0; k < PEFT_PER_POINT && slot[k] >= 0 && st == PF_OK; k++)
        if (!p->mod[slot[k]].off)
            st = run_one(p, &p->mod[slot[k]], blk, x, y, err);
    return st;
}

pf_status peft_final_forward(void *ctx, struct model *m, const struct tensor *x,
                             struct tensor *y, struct pf_err *err) {
    struct peft *p = ctx;
    pf_status st = PF_OK;
    if (m->B != p->B || m->T != p->T)
        PF_STEP(st, peft_bind(p, m->B, m->T, err));
    for (int k = 0; k < PEFT_PER_POINT && p->final_at[k] >= 0 && st == PF_OK; k++)
        if (!p->mod[p->final_at[k]].off)
            st = peft_vector_forward(p, &p->mod[p->final_at[k]], NULL, x, y, err);
    return st;
}

pf_status peft_final_backward(void *ctx, struct model *m, const struct tensor *x,
                              const struct tensor *dy, struct tensor *dx, struct pf_err *err) {
    struct peft *p = ctx;
    if (m->B != p->B || m->T != p->T)
        return pf_err_set(err, PF_ERR_ARG, "peft: backward without a forward of this batch");
    int k = 0;
    while (k < PEFT_PER_POINT && p->final_at[k] >= 0)
        k++;
    pf_status st = PF_OK;
    /* the final-norm modules are additive: dy is only read */
    for (k = k - 1; k >= 0 && st == PF_OK; k--)
        if (!p->mod[p->final_at[k]].off)
            st = peft_vector_backward(p, &p->mod[p->final_at[k]], NULL, x, (struct tensor *)dy,
                                      dx, err);
    return st;
}

pf_status peft_hook_backward(void *ctx, struct block *blk, enum block_point pt,
                             const struct tensor *x, struct tensor *dy, struct tensor *dx,
                             struct pf_err *err) {
    struct peft *p = ctx;
    if (blk->d.B != p->B || blk->d.T != p->T)
        return pf_err_set(err, PF_ERR_ARG, "peft: backward without a forward of this batch");
    const int *slot = &p->at[((size_t)layer_of(p, blk) * BPT_COUNT + pt) * PEFT_PER_POINT];
    int k = 0;
    while (k < PEFT_PER_POINT && slot[k] >= 0)
        k++;
    pf_status st = PF_OK;
    for (k = k - 1; k >= 0 && st == PF_OK; k--) {
        struct peft_module *md = &p->mod[slot[k]];
        if (md->off)
            continue;
        switch (md->s.kind) {
        case CFG_KIND_LORA: st = peft_lora_backward(p, md, x, dy, dx, err); break;
        case CFG_KIND_LRA: case CFG_KIND_SERIAL_ADAPTER: case CFG_KIND_PARALLEL_ADAPTER:
            st = peft_adapter_backward(p, md, x, dy, dx, err);
            break;
        case CFG_KIND_PREFIX: st = peft_prefix_backward(p, md, blk, x, dy, dx, err); break;
        default: st = peft_vector_backward(p, md, blk, x, dy, dx, err); break;
        }
    }
    return st;
}
