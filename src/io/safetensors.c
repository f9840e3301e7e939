/* safetensors.c - st_open: read and validate a safetensors header (rules in safetensors.h).
 * The header is checked in layers, cheapest and most hostile-proof first: sizes before any
 * allocation, a lexical scan before the parse tree, the schema, then the data layout. */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/st_internal.h"
#include "util/xalloc.h"
#include "util/file.h"

/* State while validating one header. */
struct hctx {
    const char *path;
    const char *hdr; /* NUL-terminated copy of the header */
    const struct st_scan *sc;
    size_t next_num; /* next number token of sc, in document order */
    struct pf_err *err;
};

static pf_status hfail(const struct hctx *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static pf_status hfail(const struct hctx *h, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pf_err_vat(h->err, PF_ERR_FORMAT, h->path, fmt, ap);
    va_end(ap);
    return PF_ERR_FORMAT;
}

static const char *json_type(const cJSON *j) {
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsObject(j))
        return "an object";
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsBool(j))
        return "a boolean";
    return "null";
}

static void fmt_shape(char *buf, size_t bufsz, const int64_t *shape, int ndim) {
    size_t o = (size_t)snprintf(buf, bufsz, "[");
    for (int i = 0; i < ndim && o < bufsz; i++)
        o += (size_t)snprintf(buf + o, bufsz - o, "%s%" PRId64, i ? "," : "", shape[i]);
    if (o < bufsz)
        snprintf(buf + o, bufsz - o, "]");
}

/* The next number token must be the JSON integer `item` (field[idx] of tensor q). */
static pf_status take_uint(struct hctx *h, const cJSON *item, const char *q, const char *field,
                           int idx, uint64_t *v) {
    if (!cJSON_IsNumber(item))
        return hfail(h, "tensor '%s': %s[%d] is %s, must be a non-negative integer", q, field,
                     idx, json_type(item));
    PF_ASSERT(h->next_num < h->sc->n_num);
    char tok[32];
    switch (st_parse_uint(h->hdr + h->sc->num_at[h->next_num++], v, tok, sizeof tok)) {
    case ST_NUM_OK:
        /* the scan and cJSON must have seen the same number: a bug otherwise */
        PF_ASSERT((double)*v == item->valuedouble);
        return PF_OK;
    case ST_NUM_NEGATIVE:
        return hfail(h, "tensor '%s': %s[%d] is %s, must be a non-negative integer", q, field,
                     idx, tok);
    case ST_NUM_FRACTION:
        return hfail(h, "tensor '%s': %s[%d] is %s, must be an integer", q, field, idx, tok);
    case ST_NUM_OVERFLOW:
        return hfail(h, "tensor '%s': %s[%d] = %s overflows 64 bits", q, field, idx, tok);
    case ST_NUM_BAD:
        break;
    }
    return hfail(h, "tensor '%s': %s[%d] is %s, not a JSON integer", q, field, idx, tok);
}

/* A tensor entry's shape array (at most ST_MAX_DIMS unsigned dimensions) into ti. */
static pf_status entry_shape(struct hctx *h, const cJSON *c, const char *q, struct st_info *ti) {
    pf_status st = PF_OK;
    if (!cJSON_IsArray(c))
        return hfail(h, "tensor '%s': shape is %s, must be an array", q, json_type(c));
    int nd = cJSON_GetArraySize(c);
    if (nd > ST_MAX_DIMS)
        return hfail(h, "tensor '%s': shape has %d dimensions, limit %d", q, nd,
                     ST_MAX_DIMS);
    ti->ndim = nd;
    int i = 0;
    for (const cJSON *d = c->child; d && st == PF_OK; d = d->next, i++) {
        uint64_t v = 0;
        st = take_uint(h, d, q, "shape", i, &v);
        if (st == PF_OK && v > (uint64_t)INT64_MAX)
            return hfail(h, "tensor '%s': shape[%d] = %" PRIu64 " overflows", q, i, v);
        ti->shape[i] = (int64_t)v;
    }
    return st;
}

/* A parsed entry's element count and byte size (ti->numel, nbytes), checked against its
 * data_offsets. */
