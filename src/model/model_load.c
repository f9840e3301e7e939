/* model_load.c - checkpoint folder -> model (see model_load.h for the order of checks). */
#include "model/model_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "util/xalloc.h"

/* The name a parameter has in this checkpoint. */
static void file_name(const struct model *m, const struct model_param *p, int prefixed,
                      char *buf, size_t n) {
    snprintf(buf, n, "%s%s", p->base && prefixed ? model_base_prefix(m->cfg.family) : "",
             p->name);
}

static const char *emb_name(enum model_family f) {
    switch (f) {
    case FAM_GPT2: return "wte.weight";
    case FAM_LLAMA: return "embed_tokens.weight";
    default: return "embeddings.word_embeddings.weight";
    }
}

static const char *layer_probe(enum model_family f, int l, char *buf, size_t n) {
    switch (f) {
    case FAM_GPT2: snprintf(buf, n, "h.%d.ln_1.weight", l); break;
    case FAM_LLAMA: snprintf(buf, n, "layers.%d.input_layernorm.weight", l); break;
    default: snprintf(buf, n, "encoder.layer.%d.attention.self.query.weight", l); break;
    }
    return buf;
}

static const struct st_info *find(const struct st_checkpoint *ck, const char *prefix,
                                  const char *name) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return st_checkpoint_find(ck, full, NULL);
}

static const char *shape_str(int ndim, const int64_t *s, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)s[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* The tensor of p in the checkpoint. Older BERT/RoBERTa files (converted from TensorFlow,
 * bert-base-uncased among them) name LayerNorm parameters gamma/beta instead of weight/bias;
 * HF renames them when loading, and so do we. name is updated to the name found. */
static const struct st_info *find_param(const struct st_checkpoint *ck, char *name, size_t n,
                                        const struct st_file **f) {
    const struct st_info *ti = st_checkpoint_find(ck, name, f);
    size_t len = strlen(name);
    static const char *const from[2] = {".weight", ".bias"}, *const to[2] = {".gamma", ".beta"};
    for (int k = 0; !ti && k < 2 && strstr(name, "LayerNorm."); k++) {
        size_t fl = strlen(from[k]);
        if (len < fl || strcmp(name + len - fl, from[k]) || len - fl + strlen(to[k]) >= n)
            continue;
        char old[160];
        snprintf(old, sizeof old, "%s", name);
        strcpy(name + len - fl, to[k]);
        ti = st_checkpoint_find(ck, name, f);
        if (!ti)
            snprintf(name, n, "%s", old);
    }
    return ti;
}

/* Record dtype name dt into the summary buf: the first seen, or "mixed" when they differ. */
static void tally_dtype(char *buf, size_t n, enum st_dtype dt) {
    const char *name = st_dtype_name(dt);
    if (!buf[0])
        snprintf(buf, n, "%s", name);
    else if (strcmp(buf, name))
        snprintf(buf, n, "mixed");
}

/* Step 3: config vs weights on sentinel tensors, before the model is allocated. */
static pf_status cross_check(const struct model_config *c, const struct st_checkpoint *ck,
                             const char *dir, int *prefixed, struct pf_err *err) {
    const char *pre = model_base_prefix(c->family);
    const struct st_info *e = find(ck, pre, emb_name(c->family));
    *prefixed = e != NULL;
    if (!e)
        e = find(ck, "", emb_name(c->family));
    if (!e)
        return pf_err_set(err, PF_ERR_FORMAT, "%s: no tensor '%s%s' (or without the '%s' "
                          "prefix): not a %s checkpoint, or config.json has the wrong "
                          "model_type", dir, pre, emb_name(c->family), pre,
                          hf_family_name(c->family));
    const char *p = *prefixed ? pre : "";
    if (e->ndim != 2 || e->shape[0] != c->vocab || e->shape[1] != c->hidden)
        return pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s%s' has shape %s but config.json "
                          "says vocab_size %d x hidden_size %d", dir, p, emb_name(c->family),
                          shape_str(e->ndim, e->shape, (char[64]){0}, 64), c->vocab,
                          c->hidden);
    char name[96];
    for (int l = 0; l < c->layers; l += c->layers > 1 ? c->layers - 1 : 1)
        if (!find(ck, p, layer_probe(c->family, l, name, sizeof name)))
            return pf_err_set(err, PF_ERR_FORMAT, "%s: config.json says %d layers but the "
                              "checkpoint has no tensor '%s%s'", dir, c->layers, p, name);
    if (find(ck, p, layer_probe(c->family, c->layers, name, sizeof name)))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: config.json says %d layers but the "
                          "checkpoint has '%s%s' (more layers)", dir, c->layers, p, name);
    return PF_OK;
}

