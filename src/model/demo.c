/* demo.c - the synthetic-task training loop of demo.h. Owns one arena for the run.
 * Writes no files and prints nothing (progress goes through the callback). */
#include "model/demo.h"

#include <string.h>
#include <time.h>

#include "core/ops.h"
#include "model/block.h"
#include "util/rng.h"
#include "util/xalloc.h"

#define DEMO_MAX_LAYERS 8
#define DEMO_CLS 1
#define DEMO_MARK 2
#define DEMO_IGNORE (-100)

/* Every trainable tensor of the demo model with its gradient and AdamW moments. */
struct demo_slot {
    struct tensor *p, *g;
    struct tensor m, v;
    int decay; /* weight decay on matrices only, as usual */
};

struct demo {
    struct demo_config cfg;
    struct backend *be;
    struct arena ar;
    struct block blk[DEMO_MAX_LAYERS];
    struct tensor wte, wpe, wcls, bcls, dwte, dwpe, dwcls, dbcls;
    struct tensor ids, pos, targets, x, dx[2], logits, lse, hidden_grad;
    struct demo_slot *slots;
    int n_slots;
};

struct demo_config demo_default_config(void) {
    struct demo_config c = {.n_layer = 2, .B = 32, .T = 12, .C = 32, .H = 4, .KVH = 2, .F = 64,
                            .vocab = 16, .steps = 300, .warmup = 30, .log_every = 50,
                            .lr = 3e-3f, .weight_decay = 0.01f, .clip = 1.0f, .seed = 1234};
    return c;
}

static pf_status alloc2(struct demo *m, struct tensor *t, enum tensor_dtype dt, const char *name,
                        int64_t d0, int64_t d1, struct pf_err *err) {
    int64_t s[2] = {d0, d1};
    return tensor_alloc(t, &m->ar, m->be, dt, name, d1 ? 2 : 1, s, err);
}

static void fill_normal(struct tensor *t, uint64_t seed, float std) {
    float *x = tensor_f32(t);
    for (int64_t i = 0; i < t->numel; i++)
        x[i] = std * rng_normal_at(seed, (uint64_t)i);
}

static void add_slot(struct demo *m, struct tensor *p, struct tensor *g, int decay) {
    m->slots = xrealloc(m->slots, (size_t)(m->n_slots + 1) * sizeof *m->slots);
    struct demo_slot *s = &m->slots[m->n_slots++];
    memset(s, 0, sizeof *s);
    s->p = p;
    s->g = g;
    s->decay = decay;
}

static pf_status demo_build(struct demo *m, struct pf_err *err) {
    const struct demo_config *c = &m->cfg;
    int64_t N = (int64_t)c->B * c->T;
    pf_status st = PF_OK;
    PF_STEP(st, alloc2(m, &m->wte, TENSOR_F32, "wte", c->vocab, c->C, err));
    PF_STEP(st, alloc2(m, &m->wpe, TENSOR_F32, "wpe", c->T, c->C, err));
    PF_STEP(st, alloc2(m, &m->wcls, TENSOR_F32, "classifier.weight", 2, c->C, err));
    PF_STEP(st, alloc2(m, &m->bcls, TENSOR_F32, "classifier.bias", 2, 0, err));
    PF_STEP(st, alloc2(m, &m->dwte, TENSOR_F32, "d_wte", c->vocab, c->C, err));
    PF_STEP(st, alloc2(m, &m->dwpe, TENSOR_F32, "d_wpe", c->T, c->C, err));
    PF_STEP(st, alloc2(m, &m->dwcls, TENSOR_F32, "d_classifier.weight", 2, c->C, err));
    PF_STEP(st, alloc2(m, &m->dbcls, TENSOR_F32, "d_classifier.bias", 2, 0, err));
    PF_STEP(st, alloc2(m, &m->ids, TENSOR_I32, "ids", N, 0, err));
    PF_STEP(st, alloc2(m, &m->pos, TENSOR_I32, "pos", N, 0, err));
    PF_STEP(st, alloc2(m, &m->targets, TENSOR_I32, "targets", N, 0, err));
    PF_STEP(st, alloc2(m, &m->logits, TENSOR_F32, "logits", N, 2, err));
    PF_STEP(st, alloc2(m, &m->lse, TENSOR_F32, "lse", N, 0, err));
    int64_t s3[3] = {c->B, c->T, c->C};
    PF_STEP(st, tensor_alloc(&m->x, &m->ar, m->be, TENSOR_F32, "x", 3, s3, err));
    PF_STEP(st, tensor_alloc(&m->dx[0], &m->ar, m->be, TENSOR_F32, "dx0", 3, s3, err));
    PF_STEP(st, tensor_alloc(&m->dx[1], &m->ar, m->be, TENSOR_F32, "dx1", 3, s3, err));
    struct block_dims bd = {.B = c->B, .T = c->T, .C = c->C, .H = c->H, .KVH = c->KVH,
                            .F = c->F, .ln_eps = 1e-12f, .act = GELU_ERF};
    for (int l = 0; l < c->n_layer; l++)
        PF_STEP(st, block_init(&m->blk[l], &m->ar, m->be, &bd, err));
    if (st != PF_OK)
        return st;
    fill_normal(&m->wte, c->seed ^ 0x11, 0.02f);
    fill_normal(&m->wpe, c->seed ^ 0x22, 0.02f);
    fill_normal(&m->wcls, c->seed ^ 0x33, 0.02f);
    memset(m->bcls.data, 0, tensor_nbytes(&m->bcls));
    add_slot(m, &m->wte, &m->dwte, 0);
    add_slot(m, &m->wpe, &m->dwpe, 0);
    for (int l = 0; l < c->n_layer; l++) {
        block_init_params(&m->blk[l], c->seed * 31 + (uint64_t)l);
        for (int i = 0; i < BP_COUNT; i++)
            if (m->blk[l].p[i].data) /* parameters this layer shape has */
                add_slot(m, &m->blk[l].p[i], &m->blk[l].g[i], m->blk[l].p[i].ndim == 2);
    }
    add_slot(m, &m->wcls, &m->dwcls, 1);
    add_slot(m, &m->bcls, &m->dbcls, 0);
    for (int i = 0; i < m->n_slots && st == PF_OK; i++) {
        struct demo_slot *s = &m->slots[i];
        PF_STEP(st, tensor_alloc(&s->m, &m->ar, m->be, TENSOR_F32, "adam_m", s->p->ndim,
                                 s->p->shape, err));
        PF_STEP(st, tensor_alloc(&s->v, &m->ar, m->be, TENSOR_F32, "adam_v", s->p->ndim,
                                 s->p->shape, err));
        PF_STEP(st, op_zero(m->be, &s->m, err));
        PF_STEP(st, op_zero(m->be, &s->v, err));
        PF_STEP(st, op_zero(m->be, s->g, err));
    }
    return st;
}