static pf_status entry_size(struct hctx *h, const char *q, struct st_info *ti) {
    char sh[160];
    fmt_shape(sh, sizeof sh, ti->shape, ti->ndim);
    /* The true product: a zero anywhere makes it 0 even if a prefix would overflow. */
    int64_t numel = 1;
    int has_zero = 0;
    for (int i = 0; i < ti->ndim; i++)
        has_zero |= ti->shape[i] == 0;
    for (int i = 0; i < ti->ndim && !has_zero; i++) {
        if (numel > INT64_MAX / ti->shape[i])
            return hfail(h, "tensor '%s': shape %s product overflows", q, sh);
        numel *= ti->shape[i];
    }
    ti->numel = has_zero ? 0 : numel;
    unsigned bits = st_dtype_bits(ti->dtype);
    if ((uint64_t)ti->numel > UINT64_MAX / bits)
        return hfail(h, "tensor '%s': shape %s with dtype %s: byte size overflows", q, sh,
                     st_dtype_name(ti->dtype));
    uint64_t nbits = (uint64_t)ti->numel * bits;
    if (nbits % 8)
        return hfail(h, "tensor '%s': shape %s with dtype %s is not a whole number of bytes", q,
                     sh, st_dtype_name(ti->dtype));
    ti->nbytes = nbits / 8;
    if (ti->nbytes != ti->end - ti->begin)
        return hfail(h,
                     "tensor '%s': shape %s with dtype %s needs %" PRIu64
                     " bytes, data_offsets give %" PRIu64,
                     q, sh, st_dtype_name(ti->dtype), ti->nbytes, ti->end - ti->begin);
    return PF_OK;
}

static pf_status parse_entry(struct hctx *h, const cJSON *e, struct st_info *ti) {
    char q[ST_QBUF];
    st_q(e->string, q, sizeof q);
    if (!cJSON_IsObject(e))
        return hfail(h, "tensor '%s': entry must be an object, got %s", q, json_type(e));
    int have_dtype = 0, have_shape = 0, have_off = 0;
    uint64_t off[2] = {0, 0};
    pf_status st = PF_OK;
    for (const cJSON *c = e->child; c && st == PF_OK; c = c->next) {
        char kq[ST_QBUF];
        if (strcmp(c->string, "dtype") == 0) {
            if (have_dtype++)
                return hfail(h, "tensor '%s': duplicate key 'dtype'", q);
            if (!cJSON_IsString(c))
                return hfail(h, "tensor '%s': dtype is %s, must be a string", q, json_type(c));
            if (st_dtype_parse(c->valuestring, &ti->dtype) != 0)
                return hfail(h, "tensor '%s': unknown dtype '%s'", q,
                             st_q(c->valuestring, kq, sizeof kq));
        } else if (strcmp(c->string, "shape") == 0) {
            if (have_shape++)
                return hfail(h, "tensor '%s': duplicate key 'shape'", q);
            st = entry_shape(h, c, q, ti);
        } else if (strcmp(c->string, "data_offsets") == 0) {
            if (have_off++)
                return hfail(h, "tensor '%s': duplicate key 'data_offsets'", q);
            if (!cJSON_IsArray(c))
                return hfail(h, "tensor '%s': data_offsets is %s, must be an array", q,
                             json_type(c));
            int n = cJSON_GetArraySize(c);
            if (n != 2)
                return hfail(h, "tensor '%s': data_offsets has %d entries, must have 2", q, n);
            st = take_uint(h, c->child, q, "data_offsets", 0, &off[0]);
            PF_STEP(st, take_uint(h, c->child->next, q, "data_offsets", 1, &off[1]));
        } else {
            return hfail(h, "tensor '%s': unknown key '%s' (allowed: dtype, shape, data_offsets)",
                         q, st_q(c->string, kq, sizeof kq));
        }
    }
    if (st != PF_OK)
        return st;
    if (!have_dtype || !have_shape || !have_off)
        return hfail(h, "tensor '%s': missing '%s'", q,
                     !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    if (off[1] < off[0])
        return hfail(h, "tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] end before begin",
                     q, off[0], off[1]);
    ti->begin = off[0];
    ti->end = off[1];
    return entry_size(h, q, ti);
}

static pf_status parse_metadata(struct hctx *h, struct st_file *f, const cJSON *m) {
    if (!cJSON_IsObject(m))
        return hfail(h, "__metadata__ is %s, must be an object of strings", json_type(m));
    int n = cJSON_GetArraySize(m);
    f->meta_keys = xcalloc((size_t)n, sizeof *f->meta_keys);
    f->meta_vals = xcalloc((size_t)n, sizeof *f->meta_vals);
    for (const cJSON *c = m->child; c; c = c->next) {
        char q[ST_QBUF];
        if (!cJSON_IsString(c))
            return hfail(h, "__metadata__ values must be strings ('%s' is %s)",
                         st_q(c->string, q, sizeof q), json_type(c));
        f->meta_keys[f->n_meta] = xstrdup(c->string);
        f->meta_vals[f->n_meta] = xstrdup(c->valuestring);
        f->n_meta++;
    }
    /* sort keys (with their values) and refuse duplicates; n is small in practice */
    for (int i = 1; i < f->n_meta; i++) {
        char *k = f->meta_keys[i], *v = f->meta_vals[i];
        int j = i;
        for (; j > 0 && strcmp(f->meta_keys[j - 1], k) > 0; j--) {
            f->meta_keys[j] = f->meta_keys[j - 1];
            f->meta_vals[j] = f->meta_vals[j - 1];
        }
        f->meta_keys[j] = k;
        f->meta_vals[j] = v;
    }
    for (int i = 1; i < f->n_meta; i++) {
        char q[ST_QBUF];
        if (strcmp(f->meta_keys[i - 1], f->meta_keys[i]) == 0)
            return hfail(h, "duplicate __metadata__ key '%s'", st_q(f->meta_keys[i], q, sizeof q));
    }
    return PF_OK;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct st_info *)a)->name, ((const struct st_info *)b)->name);
}