/* Read one HF tensor into the model's tensors (splitting GPT-2's c_attn). */
static pf_status read_param(struct model *m, struct model_param *p, const struct st_file *f,
                            const struct st_info *ti, struct pf_err *err) {
    int direct = p->layout == MP_WHOLE && m->be->host_visible;
    float *buf = direct ? tensor_f32(p->part[0]) : xmalloc((size_t)ti->numel * sizeof(float));
    pf_status st = st_read_f32(f, ti, buf, ti->numel, err);
    if (st == PF_OK && !direct)
        model_param_set(m, p, buf);
    if (!direct)
        free(buf);
    return st;
}

/* Steps 1-3: config, checkpoint headers, the cross-check. *opened says whether ck is open
 * (it stays open when only the cross-check fails); the caller then closes it. */
static pf_status open_checked(const char *dir, struct model_config *cfg,
                              struct st_checkpoint *ck, int *prefixed, int *opened,
                              struct pf_err *err) {
    *opened = 0;
    pf_status st = hf_config_load(cfg, dir, err);
    if (st == PF_OK)
        st = st_checkpoint_open(ck, dir, err);
    if (st != PF_OK)
        return st;
    *opened = 1;
    return cross_check(cfg, ck, dir, prefixed, err);
}

pf_status model_probe(const char *dir, struct model_probe *out, struct pf_err *err) {
    memset(out, 0, sizeof *out);
    struct st_checkpoint ck;
    int opened;
    pf_status st = open_checked(dir, &out->cfg, &ck, &out->prefixed, &opened, err);
    if (!opened)
        return st;
    out->n_files = ck.nfiles;
    out->n_tensors = ck.n;
    for (int i = 0; i < ck.n; i++) {
        const struct st_info *t = ck.entries[i].info;
        out->n_elements += t->numel;
        out->data_bytes += (int64_t)t->nbytes;
        tally_dtype(out->dtype, sizeof out->dtype, t->dtype);
    }
    st_checkpoint_close(&ck);
    return st;
}

/* Weights are computed in fp32: refuse, before allocating, a checkpoint whose fp32 size
 * exceeds this machine's physical memory (malloc would succeed lazily and the kernel would
 * kill the process halfway through reading). */
static pf_status check_memory(const struct st_checkpoint *ck, const char *dir,
                              struct pf_err *err) {
    int64_t elems = 0;
    for (int i = 0; i < ck->n; i++)
        elems += ck->entries[i].info->numel;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return PF_OK; /* unknown: let the allocation decide */
    double need = (double)elems * 4.0, have = (double)pages * (double)page;
    if (need > 0.9 * have)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: %lld parameters need %.1f GiB in fp32; this "
                          "machine has %.1f GiB of memory", dir, (long long)elems,
                          need / (1 << 30), have / (1 << 30));
    return PF_OK;
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What model_load's steps share: the open checkpoint and where its tensors went. */
struct load_ctx {
    const char *dir;
    const struct model_config *cfg;
    const struct st_checkpoint *ck;
    int prefixed;
    const struct model_load_opts *opts;
    struct model_load_info *info;
    const char **used; /* checkpoint names read or deliberately replaced */
    int n_used;
};

/* Load model parameter p from the checkpoint, checking its shape; a missing head tensor is
 * left to initialise, a mismatched one is replaced when the options allow it. */
