/* train.c - setting up a fixed-structure training run (train.h): the task, the model, the
 * tokenizer, the data, the modules and the trainable tensors. */
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ops.h"
#include "model/model_load.h"
#include "peft/peft_io.h"
#include "tok/tok.h"
#include "util/atomic.h"
#include "util/xalloc.h"

/* ---- the task ---- */

static enum data_format format_of(const struct run_config *c) {
    if (c->task.format == CFG_FORMAT_TSV)
        return DATA_TSV;
    if (c->task.format == CFG_FORMAT_CSV)
        return DATA_CSV;
    if (c->task.format == CFG_FORMAT_JSONL)
        return DATA_JSONL;
    const char *dot = strrchr(c->task.train, '.');
    if (dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".json")))
        return DATA_JSONL;
    if (dot && !strcmp(dot, ".csv"))
        return DATA_CSV;
    return DATA_TSV;
}

/* A built-in GLUE/SuperGLUE layout when the task name is one, else the config's columns. */
static pf_status task_from_config(const struct run_config *c, struct data_task *t,
                                  struct pf_err *err) {
    struct pf_err e2 = {0};
    if (data_task_builtin(c->task.name, t, &e2) == PF_OK) {
        t->max_len = c->task.max_len;
        return PF_OK;
    }
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", c->task.name);
    t->format = format_of(c);
    t->header = 1;
    t->quoting = t->format == DATA_CSV;
    snprintf(t->text, sizeof t->text, "%s", c->task.text_column);
    snprintf(t->pair, sizeof t->pair, "%s", c->task.pair_column);
    snprintf(t->label, sizeof t->label, "%s", c->task.label_column);
    t->regression = c->task.type == CFG_TASK_REGRESSION;
    t->split = SPLIT_FILES;
    t->max_len = c->task.max_len;
    if (t->regression) {
        t->n_labels = 1;
        t->n_metrics = 2;
        t->metrics[0] = METRIC_PEARSON;
        t->metrics[1] = METRIC_SPEARMAN;
        return PF_OK;
    }
    if (c->task.n_labels >= 2) {
        t->n_labels = c->task.n_labels;
        t->class_label = 1; /* given by name: an index 0..n-1 in a file means that name */
        for (int i = 0; i < t->n_labels; i++)
            snprintf(t->labels[i], sizeof t->labels[i], "%s", c->task.labels[i]);
    } else { /* no task.labels: the training file's distinct labels, in a stable order */
        struct data_read_opts ro = {.skip_bad = c->train.skip_bad_rows};
        pf_status st = data_discover_labels(c->task.train, t, &ro, err);
        if (st != PF_OK)
            return st;
    }
    t->n_metrics = 2;
    t->metrics[0] = METRIC_ACC;
    t->metrics[1] = t->n_labels == 2 ? METRIC_F1 : METRIC_MACRO_F1;
    return PF_OK;
}

