/* test_ui_layout.c - ui/ui_layout.c: for terminal sizes from 0x0 to 300x100 and both views
 * (with and without the help overlay), every rectangle lies inside the screen, none is
 * negative, the panels of a view do not overlap, and "too small" holds exactly below
 * UI_MIN_W x UI_MIN_H; ui_layout_fit_map widens the map into the detail panel down to its
 * minimum width, never more, never overlapping. */
#include <criterion/criterion.h>

#include "ui_layout.h"

static void check_rect(struct ui_rect r, int w, int h, const char *what) {
    cr_assert(r.w >= 0 && r.h >= 0, "%s: negative size %dx%d at %dx%d", what, r.w, r.h, w, h);
    cr_assert(ui_rect_inside(r, w, h), "%s (%d,%d %dx%d) outside %dx%d", what, r.x, r.y, r.w,
              r.h, w, h);
}

/* The panels of the view (the help overlay excluded: it is drawn on top on purpose). */
static int panels(const struct ui_layout *l, struct ui_rect *out) {
    const struct ui_rect all[] = {l->header, l->footer, l->map, l->detail, l->log,
                                  l->plot_budget, l->plot_stage, l->plot_loss, l->plot_dev,
                                  l->plot_stab};
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        out[n++] = all[i];
    return n;
}

static void check_size(int w, int h) {
    for (int v = 0; v < UI_VIEW_COUNT; v++)
        for (int help = 0; help < 2; help++) {
            struct ui_layout l;
            ui_layout_compute(&l, w, h, (enum ui_view)v, help);
            int small = w < UI_MIN_W || h < UI_MIN_H;
            cr_assert_eq(l.too_small, small, "%dx%d: too_small %d", w, h, l.too_small);
            cr_assert_eq(l.need_w, UI_MIN_W);
            cr_assert_eq(l.need_h, UI_MIN_H);
            struct ui_rect r[16];
            int n = panels(&l, r);
            for (int i = 0; i < n; i++) {
                check_rect(r[i], w, h, "panel");
                if (small)
                    cr_assert(r[i].w == 0 && r[i].h == 0, "%dx%d: a panel while too small", w,
                              h);
                for (int j = 0; j < i; j++)
                    cr_assert(!ui_rect_overlap(r[i], r[j]), "%dx%d view %d: panels %d and %d "
                              "overlap", w, h, v, i, j);
            }
            check_rect(l.help, w, h, "help");
            if (!small) {
                cr_assert_eq(l.header.h, 3);
                cr_assert_eq(l.footer.y, h - 1);
                if (v == UI_VIEW_MAIN) {
                    cr_assert(l.map.w > 0 && l.map.h > 0 && l.detail.w > 0 && l.log.h >= 5);
                    cr_assert_eq(l.plot_budget.w, 0);
                    /* every row between header and footer belongs to a panel */
                    cr_assert_eq(l.map.h + l.log.h, h - 4);
                    cr_assert_eq(l.map.w + l.detail.w, w);
                } else {
                    cr_assert(l.plot_budget.h >= 4 && l.plot_loss.h >= 4 && l.plot_stab.h > 0);
                    cr_assert_eq(l.map.w, 0);
                    cr_assert_eq(l.plot_budget.h + l.plot_loss.h + l.plot_stab.h, h - 4);
                }
                cr_assert_eq(help ? l.help.w > 0 : l.help.w == 0, 1);
            }
        }
}

Test(ui_layout, named_sizes) {
    const int sz[][2] = {{0, 0}, {1, 1}, {20, 5}, {79, 23}, {80, 24}, {160, 48}, {300, 100},
                         {-5, -3}, {1, 300}, {300, 1}};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        check_size(sz[i][0], sz[i][1]);
    struct ui_layout l;
    ui_layout_compute(&l, 79, 23, UI_VIEW_MAIN, 0);
    cr_assert_eq(l.too_small, 0, "79x23 is above the minimum %dx%d", UI_MIN_W, UI_MIN_H);
    ui_layout_compute(&l, 80, 24, UI_VIEW_MAIN, 0);
    cr_assert_eq(l.too_small, 0);
    ui_layout_compute(&l, 20, 5, UI_VIEW_PLOTS, 1);
    cr_assert_eq(l.too_small, 1);
}

Test(ui_layout, exactly_below_minimum) {
    struct ui_layout l;
    ui_layout_compute(&l, UI_MIN_W, UI_MIN_H, UI_VIEW_MAIN, 0);
    cr_assert_eq(l.too_small, 0);
    ui_layout_compute(&l, UI_MIN_W - 1, UI_MIN_H, UI_VIEW_MAIN, 0);
    cr_assert_eq(l.too_small, 1);
    ui_layout_compute(&l, UI_MIN_W, UI_MIN_H - 1, UI_VIEW_PLOTS, 0);
    cr_assert_eq(l.too_small, 1);
}

Test(ui_layout, every_size_up_to_130x50) {
    for (int w = 0; w <= 130; w++)
        for (int h = 0; h <= 50; h++)
            check_size(w, h);
}

Test(ui_layout, overlap_helper) {
    struct ui_rect a = {0, 0, 10, 5}, b = {9, 4, 3, 3}, c = {10, 0, 3, 3}, e = {2, 2, 0, 9};
    cr_assert(ui_rect_overlap(a, b));
    cr_assert(!ui_rect_overlap(a, c));
    cr_assert(!ui_rect_overlap(a, e));
    cr_assert(ui_rect_inside(a, 10, 5));
    cr_assert(!ui_rect_inside(a, 9, 5));
}

Test(ui_layout, map_grows_into_the_detail_panel) {
    for (int w = UI_MIN_W; w <= 200; w++)
        for (int need = 0; need <= 220; need += 7) {
            struct ui_layout l, before;
            ui_layout_compute(&l, w, 40, UI_VIEW_MAIN, 0);
            before = l;
            ui_layout_fit_map(&l, need);
            cr_assert_geq(l.map.w, before.map.w, "%d/%d: the map shrank", w, need);
            cr_assert_eq(l.map.w + l.detail.w, w);
            cr_assert_eq(l.detail.x, l.map.w);
            cr_assert_geq(l.detail.w, UI_DETAIL_MIN_W < before.detail.w ? UI_DETAIL_MIN_W
                                                                        : before.detail.w);
            cr_assert(!ui_rect_overlap(l.map, l.detail) && ui_rect_inside(l.detail, w, 40));
            if (need <= before.map.w)
                cr_assert_eq(l.map.w, before.map.w, "%d/%d: grew without need", w, need);
            else if (need - before.map.w <= before.detail.w - UI_DETAIL_MIN_W)
                cr_assert_eq(l.map.w, need, "%d/%d: not grown to the need", w, need);
        }
    struct ui_layout l;
    ui_layout_compute(&l, 120, 40, UI_VIEW_PLOTS, 0);
    ui_layout_fit_map(&l, 100);
    cr_assert_eq(l.map.w, 0, "the plots view has no map");
}
