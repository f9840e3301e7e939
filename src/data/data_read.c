/* data_read.c - streaming readers for task files: TSV/CSV through libcsv, JSONL through cJSON.
 *
 * The file is read in fixed 64 KiB chunks and cut into physical lines held in one buffer of
 * at most max_record_bytes; a longer line is counted past, never stored. Every line is
 * checked (BOM on line 1 stripped, NUL bytes and invalid UTF-8 rejected with line:col, col a
 * 1-based byte offset) before it reaches a parser. TSV/CSV lines are fed to libcsv one line
 * at a time, so each row knows the line it started on; JSONL lines are depth-scanned (cap
 * JSON_MAX_DEPTH) and then parsed by cJSON. Strings of accepted rows go into the set's
 * reference-counted pool; the set and its pool are the only memory that outlives the call. */
#include <csv.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "data/data.h"
#include "util/file.h"

#define READ_CHUNK 65536
#define DEFAULT_MAX_RECORD (1 << 20)
#define JSON_MAX_DEPTH 64
#define POOL_BLOCK ((size_t)1 << 20)

/* ---- the string pool and sets ---- */

struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    char data[];
};

struct data_pool {
    int64_t refs;
    struct pool_block *head;
};

static struct data_pool *pool_new(void) {
    struct data_pool *p = calloc(1, sizeof *p);
    if (p)
        p->refs = 1;
    return p;
}

