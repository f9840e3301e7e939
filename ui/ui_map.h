/* ui_map.h - the columns of the module map (pure: no curses): their labels, widths and which of
 * them fit (ui_draw.c draws them).
 *
 * A column is a kind.position key of the model (ui_model.h); its header is the kind (once over
 * its group of columns) over the position's label. Long position names are abbreviated the
 * same way everywhere (ui_map_abbrev: ffn_up f.up, ffn_down f.dn, ffn_gate f.gt, attn_ln a.ln,
 * ffn_ln f.ln); the map's legend line (ui_map_legend) and the detail panel give the full
 * names. A column is as wide as the longer of its label and the widest cell text its modules
 * can show (the level glyph, "~8" / "r8" for the largest rank known, "P" for a pin), plus
 * one blank column as the gap: at 120 columns the S1 space of a 4-layer BERT (18 columns)
 * fits without scrolling. When the columns do not fit, the map scrolls sideways
 * (ui_map_fit keeps the cursor's column shown) and `<<` / `>>` say that more is there. */
#ifndef UI_MAP_H
#define UI_MAP_H

#include <stddef.h>

#include "ui_model.h"

#define UI_MAP_GAP 1        /* blank columns after each column */
#define UI_MAP_SPREAD_MAX 4 /* spare width given to each column at most when all fit */

/* The short label of a position name into buf: the abbreviation when pos has one (returns 1),
 * else pos itself (returns 0). */
int ui_map_abbrev(const char *pos, char *buf, size_t n);

/* Column c's kind ("lora"; "other" for a column of a module outside the layers) and its
 * label (the abbreviated position; for an outside module its whole name). */
void ui_map_col_parts(const struct ui_model *m, int c, char *kind, size_t kn, char *label,
                      size_t ln);

/* Columns the widest text of module i's cell can take (ui_draw.c's cell_text: glyph, rank,
 * pin; " x" when pruned). */
int ui_map_cell_width(const struct ui_module *md);

/* The width of every column (m->map_cols entries into w), gap included; returns their sum. */
int ui_map_col_widths(const struct ui_model *m, int *w);

/* Width of the row labels ("L3" and a blank: 3; "L12 ": 4). */
int ui_map_label_width(const struct ui_model *m);

/* Which columns show in avail columns: *col_off (in/out) is moved so that cur_col is shown
 * (0 when all fit); returns how many columns from *col_off fit (at least 1 when n > 0 and
 * avail > 0, even if that one is cut). */
int ui_map_fit(const int *w, int n, int avail, int cur_col, int *col_off);

/* When all n columns fit in avail with room to spare, share it out: each column gets the same
 * extra width (at most UI_MAP_SPREAD_MAX). Returns the new sum of the widths. */
int ui_map_spread(int *w, int n, int avail);

/* The legend of the abbreviations the map's columns use: "f.up ffn_up  f.dn ffn_down ...",
 * each once in column order; "" when none is used. */
void ui_map_legend(const struct ui_model *m, char *buf, size_t n);

#endif