static int is_dir(const char *p) {
    struct stat sb;
    return p[0] && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ---- open / close ---- */

void trainer_close(struct trainer *t) {
    for (int i = 0; i < t->n_tp; i++) {
        free(t->tp[i].m.data);
        free(t->tp[i].v.data);
    }
    free(t->tp);
    for (int i = 0; i < 4; i++)
        data_encoded_free(&t->enc[i]);
    data_splits_free(&t->sp);
    if (t->tok)
        tok_free(t->tok);
    peft_free(&t->p);
    model_free(&t->m);
    memset(t, 0, sizeof *t);
}

pf_status trainer_open(struct trainer *t, const struct run_config *cfg, struct backend *be,
                       struct pf_err *err) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->be = be;
    pf_status st = task_from_config(cfg, &t->task, err);
    if (st != PF_OK)
        return st;
    struct model_load_opts o = {.head = HEAD_SEQ_CLS,
                                .n_labels = t->task.regression ? 1 : t->task.n_labels,
                                .seed = cfg->seed, .reinit_mismatched_head = 1};
    struct model_load_info info;
    st = model_load(&t->m, cfg->model.path, be, &o, &info, err);
    if (st != PF_OK)
        return st;
    t->head_reinitialised = info.n_reinitialised;
    if (cfg->model.random_init) /* the same stream run_open uses, so eval and export agree */
        model_init_params(&t->m, cfg->seed ^ RUN_RANDOM_INIT_STREAM, 0);
    t->m.skip_input_grad = 1; /* frozen embeddings: no gradient below layer 0 */
    t->m.cfg.regression = t->task.regression;
    st = tok_load_dir(&t->tok, cfg->model.path, hf_family_name(t->m.cfg.family), err);
    struct data_read_opts ro = {.skip_bad = cfg->train.skip_bad_rows};
    if (st == PF_OK) {
        int folder = is_dir(cfg->task.train);
        st = data_load_splits(&t->task, cfg->task.train, folder ? NULL : cfg->task.dev,
                              folder ? NULL : cfg->task.test, cfg->seed, &ro, &t->sp, err);
    }
    if (st == PF_OK && t->sp.train.n == 0)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: no training examples", cfg->task.train);
    const struct data_set *sets[4] = {&t->sp.train, &t->sp.dev, &t->sp.test, &t->sp.test2};
    for (int i = 0; i < 4 && st == PF_OK; i++)
        if (sets[i]->n > 0)
            st = data_encode(sets[i], t->tok, t->task.max_len, &t->enc[i], err);
    if (st == PF_OK) {
        t->pad_id = t->m.cfg.pad_id >= 0 ? t->m.cfg.pad_id : tok_pad_id(t->tok);
        if (t->pad_id < 0)
            t->pad_id = 0; /* only encoders get here (decoders need pad_token_id for B > 1) */
        st = peft_init(&t->p, &t->m, cfg->seed, err);
    }
    if (st != PF_OK) {
        trainer_close(t);
        return st;
    }
    t->opened = 1;
    return PF_OK;
}

/* ---- the structure ---- */

pf_status train_space_specs(const struct run_config *cfg, const struct model *m,
                            struct peft_spec **out, int *n_out, struct pf_err *err) {
    *out = NULL;
    *n_out = 0;
    int L = m->n_layers, cap = 16, n = 0;
    struct peft_spec *s = xmalloc((size_t)cap * sizeof *s);
    for (int k = 0; k < CFG_KIND_COUNT; k++) {
        const struct cfg_group *g = &cfg->space.group[k];
        if (!g->enabled)
            continue;
        int nl = g->all_layers ? L : g->n_layers;
        for (int i = 0; i < nl; i++) {
            int layer = g->all_layers ? i : g->layers[i];
            if (layer >= L) {
                xfree(s);
                return pf_err_set(err, PF_ERR_ARG, "%s: space.%s.layers: layer %d does not "
                                  "exist (the model has %d layers, 0..%d)", cfg->file,
                                  script_kind_name((enum cfg_kind)k), layer, L, L - 1);
            }
            unsigned targets = k == CFG_KIND_PREFIX ? 1u << CFG_T_ATTN : g->targets;
            for (int tg = 0; tg < CFG_T_COUNT; tg++) {
                if (!(targets & (1u << tg)))
                    continue;
                /* the final norm is the model's, not a layer's: once, with layer -1 */
                if (tg == CFG_T_FINAL_LN && i > 0)
                    continue;
                if (n == cap) {
                    cap *= 2;
                    s = xrealloc(s, (size_t)cap * sizeof *s);
                }
                struct peft_spec *p = &s[n++];
                memset(p, 0, sizeof *p);
                p->kind = (enum cfg_kind)k;
                p->target = (enum cfg_target)tg;
                p->layer = tg == CFG_T_FINAL_LN ? -1 : layer;
                if (g->n_ranks > 0)
                    p->r_max = p->rank = g->ranks[g->n_ranks - 1];
                p->alpha = (float)g->alpha;
                p->dropout = (float)g->dropout;
                if (k == CFG_KIND_LRA && g->reduction > 0)
                    p->width = m->cfg.hidden / g->reduction > 0 ? m->cfg.hidden / g->reduction
                                                                : 1;
            }
        }
    }
    *out = s;
    *n_out = n;
    return PF_OK;
}

