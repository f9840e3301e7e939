/* search_ckpt.c - DIR/checkpoint.bin: everything a search needs to continue bitwise as if it
 * had never stopped (reliability cases 19-23), written atomically (temp file, fsync, rename).
 *
 * Layout: "BPCKPT01", then tagged sections of little-endian raw values (the engine's own
 * state, every trainable tensor with its AdamW moments, every candidate's logits, Adam
 * moments, flags, EMAs and rank-history window, the loss/metric histories, both data cursors,
 * the dropout step, the policy's saved state), then an FNV-1a 64 checksum of all that came
 * before. A checkpoint that fails the checksum, or whose shapes differ from the session's
 * supernet, is refused with a message naming the file and what differs. */
#define _DEFAULT_SOURCE /* DIR, readdir */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/backend.h"
#include "data/data.h"
#include "search/search_internal.h"
#include "train/progress.h"
#include "util/atomic.h"
#include "util/xalloc.h"

#define CKPT_MAGIC "BPCKPT01"

struct wbuf {
    unsigned char *p;
    size_t n, cap;
};

static void put(struct wbuf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 1024;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

#define PUT(b, v) put((b), &(v), sizeof(v))

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct rbuf {
    const unsigned char *p;
    size_t n, off;
    int bad;
};

static void get(struct rbuf *b, void *dst, size_t n) {
    if (n == 0)
        return;
    if (b->bad || b->off + n > b->n) {
        b->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, b->p + b->off, n);
    b->off += n;
}

#define GET(b, v) get((b), &(v), sizeof(v))

static void put_cand(struct wbuf *b, const struct search_cand *c) {
    PUT(b, c->bl);
    PUT(b, c->bm);
    PUT(b, c->bv);
    PUT(b, c->rl);
    PUT(b, c->rm);
    PUT(b, c->rv);
    PUT(b, c->pruned);
    PUT(b, c->pinned);
    PUT(b, c->fixed);
    PUT(b, c->fixed_idx);
    PUT(b, c->sens_i);
    PUT(b, c->sens_u);
    PUT(b, c->win_n);
    PUT(b, c->win_mean);
    PUT(b, c->win_m2);
    PUT(b, c->win_first);
    PUT(b, c->win_last);
    PUT(b, c->dsi);
}

static void get_cand(struct rbuf *b, struct search_cand *c) {
    GET(b, c->bl);
    GET(b, c->bm);
    GET(b, c->bv);
    GET(b, c->rl);
    GET(b, c->rm);
    GET(b, c->rv);
    GET(b, c->pruned);
    GET(b, c->pinned);
    GET(b, c->fixed);
    GET(b, c->fixed_idx);
    GET(b, c->sens_i);
    GET(b, c->sens_u);
    GET(b, c->win_n);
    GET(b, c->win_mean);
    GET(b, c->win_m2);
    GET(b, c->win_first);
    GET(b, c->win_last);
    GET(b, c->dsi);
}

static void put_tensor(struct wbuf *b, struct backend *be, const struct tensor *t) {
    size_t nb = tensor_nbytes(t);
    int64_t n = t->numel;
    PUT(b, n);
    if (b->n + nb > b->cap) {
        b->cap = (b->n + nb) * 2 + 1024;
        b->p = xrealloc(b->p, b->cap);
    }
    be->download(be, b->p + b->n, t->data, nb);
    b->n += nb;
}

static int get_tensor(struct rbuf *b, struct backend *be, struct tensor *t) {
    int64_t n = 0;
    GET(b, n);
    size_t nb = tensor_nbytes(t);
    if (b->bad || n != t->numel || b->off + nb > b->n) {
        b->bad = 1;
        return 0;
    }
    be->upload(be, t->data, b->p + b->off, nb);
    b->off += nb;
    return 1;
}

static void put_hist(struct wbuf *b, const double *h, int n) {
    PUT(b, n);
    if (n > 0)
        put(b, h, (size_t)n * sizeof *h);
}

static void get_hist(struct rbuf *b, double **h, int *n, int *cap) {
    int k = 0;
    GET(b, k);
    if (b->bad || k < 0 || (size_t)k * sizeof(double) > b->n - b->off) {
        b->bad = 1;
        return;
    }
    if (k > *cap) {
        *cap = k;
        *h = xrealloc(*h, (size_t)k * sizeof **h);
    }
    get(b, *h, (size_t)k * sizeof **h);
    *n = k;
}

/* FNV-1a of DIR/config.lua: a checkpoint belongs to the config it was made with. */
static pf_status config_hash(const struct search *s, uint64_t *h, struct pf_err *err) {
    char p[1100];
    snprintf(p, sizeof p, "%s/config.lua", s->dir);
    FILE *f = fopen(p, "rb");
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot read", p);
    uint64_t x = 0xcbf29ce484222325ULL;
    int c;
    while ((c = fgetc(f)) != EOF) {
        x ^= (unsigned char)c;
        x *= 0x100000001b3ULL;
    }
    fclose(f);
    *h = x;
    return PF_OK;
}

void search_ckpt_cleanup(const struct search *s) {
    DIR *d = opendir(s->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".tmp.")) { /* a write killed before its rename */
            char p[1400];
            snprintf(p, sizeof p, "%s/%s", s->dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

pf_status search_ckpt_write(struct search *s, struct pf_err *err) {
    uint64_t ch = 0;
    pf_status st0 = config_hash(s, &ch, err);
    if (st0 != PF_OK)
        return st0;
    char *pol = NULL;
    pf_status st = script_policy_save_state(s->pol, &pol, err);
    if (st != PF_OK)
        return st;
    struct wbuf b = {0};
    put(&b, CKPT_MAGIC, 8);
    PUT(&b, ch);
    /* after the search only the scalars and decisions matter: the retrain starts afresh */
    int32_t nc = s->nc, ntp = s->phase >= SPH_RETRAIN ? 0 : s->t.n_tp;
    PUT(&b, nc);
    PUT(&b, ntp);
    int32_t phase = (int32_t)s->phase;
    PUT(&b, phase);
    PUT(&b, s->it);
    PUT(&b, s->epoch);
    PUT(&b, s->updates);
    PUT(&b, s->arch_updates);
    PUT(&b, s->flag);
    PUT(&b, s->budget);
    PUT(&b, s->stages_left);
    PUT(&b, s->guard_stages);
    PUT(&b, s->seq);
    PUT(&b, s->nan_run);
    PUT(&b, s->nan_skips);
    PUT(&b, s->loss_w);
    PUT(&b, s->loss_a);
    PUT(&b, s->win_count);
    PUT(&b, s->global_stab);
    PUT(&b, s->t.p.step);
    double secs = s->seconds_before + (progress_now() - s->t0);
    PUT(&b, secs);
    PUT(&b, s->search_seconds);
    struct data_cursor cw = {0}, ca = {0};
    if (s->ld_w)
        data_loader_cursor(s->ld_w, &cw);
    if (s->ld_a)
        data_loader_cursor(s->ld_a, &ca);
    PUT(&b, cw);
    PUT(&b, ca);
    put_hist(&b, s->loss_hist, s->n_loss);
    put_hist(&b, s->metric_hist, s->n_metric);
    for (int i = 0; i < s->nc; i++)
        put_cand(&b, &s->c[i]);
    for (int i = 0; i < ntp; i++) {
        put_tensor(&b, s->be, s->t.tp[i].p);
        put_tensor(&b, s->be, &s->t.tp[i].m);
        put_tensor(&b, s->be, &s->t.tp[i].v);
    }
    int64_t pl = (int64_t)strlen(pol);
    PUT(&b, pl);
    put(&b, pol, (size_t)pl);
    free(pol);
    uint64_t h = fnv1a(b.p, b.n);
    PUT(&b, h);
    /* the previous checkpoint stays as checkpoint.prev.bin: a damaged newest one can fall back
     * to it (bipeft resume --previous), and a kill between the two renames leaves it for the
     * resume to find */
    char path[1100], prev[1100];
    snprintf(path, sizeof path, "%s/checkpoint.bin", s->dir);
    snprintf(prev, sizeof prev, "%s/checkpoint.prev.bin", s->dir);
    if (rename(path, prev) != 0 && errno != ENOENT)
        st = pf_err_set(err, PF_ERR_IO, "%s: cannot keep the previous checkpoint: %s", path,
                        strerror(errno));
    if (st == PF_OK)
        st = atomic_write(path, b.p, b.n, err);
    xfree(b.p);
    return st;
}

/* Read the checkpoint at path whole and check its magic, version and checksum; on success
 * *data (the caller's, xfree) holds its *len bytes. */
static pf_status ckpt_slurp(const struct search *s, const char *path, unsigned char **data_out,
                            long *len_out, struct pf_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open the checkpoint (is %s a session "
                          "folder?)", path, s->dir);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = len > 16 ? xmalloc((size_t)len) : NULL;
    size_t got = data ? fread(data, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!data || got != (size_t)len || memcmp(data, CKPT_MAGIC, 6) != 0) {
        xfree(data);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: not a bipeft checkpoint (bad magic)", path);
    }
    if (memcmp(data, CKPT_MAGIC, 8) != 0) {
        char ver[3] = {(char)data[6], (char)data[7], 0};
        xfree(data);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: checkpoint version '%s', this bipeft reads "
                          "version '%.2s'", path, ver, &CKPT_MAGIC[6]);
    }
    uint64_t h;
    memcpy(&h, data + len - 8, 8);
    if (fnv1a(data, (size_t)len - 8) != h) {
        xfree(data);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: checksum mismatch: the file is damaged",
                          path);
    }
    *data_out = data;
    *len_out = len;
    return PF_OK;
}

/* The checkpoint's config hash and shapes against the session's; sets s->phase and *ntp
 * (the tensors it holds). */
static pf_status ckpt_check(struct search *s, const char *path, struct rbuf *b, int32_t *ntp,
                            struct pf_err *err) {
    uint64_t ch = 0, want = 0;
    GET(b, ch);
    pf_status sth = config_hash(s, &want, err);
    if (sth != PF_OK || ch != want)
        return sth != PF_OK ? sth
                            : pf_err_set(err, PF_ERR_FORMAT, "%s: made with another config.lua "
                                         "than the one in %s now (the session's config was "
                                         "edited?)", path, s->dir);
    int32_t nc = 0, phase = 0;
    GET(b, nc);
    GET(b, *ntp);
    GET(b, phase);
    if (nc != s->nc || (*ntp != s->t.n_tp && !(phase >= SPH_RETRAIN && *ntp == 0)))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: made for %d candidates and %d tensors, the "
                          "session's config builds %d and %d", path, nc, *ntp, s->nc,
                          s->t.n_tp);
    s->phase = (enum search_phase)phase;
    return PF_OK;
}

