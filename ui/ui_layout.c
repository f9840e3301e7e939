/* ui_layout.c - the rectangles of each view for a terminal size (ui_layout.h). Integer
 * arithmetic only, every size clamped: no division by a size, no negative widths. */
#include "ui_layout.h"

#include <string.h>

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static struct ui_rect rect(int x, int y, int w, int h) {
    struct ui_rect r = {x, y, w > 0 ? w : 0, h > 0 ? h : 0};
    return r;
}

static void main_view(struct ui_layout *l, int top, int bh) {
    int log_h = clamp(bh / 3, 5, bh);
    int top_h = bh - log_h;
    int detail_w = clamp(l->w / 3, UI_DETAIL_MIN_W, 50);
    l->map = rect(0, top, l->w - detail_w, top_h);
    l->detail = rect(l->w - detail_w, top, detail_w, top_h);
    l->log = rect(0, top + top_h, l->w, log_h);
}

static void plots_view(struct ui_layout *l, int top, int bh) {
    int b_h = clamp(bh * 2 / 5, 4, bh);
    int m_h = clamp(bh * 3 / 10, 4, bh - b_h);
    int s_h = bh - b_h - m_h;
    int left = l->w * 2 / 3, half = l->w / 2;
    l->plot_budget = rect(0, top, left, b_h);
    l->plot_stage = rect(left, top, l->w - left, b_h);
    l->plot_loss = rect(0, top + b_h, half, m_h);
    l->plot_dev = rect(half, top + b_h, l->w - half, m_h);
    l->plot_stab = rect(0, top + b_h + m_h, l->w, s_h);
}

void ui_layout_compute(struct ui_layout *l, int w, int h, enum ui_view view, int help) {
    memset(l, 0, sizeof *l);
    l->w = w > 0 ? w : 0;
    l->h = h > 0 ? h : 0;
    l->need_w = UI_MIN_W;
    l->need_h = UI_MIN_H;
    if (l->w < UI_MIN_W || l->h < UI_MIN_H) {
        l->too_small = 1;
        return;
    }
    l->header = rect(0, 0, l->w, 3);
    l->footer = rect(0, l->h - 1, l->w, 1);
    int top = 3, bh = l->h - 4;
    if (view == UI_VIEW_PLOTS)
        plots_view(l, top, bh);
    else
        main_view(l, top, bh);
    if (help) {
        int hw = clamp(l->w - 4, 0, 66), hh = clamp(l->h - 2, 0, 20);
        l->help = rect((l->w - hw) / 2, (l->h - hh) / 2, hw, hh);
    }
}

void ui_layout_fit_map(struct ui_layout *l, int need_w) {
    if (l->too_small || l->map.w == 0 || l->detail.w == 0 || need_w <= l->map.w)
        return;
    int give = need_w - l->map.w, spare = l->detail.w - UI_DETAIL_MIN_W;
    if (give > spare)
        give = spare;
    if (give <= 0)
        return;
    l->map.w += give;
    l->detail.x += give;
    l->detail.w -= give;
}

int ui_rect_inside(struct ui_rect r, int w, int h) {
    if (r.w == 0 || r.h == 0)
        return 1;
    return r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0 && r.x + r.w <= w && r.y + r.h <= h;
}

int ui_rect_overlap(struct ui_rect a, struct ui_rect b) {
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0)
        return 0;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
