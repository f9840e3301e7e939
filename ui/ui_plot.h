/* ui_plot.h - plots in a character grid (pure: no curses; the output is UTF-8 or ASCII text,
 * so it is testable byte by byte).
 *
 * A canvas of w x h cells holds dots: 2 x 4 per cell drawn as braille (U+2800 + bits) when
 * UTF-8 is available, 1 per cell in ASCII ('*' a point, '|' a vertical connection, '.' the
 * reference line). Dot (0, 0) is the top-left; dot rows grow downwards.
 * Series are scaled between lo (bottom dot row) and hi (top); more points than dot columns
 * are bucketed (each column spans its bucket's min..max, so extremes survive); fewer are
 * spread over the width and joined by linear interpolation. NaN points leave gaps. */
#ifndef UI_PLOT_H
#define UI_PLOT_H

#include <stddef.h>

struct ui_canvas {
    int w, h;            /* cells (0 when asked for <= 0) */
    int utf8;
    int sw, sh;          /* dots per cell: 2 x 4 (braille) or 1 x 1 (ASCII) */
    int dw, dh;          /* dots: w * sw x h * sh */
    unsigned char *dot;  /* dw * dh: 0 none, 1 point, 2 connection */
    int ref_dot;         /* dot row of the reference line, -1 none */
};

/* An empty canvas (dots from xcalloc; w or h <= 0 gives an empty 0 x 0 canvas). Free with
 * ui_canvas_free, which leaves it empty (safe to call twice). */
void ui_canvas_init(struct ui_canvas *c, int w, int h, int utf8);
void ui_canvas_free(struct ui_canvas *c);
/* Set dot (x, y) to kind (1 point, 2 connection; a point is never downgraded); dots
 * outside are ignored. */
void ui_canvas_set(struct ui_canvas *c, int x, int y, int kind);

/* The finite min and max of y[0..n) widened by margin * (max - min) on each side; a flat
 * series gets +-10 % of |v| (+-1 for 0) instead. Returns the number of finite points; with
 * none, lo = 0 and hi = 1. */
int ui_plot_range(const double *y, int n, double margin, double *lo, double *hi);
/* Widen [lo, hi] to contain v (when finite). */
void ui_plot_include(double *lo, double *hi, double v);
/* Dot row of v among rows (0: top = hi, rows - 1: bottom = lo), rounded to nearest and
 * clamped; -1 for NaN or rows <= 0; the middle row when hi <= lo. */
int ui_plot_scale(double v, double lo, double hi, int rows);
/* Buckets of y for cols columns: with n <= cols, one column per point (bmin = bmax = y[i]),
 * returns n; otherwise column c covers points [c*n/cols, (c+1)*n/cols) and gets their
 * finite min and max (NaN when none), returns cols. 0 when n or cols <= 0. */
int ui_plot_buckets(const double *y, int n, int cols, double *bmin, double *bmax);

/* Draw y[0..n) over the whole canvas width between lo and hi. */
void ui_plot_series(struct ui_canvas *c, const double *y, int n, double lo, double hi);
/* A horizontal reference line at value v (e.g. the budget); NaN: none. */
void ui_plot_ref(struct ui_canvas *c, double v, double lo, double hi);

/* The cell (x, y) as a NUL-terminated UTF-8 or ASCII string in out (at least 8 bytes):
 * braille / '*' '|' for data, the reference line's dots / '.' where only it passes, a space
 * when empty. Returns 0 empty, 1 data, 2 reference line only. */
int ui_canvas_cell(const struct ui_canvas *c, int x, int y, char *out);
/* Row y of the canvas as one string (cut to fit n). */
void ui_canvas_row(const struct ui_canvas *c, int y, char *buf, size_t n);

/* UTF-8 of the braille pattern U+2800 + bits (bits 0..255) in out[0..3); returns 3. */
int ui_braille(unsigned bits, char *out);

/* A sparkline of the last min(n, width) values of y: levels by their min/max as
 * "▁▂▃▄▅▆▇█" (UTF-8) or " .:-=+*#" (ASCII); a flat series is all level 3, NaN a space.
 * Always NUL-terminated in out[outsz]. */
void ui_spark(const double *y, int n, int width, int utf8, char *out, size_t outsz);

/* A bar of width cells filled to frac (clamped to [0, 1], NaN 0): full blocks and an eighth
 * block then spaces (UTF-8), or '#' then '.' (ASCII). */
void ui_bar(double frac, int width, int utf8, char *out, size_t outsz);

#endif