static void pool_release(struct data_pool *p) {
    if (!p || --p->refs > 0)
        return;
    for (struct pool_block *b = p->head, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    free(p);
}

/* n bytes in the pool, or NULL when out of memory. A string larger than a block gets a block
 * of its own behind the head, so the head's free space stays in use. */
static char *pool_alloc(struct data_pool *p, size_t n) {
    struct pool_block *h = p->head;
    if (h && h->cap - h->used >= n) {
        char *s = h->data + h->used;
        h->used += n;
        return s;
    }
    size_t cap = n > POOL_BLOCK ? n : POOL_BLOCK;
    struct pool_block *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->used = n;
    b->cap = cap;
    if (h && n > POOL_BLOCK) {
        b->next = h->next;
        h->next = b;
    } else {
        b->next = h;
        p->head = b;
    }
    return b->data;
}

void data_set_free(struct data_set *s) {
    if (!s)
        return;
    free(s->ex);
    pool_release(s->pool);
    memset(s, 0, sizeof *s);
}

static int set_reserve(struct data_set *s, int64_t n) {
    if (n <= s->cap)
        return 0;
    int64_t cap = s->cap ? s->cap * 2 : 256;
    while (cap < n)
        cap *= 2;
    struct data_example *ex = realloc(s->ex, (size_t)cap * sizeof *ex);
    if (!ex)
        return -1;
    s->ex = ex;
    s->cap = cap;
    return 0;
}

pf_status data_set_subset(const struct data_set *src, const int64_t *idx, int64_t n,
                          struct data_set *out, struct pf_err *err) {
    if (!src || !out || n < 0 || (n > 0 && !idx))
        return pf_err_set(err, PF_ERR_ARG, "data_set_subset: bad arguments");
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return pf_err_set(err, PF_ERR_ARG, "data_set_subset: index %lld out of range [0, %lld)",
                              (long long)idx[i], (long long)src->n);
    if (n == 0)
        return PF_OK;
    if (set_reserve(out, n))
        return pf_err_set(err, PF_ERR_NOMEM, "data_set_subset: %lld examples", (long long)n);
    for (int64_t i = 0; i < n; i++)
        out->ex[i] = src->ex[idx[i]];
    out->n = n;
    out->pool = src->pool;
    if (out->pool)
        out->pool->refs++;
    return PF_OK;
}

/* ---- the reader ---- */

struct reader {
    const char *path;
    const struct data_task *task;
    struct data_task *collect; /* data_discover_labels: unknown labels are added here */
    int skip_bad;
    size_t max_rec;
    FILE *f;
    char *chunk;
    size_t cpos, clen;
    int eof, any_byte;
    char *line; /* the current line without '\n', NUL-terminated (cap >= len + 2) */
    size_t len, cap;
    int too_long;
    int64_t lineno, skipped;
    struct data_set *out;
    struct pf_err *err;
    pf_status st;
    int stop;
    /* TSV/CSV */
    struct csv_parser csv;
    int csv_live;
    char *row; /* the current row's fields, each NUL-terminated */
    size_t row_len, row_cap;
    size_t *foff;
    int nf, fcap;
    size_t rec_bytes;
    int row_open, header_seen, ncols;
    int64_t row_line;
    int col_text, col_pair, col_label, col_word;
};

static void set_where(const struct reader *r, char *buf, size_t n, int64_t line, size_t col) {
    if (line > 0 && col > 0)
        snprintf(buf, n, "%s:%lld:%zu", r->path, (long long)line, col);
    else if (line > 0)
        snprintf(buf, n, "%s:%lld", r->path, (long long)line);
    else
        snprintf(buf, n, "%s", r->path);
}

/* Record the error at (line, col) and stop reading. Returns -1. */
static int vfatal(struct reader *r, pf_status code, int64_t line, size_t col, const char *fmt,
                  va_list ap) {
    char where[600];
    set_where(r, where, sizeof where, line, col);
    pf_err_vat(r->err, code, where, fmt, ap);
    r->st = code;
    r->stop = 1;
    return -1;
}

/* An error that stops reading whatever skip_bad says. Returns -1. */
__attribute__((format(printf, 5, 6))) static int fatal(struct reader *r, pf_status code,
                                                       int64_t line, size_t col,
                                                       const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vfatal(r, code, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

/* A bad row: counted and skipped (returns 1) or the error (returns -1). A bad header line is
 * never skipped: the next row would silently become the header. */
__attribute__((format(printf, 4, 5))) static int bad(struct reader *r, int64_t line, size_t col,
                                                     const char *fmt, ...) {
    int in_header = r->task->format != DATA_JSONL && r->task->header && !r->header_seen;
    if (r->skip_bad && !in_header) {
        r->skipped++;
        return 1;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = vfatal(r, PF_ERR_FORMAT, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(struct reader *r, const char *what) {
    return fatal(r, PF_ERR_NOMEM, 0, 0, "out of memory (%s)", what);
}

static int line_reserve(struct reader *r, size_t n) {
    if (n <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < n)
        cap *= 2;
    char *p = realloc(r->line, cap);
    if (!p)
        return nomem(r, "line buffer");
    r->line = p;
    r->cap = cap;
    return 0;
}

/* Next physical line into r->line: 1 (r->too_long when it was not kept), 0 at end of file,
 * -1 on a read error. */
static int next_line(struct reader *r) {
    int got = 0;
    r->len = 0;
    r->too_long = 0;
    for (;;) {
        if (r->cpos == r->clen) {
            if (r->eof)
                break;
            r->clen = fread(r->chunk, 1, READ_CHUNK, r->f);
            r->cpos = 0;
            if (r->clen == 0) {
                if (ferror(r->f))
                    return fatal(r, PF_ERR_IO, 0, 0, "read error: %s", strerror(errno));
                r->eof = 1;
                break;
            }
            r->any_byte = 1;
        }
        got = 1;
        const char *s = r->chunk + r->cpos;
        size_t avail = r->clen - r->cpos;
        const char *nl = memchr(s, '\n', avail);
        size_t take = nl ? (size_t)(nl - s) : avail;
        if (!r->too_long) {
            if (r->len + take > r->max_rec) {
                r->too_long = 1;
                r->len = 0;
            } else {
                if (line_reserve(r, r->len + take + 2))
                    return -1;
                memcpy(r->line + r->len, s, take);
                r->len += take;
            }
        }
        r->cpos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (!got)
        return 0;
    r->lineno++;
    if (!r->too_long) {
        if (line_reserve(r, r->len + 2))
            return -1;
        r->line[r->len] = '\0';
    }
    return 1;
}

/* Checks every line gets: length, BOM (line 1, stripped), NUL, UTF-8. 0 ok, else as bad(). */
static int check_line(struct reader *r) {
    if (r->too_long)
        return bad(r, r->lineno, 0, "record longer than %zu bytes (max_record_bytes)", r->max_rec);
    if (r->lineno == 1 && r->len >= 3 && !memcmp(r->line, "\xEF\xBB\xBF", 3)) {
        memmove(r->line, r->line + 3, r->len - 3 + 1);
        r->len -= 3;
    }
    const char *z = memchr(r->line, '\0', r->len);
    if (z)
        return bad(r, r->lineno, (size_t)(z - r->line) + 1, "NUL byte");
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)r->line;
    for (size_t i = 0; i < r->len;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(r->len - i), &cp);
        if (k <= 0)
            return bad(r, r->lineno, i + 1, "invalid UTF-8");
        i += (size_t)k;
    }
    return 0;
}

/* ---- one example from its field strings ---- */

struct fields {
    const char *text, *pair, *label, *word; /* NUL-terminated; pair/word NULL when unused */
};

/* The label's index: its name among the task's labels; else, with t->class_label (names a
 * person gave), a decimal index 0..n-1 into them, as HF datasets write a ClassLabel. */
static int find_label(const struct data_task *t, const char *s) {
    for (int i = 0; i < t->n_labels; i++)
        if (!strcmp(t->labels[i], s))
            return i;
    if (t->class_label && t->n_labels > 0 && s[0] >= '0' && s[0] <= '9' && strlen(s) < 6 &&
        (s[0] != '0' || !s[1])) {
        char *end;
        long k = strtol(s, &end, 10);
        if (!*end && k < t->n_labels)
            return (int)k;
    }
    return -1;
}

static int add_example(struct reader *r, int64_t line, const struct fields *fl) {
    const struct data_task *t = r->task;
    if (!fl->text[0])
        return bad(r, line, 0, "empty text (column '%s')", t->text);
    if (fl->pair && !fl->pair[0])
        return bad(r, line, 0, "empty text (column '%s')", t->pair);
    struct data_example ex = {0};
    ex.line = line;
    if (t->regression) {
        char *end;
        double v = strtod(fl->label, &end);
        if (!fl->label[0] || *end || !isfinite(v) || fabs(v) > 3.0e38)
            return bad(r, line, 0, "label '%.40s' is not a finite number", fl->label);
        ex.target = (float)v;
    } else {
        ex.label = find_label(t, fl->label);
        if (ex.label < 0 && r->collect && r->collect->n_labels < DATA_MAX_LABELS &&
            fl->label[0] && strlen(fl->label) < sizeof r->collect->labels[0]) {
            ex.label = r->collect->n_labels++;
            snprintf(r->collect->labels[ex.label], sizeof r->collect->labels[0], "%s",
                     fl->label);
        }
        if (ex.label < 0) {
            char known[256] = "";
            size_t k = 0;
            for (int i = 0; i < t->n_labels && k < sizeof known; i++) {
                int w = snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", t->labels[i]);
                k += w > 0 ? (size_t)w : 0;
            }
            return bad(r, line, 0, "unknown label '%.40s' (labels: %s)", fl->label, known);
        }
    }
    size_t tn = strlen(fl->text), wn = fl->word ? strlen(fl->word) : 0;
    size_t need = (fl->word ? wn + 2 : 0) + tn + 1 + (fl->pair ? strlen(fl->pair) + 1 : 0);
    if (!r->out->pool && !(r->out->pool = pool_new()))
        return nomem(r, "string pool");
    char *s = pool_alloc(r->out->pool, need);
    if (!s || set_reserve(r->out, r->out->n + 1))
        return nomem(r, "examples");
    char *p = s;
    if (fl->word) {
        memcpy(p, fl->word, wn);
        memcpy(p + wn, ": ", 2);
        p += wn + 2;
    }
    memcpy(p, fl->text, tn + 1);
    ex.text = s;
    if (fl->pair) {
        p += tn + 1;
        memcpy(p, fl->pair, strlen(fl->pair) + 1);
        ex.pair = p;
    }
    r->out->ex[r->out->n++] = ex;
    return 0;
}

/* ---- TSV / CSV ---- */

static void row_reset(struct reader *r) {
    r->nf = 0;
    r->row_len = 0;
    r->row_open = 0;
    r->rec_bytes = 0;
}

static int csv_start(struct reader *r) {
    if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return nomem(r, "csv parser");
    r->csv_live = 1;
    csv_set_delim(&r->csv, r->task->format == DATA_TSV ? CSV_TAB : CSV_COMMA);
    /* quoting 0: NUL never reaches the parser (check_line), so quotes are plain text. */
    csv_set_quote(&r->csv, r->task->quoting ? CSV_QUOTE : 0);
    return 0;
}

static int no_space(unsigned char c) {
    (void)c;
    return 0; /* keep spaces and tabs around fields: texts are taken as written */
}

static void csv_restart(struct reader *r) {
    csv_free(&r->csv);
    r->csv_live = 0;
    row_reset(r);
    if (csv_start(r) == 0)
        csv_set_space_func(&r->csv, no_space);
}

static void on_field(void *s, size_t n, void *data) {
    struct reader *r = data;
    if (r->stop)
        return;
    if (!r->row_open) {
        r->row_open = 1;
        r->row_line = r->lineno;
    }
    if (r->nf == r->fcap) {
        int cap = r->fcap ? r->fcap * 2 : 16;
        size_t *p = realloc(r->foff, (size_t)cap * sizeof *p);
        if (!p) {
            nomem(r, "fields");
            return;
        }
        r->foff = p;
        r->fcap = cap;
    }
    if (r->row_len + n + 1 > r->row_cap) {
        size_t cap = r->row_cap ? r->row_cap : 4096;
        while (cap < r->row_len + n + 1)
            cap *= 2;
        char *p = realloc(r->row, cap);
        if (!p) {
            nomem(r, "row buffer");
            return;
        }
        r->row = p;
        r->row_cap = cap;
    }
    r->foff[r->nf++] = r->row_len;
    if (n)
        memcpy(r->row + r->row_len, s, n);
    r->row_len += n;
    r->row[r->row_len++] = '\0';
}

static const char *field(const struct reader *r, int i) {
    return r->row + r->foff[i];
}

/* Column of `name`: by header name, or a decimal index in a header-less file. */
static int resolve_col(struct reader *r, const char *name) {
    if (r->task->header) {
        for (int i = 0; i < r->nf; i++)
            if (!strcmp(field(r, i), name))
                return i;
    } else {
        char *end;
        long v = strtol(name, &end, 10);
        if (*end || end == name || v < 0)
            return -2;
        if (v < r->nf)
            return (int)v;
    }
    return -1;
}

static int resolve_columns(struct reader *r) {
    const struct data_task *t = r->task;
    const char *names[4] = {t->text, t->pair, t->label, t->word};
    int *cols[4] = {&r->col_text, &r->col_pair, &r->col_label, &r->col_word};
    for (int k = 0; k < 4; k++) {
        *cols[k] = -1;
        if (!names[k][0])
            continue;
        int c = resolve_col(r, names[k]);
        if (c == -2)
            return fatal(r, PF_ERR_ARG, 0, 0,
                         "column '%s' must be a column index (the task's files have no header)",
                         names[k]);
        if (c < 0) {
            if (t->header) {
                char have[256] = "";
                size_t h = 0;
                for (int i = 0; i < r->nf && h < sizeof have; i++) {
                    int w = snprintf(have + h, sizeof have - h, "%s'%s'", i ? ", " : "",
                                     field(r, i));
                    h += w > 0 ? (size_t)w : 0;
                }
                return fatal(r, PF_ERR_FORMAT, r->row_line, 0,
                             "missing column '%s' (columns: %s)", names[k], have);
            }
            return fatal(r, PF_ERR_FORMAT, r->row_line, 0,
                         "missing column %s: the row has %d fields", names[k], r->nf);
        }
        *cols[k] = c;
    }
    return 0;
}

static void data_row(struct reader *r) {
    if (r->nf != r->ncols) {
        bad(r, r->row_line, 0, "ragged row: %d fields, expected %d", r->nf, r->ncols);
        return;
    }
    struct fields fl = {field(r, r->col_text), r->col_pair >= 0 ? field(r, r->col_pair) : NULL,
                        field(r, r->col_label), r->col_word >= 0 ? field(r, r->col_word) : NULL};
    add_example(r, r->row_line, &fl);
}

static void on_row(int c, void *data) {
    struct reader *r = data;
    (void)c;
    if (!r->stop) {
        int is_data = 1;
        if (!r->header_seen) { /* the header, or the first row of a header-less file */
            r->header_seen = 1;
            r->ncols = r->nf;
            is_data = resolve_columns(r) == 0 && !r->task->header;
        }
        if (is_data)
            data_row(r);
    }
    row_reset(r);
}

static void read_csv(struct reader *r) {
    if (csv_start(r))
        return;
    csv_set_space_func(&r->csv, no_space);
    int rc;
    while (!r->stop && (rc = next_line(r)) > 0) {
        int ck = check_line(r);
        if (ck != 0) {
            if (ck > 0 && r->row_open) /* the record this line belonged to is dropped */
                csv_restart(r);
            continue;
        }
        int blank = r->len == 0 || (r->len == 1 && r->line[0] == '\r');
        if (!r->row_open && !blank) {
            r->row_open = 1;
            r->row_line = r->lineno;
        }
        if (r->row_open) {
            r->rec_bytes += r->len + 1;
            if (r->rec_bytes > r->max_rec) {
                int64_t at = r->row_line;
                csv_restart(r);
                bad(r, at, 0, "record longer than %zu bytes (max_record_bytes)", r->max_rec);
                continue;
            }
        }
        r->line[r->len] = '\n';
        size_t n = r->len + 1;
        size_t k = csv_parse(&r->csv, r->line, n, on_field, on_row, r);
        if (!r->stop && k < n) {
            int e = csv_error(&r->csv);
            if (e == CSV_ENOMEM || e == CSV_ETOOBIG) {
                nomem(r, "csv field");
                break;
            }
            csv_restart(r);
            bad(r, r->lineno, k + 1, "malformed quoted field (a quote must end the field)");
        }
    }
    if (!r->stop && r->csv_live && csv_fini(&r->csv, on_field, on_row, r) != 0 && !r->stop)
        bad(r, r->row_line, 0, "unterminated quote at end of file");
}

/* ---- JSONL ---- */

/* Deepest nesting of [ and { outside strings; stops counting past limit. *col: where. */
static int json_depth(const char *s, size_t n, int limit, size_t *col) {
    int d = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++d > limit) {
                *col = i + 1;
                return d;
            }
        } else if (c == ']' || c == '}') {
            d--;
        }
    }
    return 0;
}

/* 0: *out set; 1: missing; 2: not a string. */
static int json_string(const cJSON *o, const char *name, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v))
        return 1;
    if (!cJSON_IsString(v))
        return 2;
    *out = v->valuestring;
    return 0;
}