/* Batch `index` of the stream `stream`: [CLS] then random tokens; label = marker present. */
static void demo_batch(struct demo *m, uint64_t stream, uint64_t index) {
    const struct demo_config *c = &m->cfg;
    int32_t *ids = tensor_i32(&m->ids), *pos = tensor_i32(&m->pos), *tg = tensor_i32(&m->targets);
    uint64_t base = index * (uint64_t)c->B * (uint64_t)c->T;
    for (int b = 0; b < c->B; b++) {
        int has = 0;
        for (int t = 0; t < c->T; t++) {
            size_t i = (size_t)b * c->T + t;
            int tok = DEMO_CLS;
            if (t > 0) {
                float u = rng_uniform_at(stream, base + i);
                tok = DEMO_MARK + (int)(u * (float)(c->vocab - DEMO_MARK));
                if (tok >= c->vocab)
                    tok = c->vocab - 1;
                has |= tok == DEMO_MARK;
            }
            ids[i] = tok;
            pos[i] = t;
            tg[i] = DEMO_IGNORE;
        }
        tg[(size_t)b * c->T] = has;
    }
}

static pf_status demo_forward(struct demo *m, float *loss, struct pf_err *err) {
    pf_status st = PF_OK;
    const struct tensor *h = &m->x;
    PF_STEP(st, op_embedding_forward(m->be, &m->x, &m->ids, &m->wte, 0, err));
    PF_STEP(st, op_embedding_forward(m->be, &m->x, &m->pos, &m->wpe, 1, err));
    for (int l = 0; l < m->cfg.n_layer && st == PF_OK; l++) {
        PF_STEP(st, block_forward(&m->blk[l], h, NULL, err));
        h = &m->blk[l].a[BA_Y];
    }
    PF_STEP(st, op_matmul_forward(m->be, &m->logits, h, &m->wcls, &m->bcls, 0, 1, err));
    PF_STEP(st, op_crossentropy_forward(m->be, loss, &m->lse, &m->logits, &m->targets, DEMO_IGNORE,
                                         err));
    return st;
}

static pf_status demo_backward(struct demo *m, struct pf_err *err) {
    pf_status st = PF_OK;
    int L = m->cfg.n_layer;
    const struct tensor *top = L ? &m->blk[L - 1].a[BA_Y] : &m->x;
    PF_STEP(st, op_crossentropy_backward(m->be, &m->logits, &m->logits, &m->lse, &m->targets,
                                          DEMO_IGNORE, 1.0f, err));
    PF_STEP(st, op_matmul_backward(m->be, &m->dx[L % 2], &m->dwcls, &m->dbcls, &m->logits, top,
                                    &m->wcls, 0, 1, 0, err));
    for (int l = L - 1; l >= 0 && st == PF_OK; l--) /* dx ping-pongs between two buffers */
        PF_STEP(st, block_backward(&m->blk[l], &m->dx[(l + 1) % 2], &m->dx[l % 2], err));
    PF_STEP(st, op_embedding_backward(m->be, &m->dwte, &m->dx[0], &m->ids, err));
    PF_STEP(st, op_embedding_backward(m->be, &m->dwpe, &m->dx[0], &m->pos, err));
    return st;
}