static int by_offsets(const void *a, const void *b) {
    const struct st_info *x = *(const struct st_info *const *)a;
    const struct st_info *y = *(const struct st_info *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* Tensors must tile the data section exactly, in some order: no overlap, gap or tail. */
static pf_status check_layout(struct hctx *h, const struct st_file *f, uint64_t data_size) {
    const struct st_info **o = xmalloc((size_t)f->n * sizeof *o);
    for (int i = 0; i < f->n; i++)
        o[i] = &f->t[i];
    qsort(o, (size_t)f->n, sizeof *o, by_offsets);
    pf_status st = PF_OK;
    char q[ST_QBUF], q2[ST_QBUF];
    uint64_t pos = 0;
    for (int i = 0; i < f->n && st == PF_OK; i++) {
        const struct st_info *t = o[i];
        if (t->begin < pos) /* i > 0 here: pos starts at 0 */
            st = hfail(h,
                       "tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] overlap tensor '%s' [%"
                       PRIu64 ",%" PRIu64 "]",
                       st_q(o[i - 1]->name, q, sizeof q), o[i - 1]->begin, o[i - 1]->end,
                       st_q(t->name, q2, sizeof q2), t->begin, t->end);
        else if (t->begin > pos && i == 0)
            st = hfail(h, "tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64
                          "]: the first tensor must start at 0",
                       st_q(t->name, q, sizeof q), t->begin, t->end);
        else if (t->begin > pos)
            st = hfail(h, "tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64
                          "] leave a gap after tensor '%s' (ends at %" PRIu64 ")",
                       st_q(t->name, q, sizeof q), t->begin, t->end,
                       st_q(o[i - 1]->name, q2, sizeof q2), pos);
        pos = t->end;
    }
    if (st == PF_OK && pos > data_size)
        st = hfail(h, "incomplete buffer: data section is %" PRIu64 " bytes, tensors need %" PRIu64
                      " (tensor '%s' ends there)",
                   data_size, pos, st_q(o[f->n - 1]->name, q, sizeof q));
    else if (st == PF_OK && pos < data_size)
        st = hfail(h, "trailing bytes: tensors end at %" PRIu64 ", data section is %" PRIu64
                      " bytes",
                   pos, data_size);
    xfree(o);
    return st;
}

/* Schema and layout of the parsed header. Fills f->t, f->n and the metadata. */
static pf_status check_header(struct hctx *h, struct st_file *f, const cJSON *root,
                              uint64_t data_size) {
    int members = cJSON_GetArraySize(root);
    f->t = xcalloc((size_t)members, sizeof *f->t);
    int have_meta = 0;
    pf_status st = PF_OK;
    for (const cJSON *e = root->child; e && st == PF_OK; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (have_meta++)
                return hfail(h, "duplicate tensor name '__metadata__'");
            st = parse_metadata(h, f, e);
            continue;
        }
        struct st_info *ti = &f->t[f->n];
        ti->name = xstrdup(e->string);
        f->n++; /* counted now so that st_close frees the name on failure */
        if (ti->name[0] == '\0')
            return hfail(h, "empty tensor name");
        st = parse_entry(h, e, ti);
    }
    if (st != PF_OK)
        return st;
    qsort(f->t, (size_t)f->n, sizeof *f->t, by_name);
    for (int i = 1; i < f->n; i++) {
        char q[ST_QBUF];
        if (strcmp(f->t[i - 1].name, f->t[i].name) == 0)
            return hfail(h, "duplicate tensor name '%s'", st_q(f->t[i].name, q, sizeof q));
    }
    return check_layout(h, f, data_size);
}

/* Read and check the 8-byte little-endian header length (f->header_len, f->data_start). */
static pf_status header_length(struct st_file *f, const char *path, struct pf_err *err) {
    unsigned char len8[8];
    size_t got = 0;
    if (f->size < 8)
        return pf_err_set(err, PF_ERR_FORMAT,
                          "%s: file is %" PRIu64 " bytes, too small for the 8-byte header length",
                          path, f->size);
    if (st_pread(f->fd, len8, 8, 0, &got) != PF_OK)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot read the header length: %s", path,
                          strerror(errno));
    if (got != 8)
        return pf_err_set(err, PF_ERR_IO, "%s: file changed while loading: header length short "
                          "read", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | len8[i];
    if (n == 0)
        return pf_err_set(err, PF_ERR_FORMAT, "%s: header length is 0", path);
    if (n > ST_MAX_HEADER)
        return pf_err_set(err, PF_ERR_FORMAT,
                          "%s: header length %" PRIu64 " exceeds limit %u / file size %" PRIu64,
                          path, n, ST_MAX_HEADER, f->size);
    if (n > f->size - 8) /* size >= 8: no wrap, unlike n + 8 > size */
        return pf_err_set(err, PF_ERR_FORMAT,
                          "%s: header length %" PRIu64 " exceeds file size %" PRIu64
                          " (at most %" PRIu64 " header bytes fit)",
                          path, n, f->size, f->size - 8);
    f->header_len = n;
    f->data_start = 8 + n;
    return PF_OK;
}

/* Parse the n header bytes as one JSON object (*root, the caller's), nothing after it but
 * whitespace. */
static pf_status header_root(struct hctx *h, const char *hdr, uint64_t n, cJSON **root) {
    pf_status st = PF_OK;
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
    if (!*root) {
        size_t at = end && end >= hdr && end <= hdr + n ? (size_t)(end - hdr) : 0;
        st = hfail(h, "header is not valid JSON (error near header byte %zu)", at);
    } else {
        size_t at = (size_t)(end - hdr);
        while (at < n && (hdr[at] == ' ' || hdr[at] == '\t' || hdr[at] == '\n' ||
                          hdr[at] == '\r'))
            at++;
        if (at < n)
            st = hfail(h, "header has text after the JSON object at header byte %zu", at);
        else if (!cJSON_IsObject(*root))
            st = hfail(h, "header is %s, must be an object", json_type(*root));
    }
    return st;
}

static pf_status parse_header(struct st_file *f, const char *path, struct pf_err *err) {
    size_t got = 0;
    pf_status st = header_length(f, path, err);
    if (st != PF_OK)
        return st;
    uint64_t n = f->header_len;
    char *hdr = malloc((size_t)n + 1);
    if (!hdr)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: cannot allocate %" PRIu64 " bytes for the header",
                          path, n);
    st = st_pread(f->fd, hdr, (size_t)n, 8, &got);
    if (st != PF_OK || got != n) {
        st = st != PF_OK ? pf_err_set(err, PF_ERR_IO, "%s: cannot read the header: %s", path,
                                      strerror(errno))
                         : pf_err_set(err, PF_ERR_IO, "%s: file changed while loading: header "
                                      "short read at offset %zu", path, 8 + got);
        free(hdr);
        return st;
    }
    hdr[n] = '\0';
    struct hctx h = {.path = path, .hdr = hdr, .err = err};
    struct st_scan sc = {0};
    cJSON *root = NULL;
    if (hdr[0] != '{') {
        unsigned c = (unsigned char)hdr[0];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            st = hfail(&h, "header starts with whitespace, must start with '{' (as the "
                           "reference loader)");
        else
            st = hfail(&h, "header must start with '{', got byte 0x%02x", c);
    }
    PF_STEP(st, st_json_scan(path, "header", hdr, (size_t)n, ST_MAX_JSON_DEPTH, ST_MAX_TENSORS,
                             ST_MAX_JSON_TOKENS, &sc, err));
    h.sc = &sc;
    PF_STEP(st, header_root(&h, hdr, n, &root));
    PF_STEP(st, check_header(&h, f, root, f->size - f->data_start));
    cJSON_Delete(root);
    st_scan_free(&sc);
    free(hdr);
    return st;
}

pf_status st_open(struct st_file *f, const char *path, struct pf_err *err) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    const char *why = NULL;
    int fd = file_open_regular(path, &why);
    if (fd < 0)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", path, why);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        pf_status st = pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return pf_err_set(err, PF_ERR_IO, "%s: not a regular file", path);
    }
    f->fd = fd;
    f->path = xstrdup(path);
    f->size = (uint64_t)sb.st_size;
    f->mtime_sec = (int64_t)sb.st_mtim.tv_sec;
    f->mtime_nsec = sb.st_mtim.tv_nsec;
    pf_status st = parse_header(f, path, err);
    if (st != PF_OK)
        st_close(f);
    return st;
}

void st_close(struct st_file *f) {
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (int i = 0; i < f->n; i++)
        xfree(f->t[i].name);
    xfree(f->t);
    for (int i = 0; i < f->n_meta; i++) {
        xfree(f->meta_keys[i]);
        xfree(f->meta_vals[i]);
    }
    xfree(f->meta_keys);
    xfree(f->meta_vals);
    xfree(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

const struct st_info *st_find(const struct st_file *f, const char *name) {
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[mid].name, name);
        if (c == 0)
            return &f->t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const char *st_meta(const struct st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_vals[i];
    return NULL;
}