static int json_row(struct reader *r, const cJSON *o) {
    const struct data_task *t = r->task;
    struct fields fl = {0};
    const char *names[3] = {t->text, t->pair, t->word};
    const char **dst[3] = {&fl.text, &fl.pair, &fl.word};
    for (int k = 0; k < 3; k++) {
        if (!names[k][0])
            continue;
        int rc = json_string(o, names[k], dst[k]);
        if (rc == 1)
            return bad(r, r->lineno, 0, "missing field '%s'", names[k]);
        if (rc == 2)
            return bad(r, r->lineno, 0, "field '%s' is not a string", names[k]);
    }
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, t->label);
    char num[64];
    if (!lv || cJSON_IsNull(lv))
        return bad(r, r->lineno, 0, "missing field '%s'", t->label);
    if (cJSON_IsBool(lv)) {
        fl.label = cJSON_IsTrue(lv) ? "true" : "false";
    } else if (cJSON_IsString(lv)) {
        fl.label = lv->valuestring;
    } else if (cJSON_IsNumber(lv)) {
        double v = lv->valuedouble;
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(num, sizeof num, "%lld", (long long)v);
        else
            snprintf(num, sizeof num, "%.17g", v);
        fl.label = num;
    } else {
        return bad(r, r->lineno, 0, "field '%s' is not a string, number or boolean", t->label);
    }
    return add_example(r, r->lineno, &fl);
}

