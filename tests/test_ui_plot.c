/* test_ui_plot.c - ui/ui_plot.c against hand-computed cells: scaling and ranges, ASCII and
 * braille rendering of small known series, NaN gaps, one point, bucketed downsampling that
 * keeps the extremes, the reference line's row, sparklines and bars. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ui_plot.h"

/* The rows of a canvas as strings, compared with want[0..h). */
static void check_rows(const struct ui_canvas *c, const char *const *want) {
    for (int y = 0; y < c->h; y++) {
        char row[256];
        ui_canvas_row(c, y, row, sizeof row);
        cr_assert_str_eq(row, want[y], "row %d: got '%s', want '%s'", y, row, want[y]);
    }
}

Test(ui_plot, scale_known_values) {
    cr_assert_eq(ui_plot_scale(3, 0, 10, 11), 7);
    cr_assert_eq(ui_plot_scale(10, 0, 10, 11), 0);
    cr_assert_eq(ui_plot_scale(0, 0, 10, 11), 10);
    cr_assert_eq(ui_plot_scale(-5, 0, 10, 11), 10);
    cr_assert_eq(ui_plot_scale(15, 0, 10, 11), 0);
    cr_assert_eq(ui_plot_scale(1, 0, 3, 4), 2);
    cr_assert_eq(ui_plot_scale(NAN, 0, 10, 11), -1);
    cr_assert_eq(ui_plot_scale(1, 0, 10, 0), -1);
    cr_assert_eq(ui_plot_scale(1, 5, 5, 11), 5); /* degenerate range: the middle */
}

Test(ui_plot, range_margin_flat_nan) {
    double lo, hi;
    const double a[] = {1, 3, 2};
    cr_assert_eq(ui_plot_range(a, 3, 0.5, &lo, &hi), 3);
    cr_assert_float_eq(lo, 0, 1e-12);
    cr_assert_float_eq(hi, 4, 1e-12);
    const double flat[] = {5, 5};
    ui_plot_range(flat, 2, 0.1, &lo, &hi);
    cr_assert_float_eq(lo, 4.5, 1e-12);
    cr_assert_float_eq(hi, 5.5, 1e-12);
    const double zero[] = {0};
    ui_plot_range(zero, 1, 0.1, &lo, &hi);
    cr_assert(lo == -1 && hi == 1);
    const double nan[] = {NAN, NAN};
    cr_assert_eq(ui_plot_range(nan, 2, 0.1, &lo, &hi), 0);
    cr_assert(lo == 0 && hi == 1);
    const double part[] = {NAN, 2, 4};
    cr_assert_eq(ui_plot_range(part, 3, 0, &lo, &hi), 2);
    cr_assert(lo == 2 && hi == 4);
    ui_plot_include(&lo, &hi, 10);
    ui_plot_include(&lo, &hi, NAN);
    cr_assert(lo == 2 && hi == 10);
}

Test(ui_plot, ascii_rising_series) {
    struct ui_canvas c;
    ui_canvas_init(&c, 4, 4, 0);
    const double y[] = {0, 1, 2, 3};
    ui_plot_series(&c, y, 4, 0, 3);
    check_rows(&c, (const char *const[]){"   *", "  * ", " *  ", "*   "});
    ui_canvas_free(&c);
    /* two points spread over four columns: the same line, interpolated */
    ui_canvas_init(&c, 4, 4, 0);
    const double two[] = {0, 3};
    ui_plot_series(&c, two, 2, 0, 3);
    check_rows(&c, (const char *const[]){"   *", "  * ", " *  ", "*   "});
    ui_canvas_free(&c);
}

Test(ui_plot, ascii_steep_step_is_joined) {
    struct ui_canvas c;
    ui_canvas_init(&c, 2, 4, 0);
    const double y[] = {0, 3};
    ui_plot_series(&c, y, 2, 0, 3);
    check_rows(&c, (const char *const[]){" *", " |", " |", "* "});
    ui_canvas_free(&c);
}