static pf_status demo_update(struct demo *m, int step, float lr, struct pf_err *err) {
    struct tensor *grads[DEMO_MAX_LAYERS * BP_COUNT + 4];
    pf_status st = PF_OK;
    double norm;
    for (int i = 0; i < m->n_slots; i++)
        grads[i] = m->slots[i].g;
    PF_STEP(st, op_clip_grad_norm(m->be, grads, m->n_slots, m->cfg.clip, &norm, err));
    for (int i = 0; i < m->n_slots && st == PF_OK; i++) {
        struct demo_slot *s = &m->slots[i];
        struct adamw_params hp = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                  .weight_decay = s->decay ? m->cfg.weight_decay : 0.0f,
                                  .step = step};
        PF_STEP(st, op_adamw_update(m->be, s->p, s->g, &s->m, &s->v, &hp, err));
        PF_STEP(st, op_zero(m->be, s->g, err));
    }
    return st;
}

static pf_status demo_eval(struct demo *m, float *accuracy, struct pf_err *err) {
    int correct = 0, total = 0;
    pf_status st = PF_OK;
    for (int e = 0; e < 8 && st == PF_OK; e++) {
        float loss;
        demo_batch(m, m->cfg.seed ^ 0xE7A1, (uint64_t)e);
        PF_STEP(st, demo_forward(m, &loss, err));
        const float *lg = tensor_f32(&m->logits);
        const int32_t *tg = tensor_i32(&m->targets);
        for (int b = 0; b < m->cfg.B && st == PF_OK; b++) {
            size_t r = (size_t)b * m->cfg.T;
            correct += (lg[2 * r + 1] > lg[2 * r]) == (tg[r] == 1);
            total++;
        }
    }
    *accuracy = total ? (float)correct / (float)total : 0.0f;
    return st;
}

static uint64_t demo_hash(const struct demo *m) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < m->n_slots; i++) {
        const unsigned char *p = m->slots[i].p->data;
        for (size_t j = 0; j < tensor_nbytes(m->slots[i].p); j++)
            h = (h ^ p[j]) * 1099511628211ULL;
    }
    return h;
}

static pf_status demo_check(const struct demo_config *c, struct pf_err *err) {
    if (c->n_layer < 0 || c->n_layer > DEMO_MAX_LAYERS)
        return pf_err_set(err, PF_ERR_ARG, "demo: n_layer %d outside [0, %d]", c->n_layer,
                          DEMO_MAX_LAYERS);
    if (c->vocab <= DEMO_MARK + 1 || c->steps < 1 || c->log_every < 1 || c->T < 2)
        return pf_err_set(err, PF_ERR_ARG, "demo: need vocab > %d, T >= 2, steps >= 1, "
                          "log_every >= 1", DEMO_MARK + 1);
    return PF_OK;
}

pf_status demo_run(struct backend *be, const struct demo_config *cfg, demo_log_fn log, void *ctx,
                   struct demo_result *res, struct pf_err *err) {
    struct demo m;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    pf_status st = demo_check(cfg, err);
    if (st != PF_OK)
        return st;
    m.cfg = *cfg;
    m.be = be;
    struct arena_allocator al = backend_arena_allocator(be);
    arena_init(&m.ar, "demo", &al, 0);
    PF_STEP(st, demo_build(&m, err));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double window = 0.0;
    int in_window = 0;
    for (int step = 1; step <= cfg->steps && st == PF_OK; step++) {
        float loss = 0.0f, lr = sched_linear_warmup(step - 1, cfg->warmup, cfg->steps, cfg->lr);
        demo_batch(&m, cfg->seed, (uint64_t)step);
        PF_STEP(st, demo_forward(&m, &loss, err));
        PF_STEP(st, demo_backward(&m, err));
        PF_STEP(st, demo_update(&m, step, lr, err));
        window += loss;
        in_window++;
        if (st == PF_OK && (step % cfg->log_every == 0 || step == cfg->steps)) {
            float mean = (float)(window / in_window);
            if (step <= cfg->log_every)
                res->first_loss = mean;
            res->final_loss = mean;
            if (log)
                log(ctx, step, mean, lr);
            window = 0.0;
            in_window = 0;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    PF_STEP(st, demo_eval(&m, &res->eval_accuracy, err));
    if (st == PF_OK)
        res->param_hash = demo_hash(&m);
    xfree(m.slots);
    arena_free(&m.ar);
    return st;
}
