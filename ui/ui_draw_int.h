/* ui_draw_int.h - drawing primitives shared by ui_draw.c and ui_draw_plots.c (curses; not a
 * public API). Every put clips to the given width and to the screen. */
#ifndef UI_DRAW_INT_H
#define UI_DRAW_INT_H

#include <curses.h>

#include "ui_draw.h"

/* Colour pairs (when st->color). */
enum {
    UI_PAIR_L0 = 1, /* sensitivity levels 0..4: blue, cyan, green, yellow, red */
    UI_PAIR_TITLE = 6,
    UI_PAIR_USER = 7,
    UI_PAIR_WARN = 8,
    UI_PAIR_ERROR = 9,
    UI_PAIR_PLOT = 10,
    UI_PAIR_REF = 11,
    UI_PAIR_DIM = 12
};
#define UI_SENS_LEVELS 5

/* Our own UTF-8 or ASCII glyph string (never outside text) at (y, x), at most w columns
 * (one column per code point). */
void ui_put_raw(int y, int x, int w, const char *s, attr_t attr);
/* Outside text, escaped, at (y, x), at most w columns. */
void ui_put_text(int y, int x, int w, const char *raw, attr_t attr);
/* printf into a buffer, then ui_put_text (our own formats with outside %s arguments). */
void ui_put_fmt(int y, int x, int w, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A frame around r with a title (escaped) in its top border; clears the inside. */
void ui_draw_box(struct ui_rect r, const char *title, const struct ui_style *st);
/* Attribute of a colour pair, or fallback without colours. */
attr_t ui_attr(const struct ui_style *st, int pair, attr_t fallback);

/* The plots view (ui_draw_plots.c). */
void ui_draw_plots(const struct ui_model *m, const struct ui_layout *l,
                   const struct ui_style *st);

#endif
