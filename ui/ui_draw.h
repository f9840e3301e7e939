/* ui_draw.h - draws the UI's model on the curses screen (stdscr) for the current layout.
 * Reads only the model (ui_model.h) and the view state below; never the engine.
 *
 * Fallbacks (reliability case 28): with style.utf8 == 0 every border, sparkline, bar and plot
 * is ASCII; with style.color == 0 (NO_COLOR, or a terminal without colours) the sensitivity
 * levels show as characters and attributes only. Every text from outside the UI (names,
 * event texts) is escaped with ui_text_escape: no raw non-ASCII or control byte reaches the
 * terminal. Total for every terminal size (0x0 and 1x1 included).
 *
 * The map's columns are ui_map.h's (abbreviated labels, widths from the content); the map
 * takes width from the detail panel when that lets every column show (ui_layout_fit_map).
 * While the phase is retrain or baseline the header's progress line is the training run's
 * (ui_model.h's struct ui_train) instead of the search's. */
#ifndef UI_DRAW_H
#define UI_DRAW_H

#include "ui_layout.h"
#include "ui_model.h"

struct ui_style {
    int utf8;   /* the locale's codeset is UTF-8: braille, block elements, box drawing */
    int color;  /* colour pairs are set up (ui_draw_style_init) */
};

enum ui_prompt { UI_PROMPT_NONE, UI_PROMPT_FIX, UI_PROMPT_BUDGET, UI_PROMPT_QUIT };

/* What the app shows besides the model. */
struct ui_view_state {
    enum ui_view view;
    int help;                 /* the help overlay is up */
    int cur_row, cur_col;     /* the map cursor (map coordinates) */
    int row_off, col_off;     /* first map row / column shown (kept so the cursor is seen) */
    enum ui_prompt prompt;
    char prompt_text[160];    /* the question (ASCII) */
    char input[32];           /* what was typed so far */
    char status[200];         /* a footer message when no prompt is up (ASCII) */
    int finished;             /* the search is over: "press any key" */
    int debug;                /* BIPEFT_UI_DEBUG=1: the hidden abort key is listed nowhere */
    int read_only;            /* a replay: no live keys (pin, prune, fix, budget, pause,
                                 reload, checkpoint) in the detail panel, the footer or the
                                 help; the help lists the keys that only look */
    const char *const *help_lines; /* the help's lines (NULL-terminated; NULL: the live or
                                      read-only keys) and its title: a replay's own keys */
    const char *help_title;
};

/* Decide colours after the screen is up: has_colors(), and NO_COLOR unset or empty. Sets up
 * the colour pairs when colours are used. */
void ui_draw_style_init(struct ui_style *st, int utf8);

/* Erase and draw everything for the terminal's current size (then the caller refreshes).
 * Adjusts vs->row_off / col_off to keep the cursor on screen. */
void ui_draw_screen(const struct ui_model *m, struct ui_view_state *vs,
                    const struct ui_style *st);

/* The module under the cursor, or -1. */
int ui_draw_cursor_module(const struct ui_model *m, const struct ui_view_state *vs);

#endif
