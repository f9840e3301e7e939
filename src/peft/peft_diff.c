/* peft_diff.c - two structure files side by side (peft_diff.h). */
#include "peft/peft_diff.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "peft/peft_io.h"
#include "util/xalloc.h"

#define DIFF_MAX_BYTES (64u << 20)

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

pf_status peft_diff_read(const char *arg, struct peft_diff_side *d, struct pf_err *err) {
    struct stat sb;
    int is_file = stat(arg, &sb) == 0 && S_ISREG(sb.st_mode);
    snprintf(d->path, sizeof d->path, is_file ? "%s" : "%s/structure.json", arg);
    char *txt = NULL;
    size_t len = 0;
    pf_status st = peft_read_text(d->path, DIFF_MAX_BYTES, &txt, &len, err);
    if (st != PF_OK)
        return st;
    st = peft_structure_parse(d->path, txt, len, &d->s, &d->n, err);
    if (st == PF_OK)
        d->params = sum_params(txt, len);
    xfree(txt);
    return st;
}

static int same_key(const struct peft_spec *s, const struct peft_diff_row *r) {
    return s->layer == r->layer && (int)s->kind == r->kind && (int)s->target == r->target;
}

static int row_cmp(const void *x, const void *y) {
    const struct peft_diff_row *a = x, *b = y;
    /* layer -1 (final_ln) sorts after every block */
    unsigned la = (unsigned)a->layer, lb = (unsigned)b->layer;
    if (la != lb)
        return la < lb ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return (a->target > b->target) - (a->target < b->target);
}

void peft_diff_name(const struct peft_diff_row *r, char *buf, size_t n) {
    const char *k = script_kind_name((enum cfg_kind)r->kind);
    if (r->layer < 0)
        snprintf(buf, n, "final.%s", k);
    else if (r->kind == CFG_KIND_PREFIX)
        snprintf(buf, n, "L%d.%s", r->layer, k);
    else
        snprintf(buf, n, "L%d.%s.%s", r->layer, k,
                 script_target_name((enum cfg_target)r->target));
}

void peft_diff_rank(const struct peft_diff_side *d, int i, char *buf, size_t n) {
    if (i < 0)
        snprintf(buf, n, "-");
    else if (d->s[i].rank > 0)
        snprintf(buf, n, "%d", d->s[i].rank);
    else
        snprintf(buf, n, "on");
}

struct peft_diff_row *peft_diff_rows(const struct peft_diff_side *a,
                                     const struct peft_diff_side *b, int *n) {
    struct peft_diff_row *r = xcalloc((size_t)(a->n + b->n + 1), sizeof *r);
    int k = 0;
    for (int i = 0; i < a->n; i++)
        r[k++] = (struct peft_diff_row){a->s[i].layer, (int)a->s[i].kind, (int)a->s[i].target, i,
                                   -1};
    for (int j = 0; j < b->n; j++) {
        int hit = -1;
        for (int i = 0; i < k && hit < 0; i++)
            if (r[i].b < 0 && r[i].a >= 0 && same_key(&b->s[j], &r[i]))
                hit = i;
        if (hit >= 0)
            r[hit].b = j;
        else
            r[k++] = (struct peft_diff_row){b->s[j].layer, (int)b->s[j].kind, (int)b->s[j].target,
                                       -1, j};
    }
    qsort(r, (size_t)k, sizeof *r, row_cmp);
    *n = k;
    return r;
}

void peft_diff_side_free(struct peft_diff_side *d) {
    xfree(d->s);
    d->s = NULL;
    d->n = 0;
}

enum peft_diff_mark peft_diff_mark_of(const struct peft_diff_side *a,
                                      const struct peft_diff_side *b,
                                      const struct peft_diff_row *r) {
    if (r->a < 0)
        return PEFT_DIFF_B_ONLY;
    if (r->b < 0)
        return PEFT_DIFF_A_ONLY;
    char ra[32], rb[32];
    peft_diff_rank(a, r->a, ra, sizeof ra);
    peft_diff_rank(b, r->b, rb, sizeof rb);
    return strcmp(ra, rb) ? PEFT_DIFF_CHANGED : PEFT_DIFF_SAME;
}