static pf_status load_param(struct model *m, struct load_ctx *lc, struct model_param *p,
                            struct pf_err *err) {
    struct model_load_info *info = lc->info;
    const struct model_config *cfg = lc->cfg;
    char name[160], have[64], want[64];
    const struct st_file *f;
    file_name(m, p, lc->prefixed, name, sizeof name);
    const struct st_info *ti = find_param(lc->ck, name, sizeof name, &f);
    if (!ti) {
        if (!p->head)
            return pf_err_set(err, PF_ERR_FORMAT, "%s: the checkpoint has no tensor '%s' "
                              "(required by config.json: %s, %d layers)", lc->dir, name,
                              cfg->architecture[0] ? cfg->architecture : cfg->model_type,
                              cfg->layers);
        if (!info->n_initialised++)
            snprintf(info->first_initialised, sizeof info->first_initialised, "%s", name);
        return PF_OK;
    }
    if (ti->ndim != p->ndim || ti->shape[0] != p->shape[0] ||
        (p->ndim > 1 && ti->shape[1] != p->shape[1])) {
        if (p->head && !p->base && lc->opts && lc->opts->reinit_mismatched_head) {
            info->n_reinitialised++;
            info->n_initialised++;
            lc->used[lc->n_used++] = ti->name; /* seen, deliberately replaced */
            return PF_OK;
        }
        return pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s' has shape %s, config.json "
                          "implies %s", f->path, name, shape_str(ti->ndim, ti->shape, have, 64),
                          shape_str(p->ndim, p->shape, want, 64));
    }
    pf_status st = read_param(m, p, f, ti, err);
    if (st != PF_OK)
        return st;
    p->loaded = 1;
    lc->used[lc->n_used++] = ti->name;
    info->n_loaded++;
    info->file_bytes += (int64_t)ti->nbytes;
    tally_dtype(info->dtype, sizeof info->dtype, ti->dtype);
    return PF_OK;
}

/* Count the checkpoint's tensors no parameter used (info->n_unused, the first by name). */
static void count_unused(struct load_ctx *lc) {
    struct model_load_info *info = lc->info;
    qsort(lc->used, (size_t)lc->n_used, sizeof *lc->used, cmp_cstr);
    for (int i = 0; i < lc->ck->n; i++) {
        const char *key = lc->ck->entries[i].name;
        if (bsearch(&key, lc->used, (size_t)lc->n_used, sizeof *lc->used, cmp_cstr))
            continue;
        if (!info->n_unused++)
            snprintf(info->first_unused, sizeof info->first_unused, "%s", key);
    }
}

pf_status model_load(struct model *m, const char *dir, struct backend *be,
                     const struct model_load_opts *opts, struct model_load_info *info,
                     struct pf_err *err) {
    struct model_load_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    memset(m, 0, sizeof *m);
    struct model_config cfg;
    struct st_checkpoint ck;
    int prefixed = 0, opened;
    pf_status st = open_checked(dir, &cfg, &ck, &prefixed, &opened, err);
    if (!opened)
        return st;
    int head = opts ? opts->head : -1;
    if (st == PF_OK)
        st = check_memory(&ck, dir, err);
    if (st == PF_OK)
        st = model_create(m, &cfg, be, head, opts ? opts->n_labels : 0, err);
    if (st != PF_OK) {
        st_checkpoint_close(&ck);
        return st;
    }
    info->n_files = ck.nfiles;
    info->n_tensors = ck.n;
    info->prefixed = prefixed;
    const char **used = xcalloc((size_t)m->n_params + 1, sizeof *used);
    struct load_ctx lc = {.dir = dir, .cfg = &cfg, .ck = &ck, .prefixed = prefixed,
                          .opts = opts, .info = info, .used = used};
    for (int i = 0; i < m->n_params && st == PF_OK; i++)
        st = load_param(m, &lc, &m->params[i], err);
    if (st == PF_OK) {
        count_unused(&lc);
        model_init_params(m, opts ? opts->seed : 0, 1);
    }
    free(used);
    st_checkpoint_close(&ck);
    if (st != PF_OK)
        model_free(m);
    return st;
}
