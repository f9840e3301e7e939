/* ui_draw.c - the main view, the header, footer, help overlay and "too small" screen on
 * stdscr (ui_draw.h); the plots view is ui_draw_plots.c. It reads the model and the view
 * state only, and writes outside text only through ui_put_text (escaped). */
#include "ui_draw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_draw_int.h"
#include "ui_map.h"
#include "ui_plot.h"
#include "ui_text.h"
#include "util/xalloc.h"

/* ---- primitives ---- */

void ui_put_raw(int y, int x, int w, const char *s, attr_t attr) {
    if (y < 0 || y >= LINES || x < 0 || x >= COLS || w <= 0)
        return;
    if (w > COLS - x)
        w = COLS - x;
    int glyphs = 0, bytes = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, bytes++) {
        if ((*p & 0xc0) != 0x80) {
            if (glyphs == w)
                break;
            glyphs++;
        }
    }
    attron(attr);
    mvaddnstr(y, x, s, bytes);
    attroff(attr);
}

void ui_put_text(int y, int x, int w, const char *raw, attr_t attr) {
    char buf[1024];
    ui_text_escape(buf, sizeof buf, raw);
    ui_put_raw(y, x, w, buf, attr);
}

void ui_put_fmt(int y, int x, int w, attr_t attr, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_put_text(y, x, w, buf, attr);
}

attr_t ui_attr(const struct ui_style *st, int pair, attr_t fallback) {
    return st->color ? (attr_t)COLOR_PAIR(pair) : fallback;
}

void ui_draw_box(struct ui_rect r, const char *title, const struct ui_style *st) {
    if (r.w < 2 || r.h < 2)
        return;
    const char *h = st->utf8 ? "─" : "-", *v = st->utf8 ? "│" : "|";
    const char *c[4] = {"+", "+", "+", "+"};
    if (st->utf8) {
        c[0] = "┌";
        c[1] = "┐";
        c[2] = "└";
        c[3] = "┘";
    }
    for (int y = r.y + 1; y < r.y + r.h - 1; y++) {
        move(y, r.x + 1);
        for (int x = r.x + 1; x < r.x + r.w - 1 && x < COLS; x++)
            addch(' ');
        ui_put_raw(y, r.x, 1, v, 0);
        ui_put_raw(y, r.x + r.w - 1, 1, v, 0);
    }
    for (int x = r.x + 1; x < r.x + r.w - 1; x++) {
        ui_put_raw(r.y, x, 1, h, 0);
        ui_put_raw(r.y + r.h - 1, x, 1, h, 0);
    }
    ui_put_raw(r.y, r.x, 1, c[0], 0);
    ui_put_raw(r.y, r.x + r.w - 1, 1, c[1], 0);
    ui_put_raw(r.y + r.h - 1, r.x, 1, c[2], 0);
    ui_put_raw(r.y + r.h - 1, r.x + r.w - 1, 1, c[3], 0);
    if (title && r.w > 6) {
        char t[256];
        snprintf(t, sizeof t, " %s ", title);
        ui_put_text(r.y, r.x + 2, r.w - 4, t, A_BOLD);
    }
}

void ui_draw_style_init(struct ui_style *st, int utf8) {
    const char *nc = getenv("NO_COLOR");
    st->utf8 = utf8;
    st->color = has_colors() && !(nc && nc[0]);
    if (!st->color || start_color() == ERR) {
        st->color = 0;
        return;
    }
    use_default_colors();
    static const short lv[UI_SENS_LEVELS] = {COLOR_BLUE, COLOR_CYAN, COLOR_GREEN, COLOR_YELLOW,
                                             COLOR_RED};
    for (int i = 0; i < UI_SENS_LEVELS; i++)
        init_pair((short)(UI_PAIR_L0 + i), lv[i], -1);
    init_pair(UI_PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI_PAIR_USER, COLOR_CYAN, -1);
    init_pair(UI_PAIR_WARN, COLOR_YELLOW, -1);
    init_pair(UI_PAIR_ERROR, COLOR_RED, -1);
    init_pair(UI_PAIR_PLOT, COLOR_GREEN, -1);
    init_pair(UI_PAIR_REF, COLOR_RED, -1);
    init_pair(UI_PAIR_DIM, COLOR_BLUE, -1);
}

