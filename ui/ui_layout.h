/* ui_layout.h - terminal size to screen rectangles, per view (pure: no curses).
 *
 *   main view   header (3 rows) | module map (left) + detail of the cursor module (right) |
 *               event log | footer (1 row: keys, prompts)
 *   plots view  header | E vs budget per step (left) + E after each stage (right) |
 *               losses (left) + dev metric (right) | stability | footer
 *   help        a centred overlay on top of either view (it may overlap the panels)
 * Below UI_MIN_W x UI_MIN_H the layout is "too small": every rectangle is empty and the screen
 * says `terminal too small (need >= WxH)`. Total for every size, 0x0 and negative included. */
#ifndef UI_LAYOUT_H
#define UI_LAYOUT_H

#define UI_MIN_W 64
#define UI_MIN_H 20
#define UI_DETAIL_MIN_W 30 /* the detail panel of the main view is never narrower */

struct ui_rect {
    int x, y, w, h; /* w == 0 or h == 0: not shown */
};

enum ui_view { UI_VIEW_MAIN, UI_VIEW_PLOTS, UI_VIEW_COUNT };

struct ui_layout {
    int w, h;            /* the terminal (negative sizes read as 0) */
    int too_small;       /* w < UI_MIN_W or h < UI_MIN_H */
    int need_w, need_h;  /* UI_MIN_W, UI_MIN_H */
    struct ui_rect header, footer;
    struct ui_rect map, detail, log;                                  /* main view */
    struct ui_rect plot_budget, plot_stage, plot_loss, plot_dev, plot_stab; /* plots view */
    struct ui_rect help; /* when asked for */
};

/* Fill *l for a w x h terminal, the given view, and the help overlay when help != 0. The
 * rectangles of the view lie inside the screen and do not overlap each other; the other
 * view's rectangles are empty. */
void ui_layout_compute(struct ui_layout *l, int w, int h, enum ui_view view, int help);

/* The main view: a map that needs need_w columns (its frame included) and is narrower grows
 * to the right at the detail panel's expense, leaving the panel at least UI_DETAIL_MIN_W (or
 * what it had, when that is less); never shrinks. No-op for the plots view and "too small". */
void ui_layout_fit_map(struct ui_layout *l, int need_w);
/* 1 when r lies inside a w x h screen (an empty r always does). */
int ui_rect_inside(struct ui_rect r, int w, int h);
/* 1 when two non-empty rectangles share a cell. */
int ui_rect_overlap(struct ui_rect a, struct ui_rect b);

#endif
