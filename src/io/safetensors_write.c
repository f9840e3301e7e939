/* safetensors_write.c - st_write: validated, name-sorted, 8-byte padded, atomic.
 * The input is checked completely before a file is created, and the header is built in
 * memory, so the only failures after mkstemp are file system ones; those remove the
 * temporary file and never touch the file at path. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/half.h"
#include "io/safetensors.h"
#include "io/st_internal.h"
#include "util/atomic.h"
#include "util/xalloc.h"
#include "util/file.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian; this writer copies host memory unswapped");

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? 2 * b->cap : 4096;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_u64(struct sbuf *b, uint64_t v) {
    char tmp[24];
    sb_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64, v));
}

/* A JSON string literal; s is valid UTF-8 (checked), so only '"', '\\' and controls need
 * escaping. */
static void sb_json(struct sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            sb_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

struct wt {
    const struct st_wtensor *t;
    uint64_t nbytes, begin;
};

static int wt_by_name(const void *a, const void *b) {
    return strcmp(((const struct wt *)a)->t->name, ((const struct wt *)b)->t->name);
}

struct kvp {
    const char *k, *v;
};

static int kvp_by_key(const void *a, const void *b) {
    return strcmp(((const struct kvp *)a)->k, ((const struct kvp *)b)->k);
}

static pf_status check_tensor(const char *path, const struct st_wtensor *t, uint64_t *nbytes,
                              struct pf_err *err) {
    char q[ST_QBUF];
    size_t bad;
    if (!t->name || !t->name[0])
        return pf_err_set(err, PF_ERR_ARG, "%s: empty tensor name", path);
    st_q(t->name, q, sizeof q);
    if (st_utf8_check(t->name, strlen(t->name), &bad) != 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: tensor '%s': name is not valid UTF-8 at byte %zu",
                          path, q, bad);
    if (strcmp(t->name, "__metadata__") == 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: '__metadata__' is reserved, not a tensor name",
                          path);
    if ((unsigned)t->dtype >= ST_NDTYPES)
        return pf_err_set(err, PF_ERR_ARG, "%s: tensor '%s': invalid dtype %d", path, q,
                          (int)t->dtype);
    if (t->from_f32 && t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return pf_err_set(err, PF_ERR_ARG,
                          "%s: tensor '%s': float32 source can be written as F32, F16 or BF16, "
                          "not %s",
                          path, q, st_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > ST_MAX_DIMS || (t->ndim > 0 && !t->shape))
        return pf_err_set(err, PF_ERR_ARG, "%s: tensor '%s': %d dimensions (0 to %d allowed)",
                          path, q, t->ndim, ST_MAX_DIMS);
    uint64_t numel = 1;
    int has_zero = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return pf_err_set(err, PF_ERR_ARG, "%s: tensor '%s': dimension %d is %" PRId64, path,
                              q, i, t->shape[i]);
        has_zero |= t->shape[i] == 0;
    }
    for (int i = 0; i < t->ndim && !has_zero; i++) {
        if (numel > (uint64_t)INT64_MAX / (uint64_t)t->shape[i])
            return pf_err_set(err, PF_ERR_ARG, "%s: tensor '%s': shape product overflows", path,
                              q);
        numel *= (uint64_t)t->shape[i];
    }
    if (has_zero)
        numel = 0;
    unsigned bits = st_dtype_bits(t->dtype);
    if (numel > UINT64_MAX / bits || (numel * bits) % 8)
        return pf_err_set(err, PF_ERR_ARG,
                          "%s: tensor '%s': %" PRIu64 " elements of %s are not a whole number of "
                          "bytes or overflow",
                          path, q, numel, st_dtype_name(t->dtype));
    *nbytes = numel * bits / 8;
    if (*nbytes && !t->data)
        return pf_err_set(err, PF_ERR_ARG, "%s: tensor '%s': data is NULL", path, q);
    return PF_OK;
}

/* Check everything and build the padded header. On success *order holds the tensors sorted
 * by name with their offsets, and hdr the header text (length a multiple of 8). */
/* Check every tensor (o[i].nbytes) and metadata string, and the header's JSON token count. */
static pf_status check_entries(const char *path, const struct st_wtensor *t, int n,
                               const char *const *kv, int n_meta, struct wt *o, struct kvp *m,
                               struct pf_err *err) {
    pf_status st = PF_OK;
    size_t tokens = 1 + (n_meta ? 2 + 2 * (size_t)n_meta : 0);
    for (int i = 0; i < n && st == PF_OK; i++) {
        o[i].t = &t[i];
        st = check_tensor(path, &t[i], &o[i].nbytes, err);
        tokens += 10 + (size_t)t[i].ndim;
    }
    for (int i = 0; i < n_meta && st == PF_OK; i++) {
        size_t bad;
        m[i].k = kv[2 * i];
        m[i].v = kv[2 * i + 1];
        for (int k = 0; k < 2 && st == PF_OK; k++) {
            const char *s = kv[2 * i + k];
            if (!s || st_utf8_check(s, strlen(s), &bad) != 0)
                st = pf_err_set(err, PF_ERR_ARG, "%s: metadata %s %d is %s", path,
                                k ? "value" : "key", i, s ? "not valid UTF-8" : "NULL");
        }
    }
    if (st == PF_OK && tokens > ST_MAX_JSON_TOKENS)
        st = pf_err_set(err, PF_ERR_ARG, "%s: header would have %zu JSON tokens, limit %d", path,
                        tokens, ST_MAX_JSON_TOKENS);
    return st;
}

/* Sort the tensors by name and the metadata by key; refuse duplicates of either. */
static pf_status sort_unique(const char *path, struct wt *o, int n, struct kvp *m, int n_meta,
                             struct pf_err *err) {
    char q[ST_QBUF];
    pf_status st = PF_OK;
    qsort(o, (size_t)n, sizeof *o, wt_by_name);
    for (int i = 1; i < n && st == PF_OK; i++)
        if (strcmp(o[i - 1].t->name, o[i].t->name) == 0)
            st = pf_err_set(err, PF_ERR_ARG, "%s: duplicate tensor name '%s'", path,
                            st_q(o[i].t->name, q, sizeof q));
    qsort(m, (size_t)n_meta, sizeof *m, kvp_by_key);
    for (int i = 1; i < n_meta && st == PF_OK; i++)
        if (strcmp(m[i - 1].k, m[i].k) == 0)
            st = pf_err_set(err, PF_ERR_ARG, "%s: duplicate metadata key '%s'", path,
                            st_q(m[i].k, q, sizeof q));
    return st;
}

/* The header JSON into hdr (__metadata__, then the tensors in order with their data offsets,
 * o[i].begin set), padded with spaces to a multiple of 8. */
static void header_json(struct sbuf *hdr, struct wt *o, int n, const struct kvp *m,
                        int n_meta) {
    sb_str(hdr, "{");
    if (n_meta) {
        sb_str(hdr, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i)
                sb_str(hdr, ",");
            sb_json(hdr, m[i].k);
            sb_str(hdr, ":");
            sb_json(hdr, m[i].v);
        }
        sb_str(hdr, "}");
    }
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const struct st_wtensor *w = o[i].t;
        o[i].begin = pos;
        pos += o[i].nbytes; /* cannot wrap: < 2^17 tensors of < 2^63 bytes */
        sb_str(hdr, n_meta || i ? ",": "");
        sb_json(hdr, w->name);
        sb_str(hdr, ":{\"dtype\":\"");
        sb_str(hdr, st_dtype_name(w->dtype));
        sb_str(hdr, "\",\"shape\":[");
        for (int d = 0; d < w->ndim; d++) {
            if (d)
                sb_str(hdr, ",");
            sb_u64(hdr, (uint64_t)w->shape[d]);
        }
        sb_str(hdr, "],\"data_offsets\":[");
        sb_u64(hdr, o[i].begin);
        sb_str(hdr, ",");
        sb_u64(hdr, pos);
        sb_str(hdr, "]}");
    }
    sb_str(hdr, "}");
    while (hdr->len % 8) /* data then starts 8-aligned in the file */
        sb_str(hdr, " ");
}