Test(ui_plot, nan_leaves_a_gap_and_single_point) {
    struct ui_canvas c;
    ui_canvas_init(&c, 3, 4, 0);
    const double y[] = {0, NAN, 3};
    ui_plot_series(&c, y, 3, 0, 3);
    check_rows(&c, (const char *const[]){"  *", "   ", "   ", "*  "});
    ui_canvas_free(&c);
    ui_canvas_init(&c, 4, 3, 0);
    const double one[] = {5};
    ui_plot_series(&c, one, 1, 0, 10);
    check_rows(&c, (const char *const[]){"    ", "*   ", "    "});
    ui_canvas_free(&c);
}

Test(ui_plot, flat_series_in_the_middle) {
    struct ui_canvas c;
    ui_canvas_init(&c, 3, 5, 0);
    const double y[] = {7, 7, 7, 7, 7, 7};
    double lo, hi;
    ui_plot_range(y, 6, 0.1, &lo, &hi);
    ui_plot_series(&c, y, 6, lo, hi);
    check_rows(&c, (const char *const[]){"   ", "   ", "***", "   ", "   "});
    ui_canvas_free(&c);
}

Test(ui_plot, buckets_keep_min_and_max) {
    double y[100], mn[10], mx[10];
    for (int i = 0; i < 100; i++)
        y[i] = sin(i * 0.3);
    y[37] = -7;
    y[71] = 9;
    y[50] = NAN;
    cr_assert_eq(ui_plot_buckets(y, 100, 10, mn, mx), 10);
    double gmin = INFINITY, gmax = -INFINITY;
    for (int c = 0; c < 10; c++) {
        gmin = fmin(gmin, mn[c]);
        gmax = fmax(gmax, mx[c]);
    }
    cr_assert_eq(gmin, -7);
    cr_assert_eq(gmax, 9);
    cr_assert_eq(mn[3], -7); /* point 37 is in bucket [30, 40) */
    cr_assert_eq(mx[7], 9);
    double z[10];
    for (int i = 0; i < 10; i++)
        z[i] = i;
    ui_plot_buckets(z, 10, 5, mn, mx);
    for (int c = 0; c < 5; c++)
        cr_assert(mn[c] == 2 * c && mx[c] == 2 * c + 1, "bucket %d: %g..%g", c, mn[c], mx[c]);
    cr_assert_eq(ui_plot_buckets(z, 3, 5, mn, mx), 3);
    cr_assert_eq(ui_plot_buckets(z, 0, 5, mn, mx), 0);
    cr_assert_eq(ui_plot_buckets(z, 3, 0, mn, mx), 0);
    /* a downsampled plot spans the extremes: top and bottom rows are both used */
    struct ui_canvas c;
    ui_canvas_init(&c, 5, 4, 0);
    ui_plot_series(&c, y, 100, -7, 9);
    char top[64], bot[64];
    ui_canvas_row(&c, 0, top, sizeof top);
    ui_canvas_row(&c, 3, bot, sizeof bot);
    cr_assert_str_eq(top, "   * ");
    cr_assert_str_eq(bot, " *   ");
    ui_canvas_free(&c);
}

Test(ui_plot, braille_bits) {
    char b[8] = {0};
    ui_braille(0x81, b);
    cr_assert_str_eq(b, "\xe2\xa2\x81"); /* U+2881 */
    struct ui_canvas c;
    ui_canvas_init(&c, 1, 1, 1);
    cr_assert(c.dw == 2 && c.dh == 4);
    ui_canvas_set(&c, 0, 0, 1); /* dot 1 */
    ui_canvas_set(&c, 1, 3, 1); /* dot 8 */
    ui_canvas_set(&c, 5, 9, 1); /* outside: ignored */
    char cell[8];
    cr_assert_eq(ui_canvas_cell(&c, 0, 0, cell), 1);
    cr_assert_str_eq(cell, "\xe2\xa2\x81");
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 2; x++)
            ui_canvas_set(&c, x, y, 2);
    ui_canvas_cell(&c, 0, 0, cell);
    cr_assert_str_eq(cell, "\xe2\xa3\xbf"); /* U+28FF: all eight */
    ui_canvas_free(&c);
    /* a rising line over 2 cells: dots (0,7) (1,6) (2,5) ... (3,4) in the left/right cells */
    ui_canvas_init(&c, 2, 2, 1);
    const double y[] = {0, 1, 2, 3};
    ui_plot_series(&c, y, 4, 0, 7);
    ui_canvas_cell(&c, 0, 1, cell); /* dots (0,3) (1,2) of the lower-left cell: 0x40|0x20 */
    cr_assert_str_eq(cell, "\xe2\xa1\xa0"); /* U+2860 */
    ui_canvas_cell(&c, 1, 1, cell); /* dots (0,1) (1,0): 0x02|0x08 */
    cr_assert_str_eq(cell, "\xe2\xa0\x8a"); /* U+280A */
    cr_assert_eq(ui_canvas_cell(&c, 0, 0, cell), 0);
    cr_assert_str_eq(cell, " ");
    ui_canvas_free(&c);
}

