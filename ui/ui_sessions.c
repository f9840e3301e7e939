/* ui_sessions.c - the sessions screen's data (ui_sessions.h). */
#include "ui_sessions.h"

#include <stdio.h>
#include <string.h>

#include "ui_text.h"
#include "util/xalloc.h"

pf_status ui_sessions_load(const char *root, struct search_store_list *out,
                           struct pf_err *err) {
    pf_status st = search_store_scan(root, out, err);
    if (st == PF_OK)
        search_store_sort(out, 1);
    return st;
}

const char *ui_sessions_col_name(int col) {
    static const char *const names[UI_SC_COUNT] = {"date", "session", "task", "method",
                                                   "budget", "params", "test", "status"};
    return col >= 0 && col < UI_SC_COUNT ? names[col] : "";
}

/* "2024-03-01T09:00:00..." -> "2024-03-01 09:00"; anything else as it is. */
static void fmt_date(const char *raw, char *buf, size_t n) {
    if (strlen(raw) >= 16 && raw[4] == '-' && raw[7] == '-' && (raw[10] == 'T' || raw[10] == ' ')
        && raw[13] == ':')
        snprintf(buf, n, "%.10s %.5s", raw, raw + 11);
    else
        snprintf(buf, n, "%s", raw[0] ? raw : "-");
}

static void fmt_num(const char *raw, char *buf, size_t n) {
    double v;
    if (search_store_parse_num(raw, &v))
        ui_fmt_count(v, buf, n);
    else
        snprintf(buf, n, "%s", raw[0] ? raw : "-");
}

void ui_sessions_cell(const struct search_store_session *s, int col, char *buf, size_t n) {
    double v;
    switch (col) {
    case UI_SC_DATE: fmt_date(s->meta[SSK_CREATED], buf, n); return;
    case UI_SC_ID: snprintf(buf, n, "%s", s->id); return;
    case UI_SC_TASK:
        snprintf(buf, n, "%s", s->meta[SSK_TASK][0] ? s->meta[SSK_TASK] : "-");
        return;
    case UI_SC_METHOD:
        snprintf(buf, n, "%s", s->meta[SSK_METHOD][0] ? s->meta[SSK_METHOD] : "-");
        return;
    case UI_SC_BUDGET: fmt_num(s->meta[SSK_BUDGET], buf, n); return;
    case UI_SC_PARAMS: fmt_num(s->meta[SSK_PARAMS], buf, n); return;
    case UI_SC_TEST:
        if (search_store_parse_num(s->meta[SSK_TEST], &v))
            snprintf(buf, n, "%.24s%s%.4f", s->meta[SSK_METRIC],
                     s->meta[SSK_METRIC][0] ? " " : "", v);
        else
            snprintf(buf, n, "-");
        return;
    case UI_SC_STATUS: snprintf(buf, n, "%s", s->status); return;
    default: snprintf(buf, n, "-"); return;
    }
}

static void read_side(const char *dir, struct ui_compare *c, int k) {
    char id[SEARCH_STORE_ID];
    const char *slash = strrchr(dir, '/');
    snprintf(id, sizeof id, "%s", slash && slash[1] ? slash + 1 : dir);
    search_store_read(dir, id, &c->meta[k], NULL);
    struct pf_err err = {0};
    if (peft_diff_read(dir, &c->side[k], &err) == PF_OK) {
        c->has[k] = 1;
        return;
    }
    peft_diff_side_free(&c->side[k]);
    c->side[k].params = -1;
    snprintf(c->why[k], sizeof c->why[k], "%s", err.msg);
}

void ui_compare_open(const char *dir_a, const char *dir_b, struct ui_compare *c) {
    memset(c, 0, sizeof *c);
    read_side(dir_a, c, 0);
    read_side(dir_b, c, 1);
    c->rows = peft_diff_rows(&c->side[0], &c->side[1], &c->n_rows);
    for (int i = 0; i < c->n_rows; i++)
        c->count[peft_diff_mark_of(&c->side[0], &c->side[1], &c->rows[i])]++;
}

void ui_compare_free(struct ui_compare *c) {
    peft_diff_side_free(&c->side[0]);
    peft_diff_side_free(&c->side[1]);
    xfree(c->rows);
    c->rows = NULL;
    c->n_rows = 0;
}

int ui_compare_row(const struct ui_compare *c, int i, char *name, size_t nn, char *ra,
                   char *rb, size_t rn, enum peft_diff_mark *mark) {
    if (i < 0 || i >= c->n_rows)
        return 0;
    const struct peft_diff_row *r = &c->rows[i];
    peft_diff_name(r, name, nn);
    peft_diff_rank(&c->side[0], r->a, ra, rn);
    peft_diff_rank(&c->side[1], r->b, rb, rn);
    *mark = peft_diff_mark_of(&c->side[0], &c->side[1], r);
    return 1;
}