/* ---- header and footer ---- */

/* Columns of our own UTF-8 text (one per code point). */
static int text_cols(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* "[bar]" of width inner cells at (y, x); returns the column after it. */
static int put_bar(int y, int x, int width, double frac, const struct ui_style *st) {
    char bar[128];
    ui_bar(frac, width, st->utf8, bar, sizeof bar);
    ui_put_raw(y, x, 1, "[", 0);
    ui_put_raw(y, x + 1, width, bar, ui_attr(st, UI_PAIR_PLOT, A_BOLD));
    ui_put_raw(y, x + 1 + width, 1, "]", 0);
    return x + width + 2;
}

/* The search's progress line. */
static void header_search(const struct ui_model *m, int y, int w) {
    char dev[64];
    double frac = m->planned > 0 ? (double)m->step / (double)m->planned : 0;
    int k = m->stages_total - m->stages_left;
    if (m->has_dev)
        snprintf(dev, sizeof dev, "dev %s %.4f", m->metric[0] ? m->metric : "metric", m->dev);
    else
        snprintf(dev, sizeof dev, "dev --");
    char lw[16], la[16], tau[16];
    snprintf(lw, sizeof lw, isfinite(m->loss_w) ? "%.4f" : "--", m->loss_w);
    snprintf(la, sizeof la, isfinite(m->loss_a) ? "%.4f" : "--", m->loss_a);
    snprintf(tau, sizeof tau, isfinite(m->tau) ? "%.2f" : "--", m->tau);
    ui_put_fmt(y, 1, w, 0,
               "step %lld/%lld (%.0f%%)  epoch %d  stage %d/%d  loss %s/%s  tau %s  %s",
               (long long)m->step, (long long)m->planned, frac * 100, m->epoch,
               k < 0 ? 0 : k, m->stages_total, lw, la, tau, dev);
}

/* The training run's progress line (phase retrain or baseline): "retrain 120/450 (27%)
 * [bar] epoch 2  loss 0.5300  dev accuracy 0.4200", then where the search ended. */
static void header_train(const struct ui_model *m, int y, int w, const struct ui_style *st) {
    const struct ui_train *t = &m->train;
    char head[128], esc[64], tail[256], loss[24], dev[64];
    if (!t->run[0]) {
        ui_put_fmt(y, 1, w, 0, "%s: starting (search: %lld steps, stage %d/%d)", m->phase,
                   (long long)m->step, m->stages_total - m->stages_left, m->stages_total);
        return;
    }
    double frac = t->total > 0 ? (double)t->step / (double)t->total : 0;
    ui_text_escape(esc, sizeof esc, t->run);
    snprintf(head, sizeof head, "%s %lld/%lld (%.0f%%) ", esc, (long long)t->step,
             (long long)t->total, frac * 100);
    ui_put_raw(y, 1, w, head, A_BOLD);
    int x = 1 + text_cols(head);
    if (x + 14 < w)
        x = put_bar(y, x, 12, frac, st) + 1;
    snprintf(loss, sizeof loss, isfinite(t->loss) ? "%.4f" : "--", t->loss);
    if (isfinite(t->dev))
        snprintf(dev, sizeof dev, "%s %.4f", m->metric[0] ? m->metric : "metric", t->dev);
    else
        snprintf(dev, sizeof dev, "--");
    snprintf(tail, sizeof tail, "epoch %d  loss %s  dev %s  (search: %lld steps)", t->epoch + 1,
             loss, dev, (long long)m->step);
    ui_put_text(y, x, w + 1 - x, tail, 0);
}

static void draw_header(const struct ui_model *m, struct ui_rect r, const struct ui_style *st) {
    char a[16], b[16], c[16], t1[16], t2[16];
    move(r.y, 0);
    attron(ui_attr(st, UI_PAIR_TITLE, A_REVERSE));
    for (int x = 0; x < r.w; x++)
        addch(' ');
    attroff(ui_attr(st, UI_PAIR_TITLE, A_REVERSE));
    /* the most telling first: a narrow terminal cuts the model path, not the phase */
    ui_put_fmt(r.y, 1, r.w - 2 - (m->paused ? 9 : 0),
               ui_attr(st, UI_PAIR_TITLE, A_REVERSE) | A_BOLD,
               "bipeft  phase %s  task %s  method %s  device %s  model %s", m->phase, m->task,
               m->method, m->device, m->model);
    if (m->paused)
        ui_put_raw(r.y, r.w - 10, 9, " PAUSED ", A_REVERSE | A_BOLD);
    int training = ui_model_training(m);
    if (training)
        header_train(m, r.y + 1, r.w - 2, st);
    else
        header_search(m, r.y + 1, r.w - 2);
    ui_fmt_count((double)m->current, a, sizeof a);
    ui_fmt_count(m->expected, b, sizeof b);
    ui_fmt_count(m->budget, c, sizeof c);
    ui_fmt_duration(m->seconds, t1, sizeof t1);
    if (m->done)
        snprintf(t2, sizeof t2, "done");
    else if (!training && !ui_model_searching(m))
        snprintf(t2, sizeof t2, "--"); /* between the search and a training run */
    else
        ui_fmt_duration(training ? m->train.eta : m->eta, t2, sizeof t2);
    double over = m->budget > 0 ? m->expected / m->budget : NAN;
    char line[256];
    snprintf(line, sizeof line, "params %s now  E %s / B %s (%.2fx)  ", a, b, c,
             isfinite(over) ? over : 0);
    char times[96];
    snprintf(times, sizeof times, "elapsed %s  ETA %s%s", t1, t2, training ? " (this run)" : "");
    ui_put_text(r.y + 2, 1, r.w - 2, line, 0);
    /* the bar gives way first when the line is too long for the terminal */
    int x = 1 + (int)strlen(line), room = r.w - 2 - x - text_cols(times) - 3;
    if (room >= 4)
        x = put_bar(r.y + 2, x, room < 12 ? room : 12,
                    isfinite(over) ? 1.0 / (over > 1 ? over : 1) : 0, st) + 1;
    ui_put_text(r.y + 2, x, r.w - x - 1, times, 0);
}

static void draw_footer(const struct ui_view_state *vs, struct ui_rect r) {
    move(r.y, 0);
    clrtoeol();
    if (vs->prompt != UI_PROMPT_NONE) {
        ui_put_fmt(r.y, 0, r.w, A_BOLD, "%s%s_", vs->prompt_text, vs->input);
        return;
    }
    if (vs->status[0]) {
        ui_put_text(r.y, 0, r.w, vs->status, A_BOLD);
        return;
    }
    ui_put_text(r.y, 0, r.w, vs->read_only ? "?:help  arrows:move  tab:view  q:quit"
                : "?:help  arrows:move  p:pin  x:prune  f:fix rank  b:budget  space:pause  "
                  "r:reload  s:checkpoint  tab:view  q:quit", 0);
}

/* ---- map ---- */

int ui_draw_cursor_module(const struct ui_model *m, const struct ui_view_state *vs) {
    return ui_model_map_at(m, vs->cur_row, vs->cur_col);
}

/* The cell text of module i: its level glyph, the rank ("r4" fixed, "~4" current), P for a
 * pin; "x" when pruned, a dot before its first snapshot. */
static void cell_text(const struct ui_module *md, int level, const struct ui_style *st,
                      char *buf, size_t n) {
    static const char *const glyph_u[UI_SENS_LEVELS] = {"▁", "▃", "▄", "▆", "█"};
    static const char glyph_a[UI_SENS_LEVELS] = {'.', ':', '=', '*', '#'};
    char rank[12] = "";
    if (md->pruned) {
        snprintf(buf, n, " x");
        return;
    }
    if (md->rank > 0)
        snprintf(rank, sizeof rank, "%c%d", md->fixed ? 'r' : '~', md->rank);
    const char *g = level < 0 ? (st->utf8 ? "·" : ".")
                              : st->utf8 ? glyph_u[level] : (char[2]){glyph_a[level], 0};
    snprintf(buf, n, "%s%s%s", g, rank, md->pinned ? "P" : "");
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void draw_map_cell(const struct ui_model *m, const struct ui_view_state *vs,
                          const int *lv, int row, int col, int y, int x, int cw,
                          const struct ui_style *st) {
    int i = ui_model_map_at(m, row, col);
    int cur = row == vs->cur_row && col == vs->cur_col;
    char cell[32] = "";
    attr_t at = 0;
    if (i >= 0) {
        const struct ui_module *md = &m->mods[i];
        cell_text(md, lv[i], st, cell, sizeof cell);
        if (md->pruned)
            at = ui_attr(st, UI_PAIR_DIM, A_DIM);
        else if (lv[i] >= 0)
            at = ui_attr(st, UI_PAIR_L0 + lv[i], lv[i] == UI_SENS_LEVELS - 1 ? A_BOLD : 0);
        if (md->pinned || md->fixed)
            at |= A_BOLD;
    }
    int tw = cw - UI_MAP_GAP > 0 ? cw - UI_MAP_GAP : 1;
    if (cur) { /* reverse video over the whole cell, padded */
        char pad[64];
        int len = text_cols(cell);
        snprintf(pad, sizeof pad, "%s%*s", cell, tw - len > 0 ? tw - len : 0, "");
        ui_put_raw(y, x, tw, pad, at | A_REVERSE);
    } else {
        ui_put_raw(y, x, tw, cell, at);
    }
}

/* The map's column widths (m->map_cols entries, or NULL when there are none) and the width
 * the map's frame needs to show them all. */
static int *map_widths(const struct ui_model *m, int *need_w) {
    *need_w = 0;
    if (m->map_cols <= 0)
        return NULL;
    int *w = xmalloc((size_t)m->map_cols * sizeof *w);
    *need_w = 2 + ui_map_label_width(m) + ui_map_col_widths(m, w) - UI_MAP_GAP;
    return w;
}

/* The kinds over their groups of columns, the position labels under them. */
static void draw_map_heads(const struct ui_model *m, const int *cw, int first, int vis,
                           int y, int x0, int right) {
    for (int c = 0, x = x0; c < vis; c++) {
        char kind[UI_NAME_MAX], label[UI_NAME_MAX], next[UI_NAME_MAX], lbl2[UI_NAME_MAX];
        ui_map_col_parts(m, first + c, kind, sizeof kind, label, sizeof label);
        char prev[UI_NAME_MAX] = "";
        if (c > 0)
            ui_map_col_parts(m, first + c - 1, prev, sizeof prev, lbl2, sizeof lbl2);
        if (c == 0 || strcmp(kind, prev)) { /* the kind once, as wide as its group */
            int gw = 0;
            for (int k = c; k < vis; k++) {
                ui_map_col_parts(m, first + k, next, sizeof next, lbl2, sizeof lbl2);
                if (strcmp(next, kind))
                    break;
                gw += cw[first + k];
            }
            gw -= UI_MAP_GAP;
            ui_put_text(y, x, clampi(gw, 1, right - x), kind, A_BOLD);
        }
        ui_put_text(y + 1, x, clampi(cw[first + c] - UI_MAP_GAP, 1, right - x), label,
                    A_UNDERLINE);
        x += cw[first + c];
    }
}

static void draw_map(const struct ui_model *m, struct ui_view_state *vs, struct ui_rect r,
                     int *cw, const struct ui_style *st) {
    char title[64];
    snprintf(title, sizeof title, "modules (%d)", m->n_mods);
    ui_draw_box(r, title, st);
    int iw = r.w - 2, ih = r.h - 2, label_w = ui_map_label_width(m);
    if (r.w > 40) { /* the legend, our own glyphs: drawn raw after the title */
        const char *lg = st->utf8 ? " low ▁▃▄▆█ high " : " low .:=*# high ";
        ui_put_raw(r.y, r.x + r.w - 20, 17, lg, 0);
    }
    if (!cw || iw <= label_w + 4 || ih < 3 || m->map_rows == 0)
        return;
    int avail = iw - label_w;
    int vis_c = ui_map_fit(cw, m->map_cols, avail, vs->cur_col, &vs->col_off);
    int vis_r = ih - 2;
    if (vis_c < 1 || vis_r < 1)
        return;
    if (vs->col_off == 0 && vis_c == m->map_cols)
        ui_map_spread(cw, m->map_cols, avail);
    vs->row_off = clampi(vs->row_off, vs->cur_row - vis_r + 1, vs->cur_row);
    vs->row_off = clampi(vs->row_off, 0, m->map_rows > vis_r ? m->map_rows - vis_r : 0);
    int x0 = r.x + 1 + label_w, right = r.x + r.w - 1;
    draw_map_heads(m, cw, vs->col_off, vis_c, r.y + 1, x0, right);
    if (vs->col_off > 0)
        ui_put_raw(r.y + 2, r.x + 1, 3, "<<", A_BOLD);
    if (vs->col_off + vis_c < m->map_cols)
        ui_put_raw(r.y + 1, r.x + r.w - 3, 2, ">>", A_BOLD);
    int *lv = xmalloc((size_t)(m->n_mods + 1) * sizeof *lv);
    ui_model_sens_levels(m, lv, UI_SENS_LEVELS);
    int shown = 0;
    for (int rr = 0; rr < vis_r && rr + vs->row_off < m->map_rows; rr++, shown++) {
        int row = rr + vs->row_off, y = r.y + 3 + rr;
        char lbl[16];
        ui_model_row_label(m, row, lbl, sizeof lbl);
        ui_put_text(y, r.x + 1, label_w, lbl, A_BOLD);
        for (int c = 0, x = x0; c < vis_c; x += cw[vs->col_off + c], c++)
            draw_map_cell(m, vs, lv, row, c + vs->col_off, y, x,
                          clampi(cw[vs->col_off + c], 1, right - x + UI_MAP_GAP), st);
    }
    xfree(lv);
    char legend[256];
    ui_map_legend(m, legend, sizeof legend);
    if (legend[0] && shown + 1 < vis_r) /* a blank row, then the legend at the bottom */
        ui_put_text(r.y + r.h - 2, r.x + 2, iw - 2, legend, A_DIM);
}

/* ---- detail ---- */

static void spark_line(int y, int x, int w, const char *label, const struct ui_ring *ring,
                       double now, const char *fmt, const struct ui_style *st) {
    double v[UI_HIST];
    char sp[UI_HIST * 4 + 1], num[32];
    int n = ui_ring_get(ring, v, UI_HIST);
    snprintf(num, sizeof num, isfinite(now) ? fmt : "--", now);
    ui_put_fmt(y, x, w, 0, "%-6s%-9s", label, num);
    if (w > 15) {
        ui_spark(v, n, w - 15, st->utf8, sp, sizeof sp);
        ui_put_raw(y, x + 15, w - 15, sp, ui_attr(st, UI_PAIR_PLOT, 0));
    }
}

static void draw_detail(const struct ui_model *m, const struct ui_view_state *vs,
                        struct ui_rect r, const struct ui_style *st) {
    int i = ui_draw_cursor_module(m, vs);
    ui_draw_box(r, i >= 0 ? m->mods[i].name : "no module here", st);
    if (i < 0 || r.w < 10 || r.h < 3)
        return;
    const struct ui_module *md = &m->mods[i];
    int x = r.x + 2, w = r.w - 4, y = r.y + 1, end = r.y + r.h - 1;
    char state[96], cost[16], full[16];
    snprintf(state, sizeof state, "%s%s%s", md->pruned ? "pruned" : "on",
             md->pinned ? ", pinned" : "", md->fixed ? ", rank fixed" : "");
    char where[160], esc[200];
    if (md->layer >= 0) /* the position's full name (the map abbreviates it) */
        snprintf(where, sizeof where, "layer %d  %s.%s", md->layer, md->kind, md->pos);
    else
        snprintf(where, sizeof where, "%s", md->kind);
    ui_text_escape(esc, sizeof esc, where);
    if (y < end && (int)(strlen(esc) + 2 + strlen(state)) <= w) {
        ui_put_fmt(y++, x, w, 0, "%s  %s", where, state);
    } else { /* narrow: the state on a line of its own */
        if (y < end)
            ui_put_text(y++, x, w, where, 0);
        if (y < end)
            ui_put_text(y++, x, w, state, 0);
    }
    if (y < end)
        spark_line(y++, x, w, "sens", &md->h_sens, md->sens, "%.3g", st);
    if (y < end)
        spark_line(y++, x, w, "DSI", &md->h_dsi, md->dsi, "%.3g", st);
    ui_fmt_count(md->cost, cost, sizeof cost);
    ui_fmt_count(md->full_cost, full, sizeof full);
    char pon[16];
    snprintf(pon, sizeof pon, isfinite(md->p_on) ? "%.2f" : "--", md->p_on);
    char rank[16];
    snprintf(rank, sizeof rank, md->rank > 0 ? "%d" : "--", md->rank);
    if (y < end)
        ui_put_fmt(y++, x, w, 0, "P(on) %s  rank %s", pon, rank);
    if (y < end)
        ui_put_fmt(y++, x, w, 0, "E_m %s of %s params", cost, full);
    if (y < end && md->n_ranks == 0)
        ui_put_text(y++, x, w, "rank probabilities: none", A_DIM);
    else if (y < end)
        ui_put_text(y++, x, w, "rank probabilities, history:", 0);
    for (int k = 0; k < md->n_ranks && y < end; k++, y++) {
        char bar[64], sp[UI_HIST * 4 + 1];
        double v[UI_HIST];
        int n = ui_ring_get(&md->h_prob[k], v, UI_HIST);
        ui_bar(md->probs[k], 8, st->utf8, bar, sizeof bar);
        ui_put_fmt(y, x, w, md->ranks[k] == md->rank ? A_BOLD : 0, "r%-3d %.3f", md->ranks[k],
                   md->probs[k]);
        ui_put_raw(y, x + 11, 8, bar, ui_attr(st, UI_PAIR_PLOT, A_BOLD));
        if (w > 21) {
            ui_spark(v, n, w - 21, st->utf8, sp, sizeof sp);
            ui_put_raw(y, x + 21, w - 21, sp, ui_attr(st, UI_PAIR_PLOT, 0));
        }
    }
    if (y < end && !vs->read_only)
        ui_put_text(end - 1, x, w, "p pin  x prune  f fix rank", A_DIM);
}

/* ---- log ---- */

static void draw_log(const struct ui_model *m, struct ui_rect r, const struct ui_style *st) {
    ui_draw_box(r, "events", st);
    int ih = r.h - 2, n = ui_model_log_count(m);
    for (int k = 0; k < ih && k < n; k++) {
        const struct ui_log_line *l = ui_model_log_line(m, n - 1 - k);
        int y = r.y + r.h - 2 - k;
        attr_t at = 0;
        const char *mark = "  ";
        switch (l->level) {
        case UI_LOG_ERROR: at = ui_attr(st, UI_PAIR_ERROR, 0) | A_BOLD; mark = "!!"; break;
        case UI_LOG_WARN: at = ui_attr(st, UI_PAIR_WARN, A_BOLD); mark = " !"; break;
        case UI_LOG_USER: at = ui_attr(st, UI_PAIR_USER, A_BOLD); mark = " >"; break;
        case UI_LOG_DECISION: at = A_BOLD; break;
        default: break;
        }
        ui_put_fmt(y, r.x + 1, r.w - 2, at, "%s%7lld %s", mark, (long long)l->step, l->text);
    }
}

/* ---- help, too small ---- */

static const char *const live_help[] = {
    "arrows, h j k l   move over the module map",
    "p                 pin / unpin the module under the cursor",
    "x                 prune it",
    "f                 fix its rank (asks; Enter: the likeliest)",
    "b                 set the budget (asks: 2000, 1.5k, 2M)",
    "space             pause / resume the search",
    "r                 reload the Lua policy (a bad file is refused",
    "                  and the old one stays: see the event log)",
    "s                 write a checkpoint now",
    "tab               switch view: modules / plots",
    "q                 quit: checkpoint and stop (asks first);",
    "                  continue later with: bipeft resume DIR",
    "?                 this help (any key closes it)",
    "",
    "map cells: level of sensitivity, ~4 current rank, r4 fixed",
    "           rank, P pinned, x pruned; cursor in reverse video",
    NULL,
};

static const char *const read_only_help[] = {
    "arrows, h j k l   move over the module map",
    "tab               switch view: modules / plots",
    "q                 quit",
    "?                 this help (any key closes it)",
    "",
    "map cells: level of sensitivity, ~4 current rank, r4 fixed",
    "           rank, P pinned, x pruned; cursor in reverse video",
    NULL,
};

static void draw_help(const struct ui_view_state *vs, struct ui_rect r,
                      const struct ui_style *st) {
    const char *const *lines = vs->help_lines ? vs->help_lines
                               : vs->read_only ? read_only_help : live_help;
    ui_draw_box(r, vs->help_lines && vs->help_title ? vs->help_title : "keys", st);
    for (int i = 0; lines[i] && i < r.h - 2; i++)
        ui_put_text(r.y + 1 + i, r.x + 2, r.w - 4, lines[i], 0);
}

/* "terminal too small (need >= WxH)", on one row or, when narrower, on two. */
static void draw_too_small(const struct ui_layout *l, const struct ui_style *st) {
    char need[48];
    snprintf(need, sizeof need, "(need %s %dx%d)", st->utf8 ? "≥" : ">=", l->need_w, l->need_h);
    const char *what = "terminal too small";
    if ((int)(strlen(what) + 1 + strlen(need)) <= l->w || l->h < 2) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s %s", what, need);
        ui_put_raw(l->h / 2, 0, l->w, msg, A_BOLD);
    } else {
        ui_put_raw(l->h / 2 - 1 + (l->h > 2), 0, l->w, what, A_BOLD);
        ui_put_raw(l->h / 2 + (l->h > 2), 0, l->w, need, A_BOLD);
    }
}

void ui_draw_screen(const struct ui_model *m, struct ui_view_state *vs,
                    const struct ui_style *st) {
    struct ui_layout l;
    ui_layout_compute(&l, COLS, LINES, vs->view, vs->help);
    erase();
    if (l.w <= 0 || l.h <= 0)
        return;
    if (l.too_small) {
        draw_too_small(&l, st);
        return;
    }
    draw_header(m, l.header, st);
    if (vs->view == UI_VIEW_PLOTS) {
        ui_draw_plots(m, &l, st);
    } else {
        int need_w;
        int *cw = map_widths(m, &need_w);
        ui_layout_fit_map(&l, need_w);
        draw_map(m, vs, l.map, cw, st);
        draw_detail(m, vs, l.detail, st);
        draw_log(m, l.log, st);
        xfree(cw);
    }
    draw_footer(vs, l.footer);
    if (vs->help)
        draw_help(vs, l.help, st);
}