static pf_status build_header(const char *path, const struct st_wtensor *t, int n,
                              const char *const *kv, int n_meta, struct wt **order,
                              struct sbuf *hdr, struct pf_err *err) {
    if (n < 0 || n_meta < 0 || n + (n_meta > 0) > ST_MAX_TENSORS || (n > 0 && !t) ||
        (n_meta > 0 && !kv))
        return pf_err_set(err, PF_ERR_ARG,
                          "%s: %d tensors and %d metadata pairs (at most %d entries: tensors "
                          "and __metadata__)", path, n, n_meta, ST_MAX_TENSORS);
    struct wt *o = xcalloc((size_t)n, sizeof *o);
    struct kvp *m = xcalloc((size_t)n_meta, sizeof *m);
    pf_status st = check_entries(path, t, n, kv, n_meta, o, m, err);
    PF_STEP(st, sort_unique(path, o, n, m, n_meta, err));
    if (st == PF_OK) {
        header_json(hdr, o, n, m, n_meta);
        if (hdr->len > ST_MAX_HEADER)
            st = pf_err_set(err, PF_ERR_ARG, "%s: header would be %zu bytes, limit %u", path,
                            hdr->len, ST_MAX_HEADER);
    }
    xfree(m);
    if (st != PF_OK) {
        xfree(o);
        o = NULL;
    }
    *order = o;
    return st;
}

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len < (1u << 30) ? len : (1u << 30));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int write_tensor(int fd, const struct wt *w) {
    const struct st_wtensor *t = w->t;
    if (!t->from_f32 || t->dtype == ST_F32)
        return w->nbytes ? write_all(fd, t->data, (size_t)w->nbytes) : 0;
    uint16_t buf[16384];
    const float *src = t->data;
    size_t n = (size_t)(w->nbytes / 2);
    for (size_t i = 0; i < n; i += 16384) {
        size_t k = n - i < 16384 ? n - i : 16384;
        if (t->dtype == ST_F16)
            half_f32_to_f16_n(buf, src + i, k);
        else
            half_f32_to_bf16_n(buf, src + i, k);
        if (write_all(fd, buf, k * sizeof buf[0]) != 0)
            return -1;
    }
    return 0;
}

