/* ui_map.c - the module map's column labels, widths and scrolling (ui_map.h). Pure: reads the
 * model only. */
#include "ui_map.h"

#include <stdio.h>
#include <string.h>

static const char *const abbrev[][2] = {
    {"ffn_up", "f.up"}, {"ffn_down", "f.dn"}, {"ffn_gate", "f.gt"},
    {"attn_ln", "a.ln"}, {"ffn_ln", "f.ln"},
};
#define N_ABBREV (int)(sizeof abbrev / sizeof abbrev[0])

int ui_map_abbrev(const char *pos, char *buf, size_t n) {
    for (int i = 0; i < N_ABBREV; i++)
        if (!strcmp(pos, abbrev[i][0])) {
            snprintf(buf, n, "%s", abbrev[i][1]);
            return 1;
        }
    snprintf(buf, n, "%s", pos);
    return 0;
}

/* 1 when column c holds no module of a layer (the columns of final.ln and the like). */
static int other_col(const struct ui_model *m, int c) {
    for (int r = 0; r < m->map_rows; r++) {
        int i = ui_model_map_at(m, r, c);
        if (i >= 0 && m->mods[i].layer >= 0)
            return 0;
    }
    return 1;
}

void ui_map_col_parts(const struct ui_model *m, int c, char *kind, size_t kn, char *label,
                      size_t ln) {
    if (c < 0 || c >= m->map_cols) {
        snprintf(kind, kn, "%s", "");
        snprintf(label, ln, "%s", "");
        return;
    }
    const char *key = m->col_key[c], *dot = strchr(key, '.');
    if (!dot || other_col(m, c)) {
        snprintf(kind, kn, "other");
        snprintf(label, ln, "%s", key);
        return;
    }
    snprintf(kind, kn, "%.*s", (int)(dot - key), key);
    ui_map_abbrev(dot + 1, label, ln);
}

static int digits(int v) {
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

int ui_map_cell_width(const struct ui_module *md) {
    int r = md->rank;
    for (int k = 0; k < md->n_ranks; k++)
        r = md->ranks[k] > r ? md->ranks[k] : r;
    int w = 1 + (r > 0 ? 1 + digits(r) : 0) + 1; /* glyph, "~8", "P" */
    return w < 2 ? 2 : w;                         /* " x" when pruned */
}

int ui_map_col_widths(const struct ui_model *m, int *w) {
    int sum = 0;
    for (int c = 0; c < m->map_cols; c++) {
        char kind[UI_NAME_MAX], label[UI_NAME_MAX];
        ui_map_col_parts(m, c, kind, sizeof kind, label, sizeof label);
        int need = (int)strlen(label);
        for (int r = 0; r < m->map_rows; r++) {
            int i = ui_model_map_at(m, r, c);
            if (i >= 0) {
                int cw = ui_map_cell_width(&m->mods[i]);
                need = cw > need ? cw : need;
            }
        }
        w[c] = need + UI_MAP_GAP;
        sum += w[c];
    }
    return sum;
}

int ui_map_label_width(const struct ui_model *m) {
    int w = 2; /* "--" */
    for (int r = 0; r < m->map_rows; r++) {
        char lbl[16];
        ui_model_row_label(m, r, lbl, sizeof lbl);
        int l = (int)strlen(lbl);
        w = l > w ? l : w;
    }
    return w + 1;
}

/* Columns that fit from first on (at least 1 when there is any). */
static int fit_from(const int *w, int n, int avail, int first) {
    int used = 0, k = 0;
    while (first + k < n && used + w[first + k] - UI_MAP_GAP <= avail) {
        used += w[first + k];
        k++;
    }
    return k == 0 && first < n ? 1 : k;
}

int ui_map_fit(const int *w, int n, int avail, int cur_col, int *col_off) {
    if (n <= 0 || avail <= 0) {
        *col_off = 0;
        return 0;
    }
    int off = *col_off;
    if (cur_col < 0)
        cur_col = 0;
    if (cur_col >= n)
        cur_col = n - 1;
    if (off > cur_col)
        off = cur_col;
    if (off < 0)
        off = 0;
    while (off < cur_col && off + fit_from(w, n, avail, off) <= cur_col)
        off++;
    /* no blank space at the right end while columns on the left are hidden */
    while (off > 0 && fit_from(w, n, avail, off - 1) >= n - off + 1)
        off--;
    *col_off = off;
    return fit_from(w, n, avail, off);
}

int ui_map_spread(int *w, int n, int avail) {
    int sum = 0;
    for (int c = 0; c < n; c++)
        sum += w[c];
    if (n <= 0 || sum - UI_MAP_GAP >= avail)
        return sum;
    int extra = (avail - (sum - UI_MAP_GAP)) / n;
    if (extra > UI_MAP_SPREAD_MAX)
        extra = UI_MAP_SPREAD_MAX;
    for (int c = 0; c < n; c++)
        w[c] += extra;
    return sum + extra * n;
}

void ui_map_legend(const struct ui_model *m, char *buf, size_t n) {
    if (n == 0)
        return;
    buf[0] = '\0';
    int used[N_ABBREV] = {0};
    for (int c = 0; c < m->map_cols; c++) {
        const char *dot = strchr(m->col_key[c], '.');
        if (!dot || other_col(m, c))
            continue;
        for (int i = 0; i < N_ABBREV; i++)
            if (!used[i] && !strcmp(dot + 1, abbrev[i][0])) {
                used[i] = 1;
                size_t l = strlen(buf);
                snprintf(buf + l, n - l, "%s%s %s", l ? "  " : "", abbrev[i][1], abbrev[i][0]);
            }
    }
}
