/* cmd_sessions_diff.c - `bipeft sessions diff A B`: the final structures of two sessions
 * (A/structure.json and B/structure.json, peft/peft_io.h; A or B may also name the file
 * itself) side by side. One line per (layer, kind, target) present in either, sorted by layer
 * (final_ln, layer -1, last), kind, target:
 *     module      A   B
 *     L0.lora.q   8   8   =
 *     L0.lora.v   8   4   <>
 *     L1.ia3.ffn  on  -   A only
 * (rank, or "on" for vector kinds; "-" absent), then a totals line with the module and
 * parameter counts of each (the files' "params" fields). Exit 2 naming the file for a missing
 * or malformed structure. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "peft/peft.h"
#include "peft/peft_io.h"
#include "util/xalloc.h"

#define DIFF_MAX_BYTES (64u << 20)

struct diff_side {
    char path[4096];
    struct peft_spec *s;
    int n;
    int64_t params; /* -1: not known */
};

/* Whole file into a fresh buffer (*len bytes). */
static pf_status read_text(const char *path, char **out, size_t *len, struct pf_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = xmalloc(DIFF_MAX_BYTES + 1);
    size_t n = fread(buf, 1, DIFF_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    pf_status st = PF_OK;
    if (bad)
        st = pf_err_set(err, PF_ERR_IO, "%s: read failed", path);
    else if (n > DIFF_MAX_BYTES)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: larger than %u MiB", path,
                        DIFF_MAX_BYTES >> 20);
    if (st != PF_OK) {
        xfree(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return PF_OK;
}

/* Sum of modules[i].params, or the top-level "params" when a module lacks one; -1 if
 * neither is there. */
static int64_t sum_params(const char *txt, size_t len) {
    cJSON *r = cJSON_ParseWithLength(txt, len);
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(r, "modules");
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(r, "params");
    int64_t total = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, mods) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "params");
        if (!cJSON_IsNumber(p)) {
            total = cJSON_IsNumber(top) ? (int64_t)top->valuedouble : -1;
            break;
        }
        total += (int64_t)p->valuedouble;
    }
    cJSON_Delete(r);
    return total;
}

static pf_status read_side(const char *arg, struct diff_side *d, struct pf_err *err) {
    struct stat sb;
    int is_file = stat(arg, &sb) == 0 && S_ISREG(sb.st_mode);
    snprintf(d->path, sizeof d->path, is_file ? "%s" : "%s/structure.json", arg);
    char *txt = NULL;
    size_t len = 0;
    pf_status st = read_text(d->path, &txt, &len, err);
    if (st != PF_OK)
        return st;
    st = peft_structure_parse(d->path, txt, len, &d->s, &d->n, err);
    if (st == PF_OK)
        d->params = sum_params(txt, len);
    xfree(txt);
    return st;
}

struct diff_row {
    int layer, kind, target;
    int a, b; /* module index in A / B, -1: absent */
};

static int same_key(const struct peft_spec *s, const struct diff_row *r) {
    return s->layer == r->layer && (int)s->kind == r->kind && (int)s->target == r->target;
}

static int row_cmp(const void *x, const void *y) {
    const struct diff_row *a = x, *b = y;
    /* layer -1 (final_ln) sorts after every block */
    unsigned la = (unsigned)a->layer, lb = (unsigned)b->layer;
    if (la != lb)
        return la < lb ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return (a->target > b->target) - (a->target < b->target);
}

static void module_name(const struct diff_row *r, char *buf, size_t n) {
    const char *k = script_kind_name((enum cfg_kind)r->kind);
    if (r->layer < 0)
        snprintf(buf, n, "final.%s", k);
    else if (r->kind == CFG_KIND_PREFIX)
        snprintf(buf, n, "L%d.%s", r->layer, k);
    else
        snprintf(buf, n, "L%d.%s.%s", r->layer, k,
                 script_target_name((enum cfg_target)r->target));
}

static void rank_text(const struct diff_side *d, int i, char *buf, size_t n) {
    if (i < 0)
        snprintf(buf, n, "-");
    else if (d->s[i].rank > 0)
        snprintf(buf, n, "%d", d->s[i].rank);
    else
        snprintf(buf, n, "on");
}

/* Rows for every module of A and B; modules with the same key pair up in order. */
static struct diff_row *merge(const struct diff_side *a, const struct diff_side *b, int *n) {
    struct diff_row *r = xcalloc((size_t)(a->n + b->n + 1), sizeof *r);
    int k = 0;
    for (int i = 0; i < a->n; i++)
        r[k++] = (struct diff_row){a->s[i].layer, (int)a->s[i].kind, (int)a->s[i].target, i,
                                   -1};
    for (int j = 0; j < b->n; j++) {
        int hit = -1;
        for (int i = 0; i < k && hit < 0; i++)
            if (r[i].b < 0 && r[i].a >= 0 && same_key(&b->s[j], &r[i]))
                hit = i;
        if (hit >= 0)
            r[hit].b = j;
        else
            r[k++] = (struct diff_row){b->s[j].layer, (int)b->s[j].kind, (int)b->s[j].target,
                                       -1, j};
    }
    qsort(r, (size_t)k, sizeof *r, row_cmp);
    *n = k;
    return r;
}

static void params_text(int64_t p, char *buf, size_t n) {
    if (p < 0)
        snprintf(buf, n, "?");
    else
        snprintf(buf, n, "%lld", (long long)p);
}

static void print_diff(const struct diff_side *a, const struct diff_side *b) {
    int n;
    struct diff_row *r = merge(a, b, &n);
    char cells[4][64];
    int w[3] = {6, 1, 1}; /* "module", "A", "B" */
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            printf("A: %s\nB: %s\n", a->path, b->path);
            printf("%-*s  %-*s  %s\n", w[0], "module", w[1], "A", "B");
        }
        for (int i = 0; i < n; i++) {
            module_name(&r[i], cells[0], sizeof cells[0]);
            rank_text(a, r[i].a, cells[1], sizeof cells[1]);
            rank_text(b, r[i].b, cells[2], sizeof cells[2]);
            const char *mark = r[i].a < 0   ? "B only"
                               : r[i].b < 0 ? "A only"
                               : strcmp(cells[1], cells[2]) ? "<>"
                                                            : "=";
            snprintf(cells[3], sizeof cells[3], "%s", mark);
            for (int c = 0; c < 3 && !pass; c++)
                if ((int)strlen(cells[c]) > w[c])
                    w[c] = (int)strlen(cells[c]);
            if (pass)
                printf("%-*s  %-*s  %-*s  %s\n", w[0], cells[0], w[1], cells[1], w[2],
                       cells[2], cells[3]);
        }
    }
    char pa[32], pb[32];
    params_text(a->params, pa, sizeof pa);
    params_text(b->params, pb, sizeof pb);
    printf("total: A %d module%s, %s params; B %d module%s, %s params\n", a->n,
           a->n == 1 ? "" : "s", pa, b->n, b->n == 1 ? "" : "s", pb);
    xfree(r);
}

int cmd_sessions_diff(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-') {
        fprintf(stderr, "bipeft: sessions: usage: bipeft sessions diff A B\n");
        return 2;
    }
    struct diff_side a = {0}, b = {0};
    struct pf_err err = {0};
    pf_status st = read_side(argv[0], &a, &err);
    if (st == PF_OK)
        st = read_side(argv[1], &b, &err);
    if (st == PF_OK)
        print_diff(&a, &b);
    else
        fprintf(stderr, "bipeft: sessions: %s\n", err.msg);
    xfree(a.s);
    xfree(b.s);
    return st == PF_OK ? 0 : 2;
}