pf_status st_write(const char *path, const struct st_wtensor *t, int n,
                   const char *const *meta_kv, int n_meta, struct pf_err *err) {
    if (!path || !path[0])
        return pf_err_set(err, PF_ERR_ARG, "st_write: empty path");
    struct sbuf hdr = {0};
    struct wt *order = NULL;
    pf_status st = build_header(path, t, n, meta_kv, n_meta, &order, &hdr, err);
    if (st != PF_OK) {
        xfree(hdr.p);
        return st;
    }
    size_t tlen = strlen(path) + 16;
    char *tmp = xmalloc(tlen);
    snprintf(tmp, tlen, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = pf_err_set(err, PF_ERR_IO, "%s: cannot create a temporary file next to it: %s", path,
                        strerror(errno));
        goto out;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hdr.len >> (8 * i));
    /* what names the first failing step; its errno is kept before cleanup calls clobber it */
    const char *what = NULL;
    int e = 0;
    if (fchmod(fd, (mode_t)file_mode_for_file()) != 0)
        what = "chmod", e = errno;
    if (!what && (write_all(fd, len8, 8) != 0 || write_all(fd, hdr.p, hdr.len) != 0))
        what = "write", e = errno;
    for (int i = 0; i < n && !what; i++)
        if (write_tensor(fd, &order[i]) != 0)
            what = "write", e = errno;
    if (!what && fsync(fd) != 0)
        what = "fsync", e = errno;
    if (close(fd) != 0 && !what)
        what = "close", e = errno;
    if (!what && rename(tmp, path) != 0)
        what = "rename", e = errno;
    if (what) {
        st = pf_err_set(err, PF_ERR_IO, "%s: %s failed: %s", path, what, strerror(e));
        unlink(tmp);
        goto out;
    }
    st = atomic_sync_dir(path, err);
out:
    xfree(tmp);
    xfree(order);
    xfree(hdr.p);
    return st;
}