static pf_status add_param(struct trainer *t, const char *name, struct tensor *p,
                           struct tensor *g, int decay, struct pf_err *err) {
    struct train_param *tp = &t->tp[t->n_tp];
    memset(tp, 0, sizeof *tp);
    snprintf(tp->name, sizeof tp->name, "%s", name);
    tp->p = p;
    tp->g = g;
    tp->decay = decay;
    size_t n = (size_t)(p->numel ? p->numel : 1);
    float *m = calloc(n, sizeof *m), *v = calloc(n, sizeof *v);
    pf_status st = PF_OK;
    if (!m || !v)
        st = pf_err_set(err, PF_ERR_NOMEM, "train: out of memory for the moments of %s", name);
    if (st == PF_OK)
        st = tensor_wrap(&tp->m, t->be, m, TENSOR_F32, "adam_m", p->ndim, p->shape, err);
    if (st == PF_OK)
        st = tensor_wrap(&tp->v, t->be, v, TENSOR_F32, "adam_v", p->ndim, p->shape, err);
    if (st != PF_OK) {
        free(m);
        free(v);
        return st;
    }
    t->n_tp++;
    return PF_OK;
}

pf_status trainer_build(struct trainer *t, const struct peft_spec *specs, int n, int full,
                        struct pf_err *err) {
    pf_status st = PF_OK;
    t->full = full;
    if (!full)
        st = peft_add_specs(&t->p, specs, n, t->cfg.seed, "structure", err);
    if (st != PF_OK)
        return st;
    int cap = peft_tensor_count(&t->p);
    for (int i = 0; i < t->m.n_params; i++)
        cap += t->m.params[i].nparts;
    t->tp = xcalloc((size_t)(cap ? cap : 1), sizeof *t->tp);
    for (int i = 0; i < t->p.n && st == PF_OK; i++) {
        struct peft_module *md = &t->p.mod[i];
        for (int j = 0; j < md->n_t && st == PF_OK; j++) {
            char name[112];
            peft_tensor_name(md, j, name, sizeof name);
            st = add_param(t, name, &md->t[j], &md->g[j], 1, err);
            if (st == PF_OK)
                t->tp[t->n_tp - 1].module = 1;
        }
    }
    for (int i = 0; i < t->m.n_params && st == PF_OK; i++) {
        struct model_param *mp = &t->m.params[i];
        int on = full ? 1 : t->cfg.train.head && mp->head && !mp->base;
        if (!on)
            continue;
        st = model_set_trainable(&t->m, mp, 1, err);
        for (int k = 0; k < mp->nparts && st == PF_OK; k++) {
            char name[112];
            snprintf(name, sizeof name, "%s%s", mp->nparts > 1 ? "part." : "", mp->name);
            /* no decay on biases and norm gains (the usual AdamW grouping) */
            st = add_param(t, name, mp->part[k], mp->grad[k], mp->ndim > 1, err);
        }
    }
    if (st == PF_OK && t->n_tp == 0)
        st = pf_err_set(err, PF_ERR_ARG, "%s: nothing to train: no modules, and the head is "
                        "frozen (train.head = false)", t->cfg.file);
    if (st == PF_OK)
        t->built = 1;
    return st;
}

void trainer_run_info(const struct trainer *t, struct run_info *ri) {
    memset(ri, 0, sizeof *ri);
    snprintf(ri->model_path, sizeof ri->model_path, "%s", t->cfg.model.path);
    snprintf(ri->family, sizeof ri->family, "%s", hf_family_name(t->m.cfg.family));
    snprintf(ri->task, sizeof ri->task, "%s", t->task.name);
    ri->regression = t->task.regression;
    ri->num_labels = t->task.regression ? 1 : t->task.n_labels;
    ri->n_labels = t->task.regression ? 0 : t->task.n_labels;
    for (int i = 0; i < ri->n_labels && i < 64; i++)
        snprintf(ri->labels[i], sizeof ri->labels[i], "%s", t->task.labels[i]);
    ri->full = t->full;
    ri->random_init = t->cfg.model.random_init;
    ri->head = t->full ? 1 : t->cfg.train.head;
    ri->max_len = t->task.max_len;
    ri->seed = t->cfg.seed;
}

pf_status trainer_write_run_files(const struct trainer *t, const char *dir, struct pf_err *err) {
    char *json = script_config_to_json(&t->cfg);
    char p[1100];
    snprintf(p, sizeof p, "%s/config.json", dir);
    pf_status st = json ? atomic_write(p, json, strlen(json), err)
                        : pf_err_set(err, PF_ERR_NOMEM, "out of memory");
    free(json);
    struct run_info ri;
    trainer_run_info(t, &ri);
    if (st == PF_OK)
        st = run_info_write(dir, &ri, err);
    if (st == PF_OK && !t->full) {
        snprintf(p, sizeof p, "%s/structure.json", dir);
        st = peft_structure_write(&t->p, p, err);
    }
    return st;
}