/* The engine's counters, in the order search_ckpt_write puts them. */
static void ckpt_get_counters(struct rbuf *b, struct search *s) {
    GET(b, s->it);
    GET(b, s->epoch);
    GET(b, s->updates);
    GET(b, s->arch_updates);
    GET(b, s->flag);
    GET(b, s->budget);
    GET(b, s->stages_left);
    GET(b, s->guard_stages);
    GET(b, s->seq);
    GET(b, s->nan_run);
    GET(b, s->nan_skips);
    GET(b, s->loss_w);
    GET(b, s->loss_a);
    GET(b, s->win_count);
    GET(b, s->global_stab);
    GET(b, s->t.p.step);
    GET(b, s->seconds_before);
    GET(b, s->search_seconds);
}

pf_status search_ckpt_read(struct search *s, const char *file, int64_t *seq,
                           struct pf_err *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", s->dir, file);
    unsigned char *data = NULL;
    long len = 0;
    pf_status st = ckpt_slurp(s, path, &data, &len, err);
    if (st != PF_OK)
        return st;
    struct rbuf b = {.p = data, .n = (size_t)len - 8, .off = 8};
    int32_t ntp = 0;
    st = ckpt_check(s, path, &b, &ntp, err);
    if (st != PF_OK) {
        xfree(data);
        return st;
    }
    ckpt_get_counters(&b, s);
    struct data_cursor cw, ca;
    GET(&b, cw);
    GET(&b, ca);
    get_hist(&b, &s->loss_hist, &s->n_loss, &s->cap_loss);
    get_hist(&b, &s->metric_hist, &s->n_metric, &s->cap_metric);
    for (int i = 0; i < s->nc; i++)
        get_cand(&b, &s->c[i]);
    for (int i = 0; i < ntp && !b.bad; i++) {
        get_tensor(&b, s->be, s->t.tp[i].p);
        get_tensor(&b, s->be, &s->t.tp[i].m);
        get_tensor(&b, s->be, &s->t.tp[i].v);
    }
    int64_t pl = 0;
    GET(&b, pl);
    char *pol = NULL;
    if (!b.bad && pl >= 0 && (size_t)pl <= b.n - b.off) {
        pol = xmalloc((size_t)pl + 1);
        get(&b, pol, (size_t)pl);
        pol[pl] = '\0';
    } else {
        b.bad = 1;
    }
    if (b.bad)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: truncated or inconsistent checkpoint", path);
    if (st == PF_OK && s->ld_w)
        st = data_loader_seek(s->ld_w, &cw, err);
    if (st == PF_OK && s->ld_a)
        st = data_loader_seek(s->ld_a, &ca, err);
    if (st == PF_OK)
        st = script_policy_load_state(s->pol, pol, err);
    xfree(pol);
    xfree(data);
    *seq = s->seq;
    return st;
}