Test(ui_plot, reference_line_row) {
    struct ui_canvas c;
    ui_canvas_init(&c, 5, 5, 0);
    ui_plot_ref(&c, 3, 0, 4); /* row round((4-3)/4*4) = 1 */
    const double y[] = {3};
    ui_plot_series(&c, y, 1, 0, 4);
    check_rows(&c, (const char *const[]){"     ", "*....", "     ", "     ", "     "});
    char cell[8];
    cr_assert_eq(ui_canvas_cell(&c, 2, 1, cell), 2);
    cr_assert_eq(ui_canvas_cell(&c, 0, 1, cell), 1);
    ui_canvas_free(&c);
    ui_canvas_init(&c, 2, 2, 1);
    ui_plot_ref(&c, 7, 0, 7); /* dot row 0: both dots of the top row of cell row 0 */
    cr_assert_eq(ui_canvas_cell(&c, 1, 0, cell), 2);
    cr_assert_str_eq(cell, "\xe2\xa0\x89"); /* U+2809 */
    cr_assert_eq(ui_canvas_cell(&c, 1, 1, cell), 0);
    ui_plot_ref(&c, NAN, 0, 7);
    cr_assert_eq(ui_canvas_cell(&c, 1, 0, cell), 0);
    ui_canvas_free(&c);
}

Test(ui_plot, empty_canvas_is_safe) {
    struct ui_canvas c;
    ui_canvas_init(&c, 0, 5, 1);
    const double y[] = {1, 2};
    ui_plot_series(&c, y, 2, 0, 2);
    ui_plot_ref(&c, 1, 0, 2);
    char row[8];
    ui_canvas_row(&c, 0, row, sizeof row);
    cr_assert_str_eq(row, "");
    ui_canvas_free(&c);
    ui_canvas_free(&c);
}

Test(ui_plot, sparklines) {
    const double y[] = {0, 1, 2, 3, 4, 5, 6, 7};
    char s[64];
    ui_spark(y, 8, 8, 0, s, sizeof s);
    cr_assert_str_eq(s, " .:-=+*#");
    ui_spark(y, 8, 3, 0, s, sizeof s); /* the last three: 5 6 7 -> levels 0, 4, 7 */
    cr_assert_str_eq(s, " =#");
    ui_spark(y, 8, 8, 1, s, sizeof s);
    cr_assert_str_eq(s, "▁▂▃▄▅▆▇█");
    const double flat[] = {2, 2, NAN, 2};
    ui_spark(flat, 4, 10, 0, s, sizeof s);
    cr_assert_str_eq(s, "-- -");
    ui_spark(y, 8, 8, 1, s, 7); /* cut to fit, whole glyphs only */
    cr_assert_str_eq(s, "▁▂");
    ui_spark(y, 0, 8, 1, s, sizeof s);
    cr_assert_str_eq(s, "");
}

Test(ui_plot, bars) {
    char b[64];
    ui_bar(0.5, 4, 0, b, sizeof b);
    cr_assert_str_eq(b, "##..");
    ui_bar(2, 3, 0, b, sizeof b);
    cr_assert_str_eq(b, "###");
    ui_bar(NAN, 3, 0, b, sizeof b);
    cr_assert_str_eq(b, "...");
    ui_bar(0.5, 2, 1, b, sizeof b);
    cr_assert_str_eq(b, "█ ");
    ui_bar(0.3, 2, 1, b, sizeof b); /* 4.8 eighths -> 5: a five-eighths block */
    cr_assert_str_eq(b, "▋ ");
}