static void read_jsonl(struct reader *r) {
    while (!r->stop && next_line(r) > 0) {
        if (check_line(r) != 0)
            continue;
        const char *s = r->line;
        size_t n = r->len;
        while (n && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            n--;
        if (!n)
            continue;
        size_t col = 0;
        if (json_depth(s, n, JSON_MAX_DEPTH, &col)) {
            bad(r, r->lineno, col + (size_t)(s - r->line), "JSON nested deeper than %d",
                JSON_MAX_DEPTH);
            continue;
        }
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(s, n, &end, 0);
        if (!o) {
            size_t at = end && end >= r->line ? (size_t)(end - r->line) + 1 : 1;
            bad(r, r->lineno, at, "invalid JSON");
            continue;
        }
        if (end && end < s + n) {
            bad(r, r->lineno, (size_t)(end - r->line) + 1, "text after the JSON value");
        } else if (!cJSON_IsObject(o)) {
            bad(r, r->lineno, 0, "not a JSON object");
        } else {
            json_row(r, o);
        }
        cJSON_Delete(o);
    }
}

/* ---- entry point ---- */

static pf_status check_task(const struct data_task *t, struct pf_err *err) {
    if (t->format != DATA_TSV && t->format != DATA_CSV && t->format != DATA_JSONL)
        return pf_err_set(err, PF_ERR_ARG, "task %s: unknown format %d", t->name, (int)t->format);
    if (!t->text[0] || !t->label[0])
        return pf_err_set(err, PF_ERR_ARG, "task %s: text and label columns must be named",
                          t->name);
    if (!t->regression && (t->n_labels < 1 || t->n_labels > DATA_MAX_LABELS))
        return pf_err_set(err, PF_ERR_ARG, "task %s: n_labels %d outside [1, %d]", t->name,
                          t->n_labels, DATA_MAX_LABELS);
    return PF_OK;
}

static pf_status read_impl(const char *path, const struct data_task *task,
                           struct data_task *collect, const struct data_read_opts *o,
                           struct data_set *out, int64_t *n_skipped, struct pf_err *err);

pf_status data_read(const char *path, const struct data_task *task, const struct data_read_opts *o,
                    struct data_set *out, int64_t *n_skipped, struct pf_err *err) {
    return read_impl(path, task, NULL, o, out, n_skipped, err);
}

/* Numbers in numeric order ("2" < "10"), other strings in byte order. */
static int label_cmp(const void *a, const void *b) {
    const char *x = a, *y = b;
    char *ex, *ey;
    double dx = strtod(x, &ex), dy = strtod(y, &ey);
    if (x[0] && y[0] && !*ex && !*ey && dx != dy)
        return dx < dy ? -1 : 1;
    return strcmp(x, y);
}

pf_status data_discover_labels(const char *path, struct data_task *task,
                               const struct data_read_opts *o, struct pf_err *err) {
    if (!task || task->regression)
        return pf_err_set(err, PF_ERR_ARG, "data_discover_labels: a classification task is "
                          "required");
    struct data_task t = *task;
    t.n_labels = 0;
    struct data_set set;
    pf_status st = read_impl(path, &t, &t, o, &set, NULL, err);
    data_set_free(&set);
    if (st != PF_OK)
        return st;
    if (t.n_labels < 2)
        return pf_err_at(err, PF_ERR_FORMAT, path, "column '%s' has %d distinct label%s: a "
                         "classification task needs at least 2 (or give task.labels)", t.label,
                         t.n_labels, t.n_labels == 1 ? "" : "s");
    qsort(t.labels, (size_t)t.n_labels, sizeof t.labels[0], label_cmp);
    task->n_labels = t.n_labels;
    memcpy(task->labels, t.labels, sizeof t.labels);
    return PF_OK;
}

static pf_status read_impl(const char *path, const struct data_task *task,
                           struct data_task *collect, const struct data_read_opts *o,
                           struct data_set *out, int64_t *n_skipped, struct pf_err *err) {
    if (n_skipped)
        *n_skipped = 0;
    if (!path || !task || !out)
        return pf_err_set(err, PF_ERR_ARG, "data_read: path, task and out are required");
    memset(out, 0, sizeof *out);
    pf_status st = collect ? PF_OK : check_task(task, err);
    if (st != PF_OK)
        return st;
    struct reader r = {0};
    r.path = path;
    r.task = task;
    r.collect = collect;
    r.skip_bad = o ? o->skip_bad : 0;
    r.max_rec = o && o->max_record_bytes > 0 ? (size_t)o->max_record_bytes : DEFAULT_MAX_RECORD;
    r.out = out;
    r.err = err;
    const char *why = NULL;
    r.f = file_fopen_regular(path, &why);
    if (!r.f)
        return pf_err_at(err, PF_ERR_IO, path, "cannot open: %s", why);
    r.chunk = malloc(READ_CHUNK);
    if (!r.chunk)
        nomem(&r, "read buffer");
    else if (task->format == DATA_JSONL)
        read_jsonl(&r);
    else
        read_csv(&r);
    if (!r.stop && out->n == 0) {
        if (!r.any_byte)
            fatal(&r, PF_ERR_FORMAT, 0, 0, "empty file");
        else if (r.skipped)
            fatal(&r, PF_ERR_FORMAT, 0, 0, "no examples (%lld bad rows skipped)",
                  (long long)r.skipped);
        else
            fatal(&r, PF_ERR_FORMAT, 0, 0, "no examples");
    }
    if (r.csv_live)
        csv_free(&r.csv);
    free(r.row);
    free(r.foff);
    free(r.line);
    free(r.chunk);
    fclose(r.f);
    if (r.stop) {
        data_set_free(out);
        return r.st;
    }
    if (n_skipped)
        *n_skipped = r.skipped;
    return PF_OK;
}
