/* ui_draw_plots.c - the plots view (curses): expected parameters E per step against the
 * budget line, E after each pruning stage, the two losses, the dev metric and the mean DSI
 * stability, each in a frame with its y range. Braille with UTF-8, ASCII otherwise
 * (ui_plot.h does the maths). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ui_draw_int.h"
#include "ui_plot.h"
#include "ui_text.h"

#define AXIS_W 8

/* Short number for an axis label. */
static void axis_num(double v, char *b, size_t n) {
    if (fabs(v) >= 1000)
        ui_fmt_count(v, b, n);
    else
        snprintf(b, n, "%.3g", v);
}

/* Frame r titled `title` with series s (and a reference line at ref when finite). */
static void plot_box(struct ui_rect r, const char *title, const struct ui_series *s, double ref,
                     const struct ui_style *st) {
    char t[160];
    if (s->n > 0)
        snprintf(t, sizeof t, "%s  (x %.0f..%.0f)", title, s->x[0], s->x[s->n - 1]);
    else
        snprintf(t, sizeof t, "%s", title);
    ui_draw_box(r, t, st);
    int iw = r.w - 2, ih = r.h - 2;
    if (iw <= AXIS_W + 1 || ih < 1)
        return;
    if (s->n == 0) {
        ui_put_text(r.y + 1, r.x + 2, iw - 2, "no data yet", A_DIM);
        return;
    }
    double lo, hi;
    ui_plot_range(s->y, s->n, 0.05, &lo, &hi);
    ui_plot_include(&lo, &hi, ref);
    char a[16];
    axis_num(hi, a, sizeof a);
    ui_put_text(r.y + 1, r.x + 1, AXIS_W - 1, a, A_DIM);
    axis_num(lo, a, sizeof a);
    ui_put_text(r.y + ih, r.x + 1, AXIS_W - 1, a, A_DIM);
    struct ui_canvas c;
    ui_canvas_init(&c, iw - AXIS_W, ih, st->utf8);
    ui_plot_series(&c, s->y, s->n, lo, hi);
    ui_plot_ref(&c, ref, lo, hi);
    for (int y = 0; y < c.h; y++)
        for (int x = 0; x < c.w; x++) {
            char cell[8];
            int k = ui_canvas_cell(&c, x, y, cell);
            if (k)
                ui_put_raw(r.y + 1 + y, r.x + 1 + AXIS_W + x, 1, cell,
                           k == 1 ? ui_attr(st, UI_PAIR_PLOT, A_BOLD) : ui_attr(st, UI_PAIR_REF, 0));
        }
    ui_canvas_free(&c);
}

void ui_draw_plots(const struct ui_model *m, const struct ui_layout *l,
                   const struct ui_style *st) {
    char t[128], b[16];
    ui_fmt_count(m->budget, b, sizeof b);
    snprintf(t, sizeof t, "expected params E per step; the line: budget B = %s", b);
    plot_box(l->plot_budget, t, &m->s_expected, m->budget, st);
    snprintf(t, sizeof t, "E after each stage (%d/%d)", m->stages_total - m->stages_left,
             m->stages_total);
    plot_box(l->plot_stage, t, &m->s_stage, m->budget, st);
    snprintf(t, sizeof t, "weight-half loss %.4f (arch-half %.4f)", m->loss_w, m->loss_a);
    plot_box(l->plot_loss, t, &m->s_loss_w, NAN, st);
    snprintf(t, sizeof t, "dev %s %s", m->metric[0] ? m->metric : "metric",
             m->has_dev ? "" : "(after the first epoch)");
    if (m->has_dev)
        snprintf(t + strlen(t), sizeof t - strlen(t), "%.4f", m->dev);
    plot_box(l->plot_dev, t, &m->s_dev, NAN, st);
    plot_box(l->plot_stab, "stability: mean DSI of unfixed modules per snapshot", &m->s_stab,
             NAN, st);
}
