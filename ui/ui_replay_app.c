/* ui_replay_app.c - `bipeft replay DIR` on a terminal (ui_replay_app.h): the replay loop, its
 * keys, the replay bar and help. The views themselves are the live TUI's (ui_draw_screen, with
 * the view state read-only: no live key anywhere, and `?` lists the replay's keys only through
 * vs.help_lines); this file draws only the bottom row, over the footer. The screen is
 * ui_term's (ui_term_screen_start / stop). */
#include "ui_replay_app.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_draw_int.h"
#include "ui_layout.h"
#include "ui_plot.h"
#include "ui_term.h"
#include "ui_text.h"
#include "ui_keys.h"

#define RP_KEY_MS 30        /* key wait while playing (the replay's frame) */
#define RP_IDLE_MS 100      /* ... and while paused */
#define RP_REDRAW_S 0.05

double ui_rnow(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the replay bar and help ---- */

struct rp_ui {
    struct ui_replay *r;
    const struct ui_style *st;
    struct ui_view_state vs;  /* read-only; vs.help: the help overlay is up */
    int goto_step;            /* the "go to step" prompt is up */
    char input[16];
    char note[160];           /* a one-off message in the bar (ASCII) */
    int leave;
};

/* Columns of our own UTF-8 text (one per code point). */
static int cols_of(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void draw_bar(struct rp_ui *u, int y, int w) {
    const struct ui_replay *r = u->r;
    move(y, 0);
    clrtoeol();
    if (u->goto_step) {
        ui_put_fmt(y, 0, w, A_BOLD, "go to step (0-%lld, Enter; Esc: cancel): %s_",
                   (long long)r->steps_total, u->input);
        return;
    }
    const char *state = r->playing ? (u->st->utf8 ? "▶ play " : "> play ")
                        : r->pos >= r->n ? (u->st->utf8 ? "■ end  " : "# end  ")
                                         : (u->st->utf8 ? "‖ pause" : "| pause");
    char left[200];
    snprintf(left, sizeof left, " %s %-3s  step %lld/%lld  event %lld/%lld ", state,
             ui_replay_speed_label(r->speed), (long long)ui_replay_step_now(r),
             (long long)r->steps_total, (long long)r->pos, (long long)r->n);
    attr_t title = ui_attr(u->st, UI_PAIR_TITLE, A_REVERSE);
    ui_put_raw(y, 0, w, left, title | A_BOLD);
    int x = cols_of(left);
    static const char keys[] = "space:play  ,/.:step  n:decision  ?:help  q:quit";
    static const char short_keys[] = "?:help  q:quit";
    /* the bar keeps its width when a note replaces the keys */
    int full = w - x - 4 - (int)strlen(keys) - 2 >= 20;
    const char *hint = u->note[0] ? u->note : full ? keys : short_keys;
    int hint_w = (int)strlen(full ? keys : short_keys);
    int bar_w = w - x - 4 - hint_w - 2;
    if (bar_w < 8) { /* narrow: the bar before the hints */
        bar_w = w - x - 4;
        hint_w = 0;
    }
    if (bar_w > 60)
        bar_w = 60;
    if (bar_w >= 4) {
        char bar[512];
        double frac = r->n > 0 ? (double)r->pos / (double)r->n : 0;
        ui_bar(frac, bar_w, u->st->utf8, bar, sizeof bar);
        ui_put_raw(y, x + 1, 1, "[", 0);
        ui_put_raw(y, x + 2, bar_w, bar, ui_attr(u->st, UI_PAIR_PLOT, A_BOLD));
        ui_put_raw(y, x + 2 + bar_w, 1, "]", 0);
        x += bar_w + 4;
    }
    if (hint_w > 0)
        ui_put_text(y, x, w - x, hint, u->note[0] ? A_BOLD : 0);
}

/* The replay's keys: what `?` lists (the view is read-only: no live key shows). */
static const char *const replay_help[] = {
    "space            play / pause (at the end: from the start)",
    ". >              step: to the end of the next iteration",
    ", <              step back",
    "+ -              speed: 1x 2x ... 64x the original pace, max",
    "n                next decision (trigger, prune, fix, pin,",
    "                 unpin, budget, refusal)",
    "0 .. 9           jump to 0% .. 90% of the events",
    "[ ] Home End     jump to the start / the end",
    "g                go to a step (asks)",
    "arrows, h j k l  move over the module map",
    "tab              switch view: modules / plots",
    "q                quit the replay",
    "?                this help (any key closes it)",
    NULL,
};

static void draw(struct rp_ui *u) {
    u->vs.status[0] = '\0';
    ui_draw_screen(u->r->model, &u->vs, u->st);
    struct ui_layout l; /* the help overlay (vs.help) never reaches the bottom row */
    ui_layout_compute(&l, COLS, LINES, u->vs.view, u->vs.help);
    if (!l.too_small)
        draw_bar(u, l.footer.y, l.footer.w);
    refresh();
}

/* ---- cursor (as in the live UI: the next module in a direction) ---- */

static void move_cursor(struct rp_ui *u, int dr, int dc) {
    const struct ui_model *m = u->r->model;
    int r = u->vs.cur_row + dr, c = u->vs.cur_col + dc;
    for (; r >= 0 && c >= 0 && r < m->map_rows && c < m->map_cols; r += dr, c += dc)
        if (ui_model_map_at(m, r, c) >= 0) {
            u->vs.cur_row = r;
            u->vs.cur_col = c;
            return;
        }
}

static void settle_cursor(struct rp_ui *u) {
    const struct ui_model *m = u->r->model;
    if (ui_model_map_at(m, u->vs.cur_row, u->vs.cur_col) >= 0)
        return;
    for (int r = 0; r < m->map_rows; r++)
        for (int c = 0; c < m->map_cols; c++)
            if (ui_model_map_at(m, r, c) >= 0) {
                u->vs.cur_row = r;
                u->vs.cur_col = c;
                return;
            }
}

/* ---- keys ---- */

static void goto_key(struct rp_ui *u, int ch) {
    size_t len = strlen(u->input);
    if (ch == 27) {
        u->goto_step = 0;
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        u->goto_step = 0;
        if (len > 0) {
            ui_replay_seek_step(u->r, strtoll(u->input, NULL, 10));
            snprintf(u->note, sizeof u->note, "at step %lld", (long long)ui_replay_step_now(u->r));
        }
    } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len > 0) {
        u->input[len - 1] = '\0';
    } else if (ch >= '0' && ch <= '9' && len + 1 < sizeof u->input && len < 12) {
        u->input[len] = (char)ch;
        u->input[len + 1] = '\0';
    }
}

static void k_play(void *p, int ch) {
    (void)ch;
    struct rp_ui *u = p;
    if (u->r->playing)
        ui_replay_pause(u->r);
    else
        ui_replay_play(u->r, ui_rnow());
}

static void k_fwd(void *p, int ch) { (void)ch; ui_replay_step_fwd(((struct rp_ui *)p)->r); }
static void k_back(void *p, int ch) { (void)ch; ui_replay_step_back(((struct rp_ui *)p)->r); }

static void k_faster(void *p, int ch) {
    (void)ch;
    struct ui_replay *r = ((struct rp_ui *)p)->r;
    ui_replay_set_speed(r, r->speed + 1, ui_rnow());
}

static void k_slower(void *p, int ch) {
    (void)ch;
    struct ui_replay *r = ((struct rp_ui *)p)->r;
    ui_replay_set_speed(r, r->speed - 1, ui_rnow());
}

static void k_start(void *p, int ch) { (void)ch; ui_replay_seek(((struct rp_ui *)p)->r, 0); }

static void k_end(void *p, int ch) {
    (void)ch;
    struct ui_replay *r = ((struct rp_ui *)p)->r;
    ui_replay_seek(r, r->n);
}

static void k_next(void *p, int ch) {
    (void)ch;
    struct rp_ui *u = p;
    if (!ui_replay_next_decision(u->r))
        snprintf(u->note, sizeof u->note, "no decision after this point");
}

static void k_goto(void *p, int ch) {
    (void)ch;
    struct rp_ui *u = p;
    u->goto_step = 1;
    u->input[0] = '\0';
}

static void k_up(void *p, int ch) { (void)ch; move_cursor(p, -1, 0); }
static void k_down(void *p, int ch) { (void)ch; move_cursor(p, 1, 0); }
static void k_left(void *p, int ch) { (void)ch; move_cursor(p, 0, -1); }
static void k_right(void *p, int ch) { (void)ch; move_cursor(p, 0, 1); }

static void k_view(void *p, int ch) {
    (void)ch;
    struct rp_ui *u = p;
    u->vs.view = (enum ui_view)((u->vs.view + 1) % UI_VIEW_COUNT);
}

static void k_help(void *p, int ch) { (void)ch; ((struct rp_ui *)p)->vs.help = 1; }
static void k_quit(void *p, int ch) { (void)ch; ((struct rp_ui *)p)->leave = 1; }

/* 0-9: seek to a tenth of the session */
static void k_tenth(void *p, int ch) {
    ui_replay_seek_frac(((struct rp_ui *)p)->r, (ch - '0') / 10.0);
}

/* The replay screen's keys (docs/TUI_REPLAY.md; replay_help lists them). */
static const struct ui_key replay_keys[] = {
    {{' '}, k_play},
    {{'.', '>'}, k_fwd},
    {{',', '<'}, k_back},
    {{'+', '='}, k_faster},
    {{'-', '_'}, k_slower},
    {{'[', KEY_HOME}, k_start},
    {{']', KEY_END}, k_end},
    {{'n'}, k_next},
    {{'g'}, k_goto},
    {{KEY_UP, 'k'}, k_up},
    {{KEY_DOWN, 'j'}, k_down},
    {{KEY_LEFT, 'h'}, k_left},
    {{KEY_RIGHT, 'l'}, k_right},
    {{'\t'}, k_view},
    {{'?'}, k_help},
    {{'q', 'Q'}, k_quit},
    {{'0', '1', '2', '3'}, k_tenth},
    {{'4', '5', '6', '7'}, k_tenth},
    {{'8', '9'}, k_tenth},
    {{0}, NULL},
};

static void on_key(struct rp_ui *u, int ch) {
    if (ch == KEY_RESIZE)
        return;
    if (u->vs.help) {
        u->vs.help = 0;
        return;
    }
    if (u->goto_step) {
        goto_key(u, ch);
        return;
    }
    u->note[0] = '\0';
    ui_keys_run(replay_keys, u, ch);
}

void ui_replay_loop(struct ui_replay *r, const struct ui_style *st, int *quit) {
    struct rp_ui u;
    memset(&u, 0, sizeof u);
    u.r = r;
    u.st = st;
    u.vs.read_only = 1;
    u.vs.help_lines = replay_help;
    u.vs.help_title = "replay keys";
    *quit = 0;
    if (r->pos == 0) /* open on the set-up: the candidates on the map, before iteration 1 */
        ui_replay_seek_step(r, 0);
    double last = 0;
    int dirty = 2;
    while (!u.leave) {
        settle_cursor(&u);
        double t = ui_rnow();
        if (dirty == 2 || (dirty && t - last >= RP_REDRAW_S)) {
            draw(&u);
            last = t;
            dirty = 0;
        }
        timeout(r->playing ? RP_KEY_MS : RP_IDLE_MS);
        int ch = getch();
        if (ch != ERR) {
            if (ch == KEY_RESIZE)
                clearok(curscr, TRUE);
            on_key(&u, ch);
            dirty = 2;
        }
        if (ui_replay_tick(r, ui_rnow()) > 0 || r->playing)
            dirty = dirty ? dirty : 1;
        if (ui_term_take_repaint()) {
            clearok(curscr, TRUE);
            dirty = 2;
        }
        if (ui_term_quit_signal()) {
            *quit = 1;
            u.leave = 1;
        }
    }
}

pf_status ui_replay_run(const char *dir, int *interrupted, struct pf_err *err) {
    struct ui_replay *r = NULL;
    pf_status st = ui_replay_open(dir, &r, err);
    if (st != PF_OK)
        return st;
    struct ui_style style;
    int utf8 = 0;
    if (!ui_term_screen_start(NULL, &utf8, err)) {
        ui_replay_free(r);
        return err->code;
    }
    ui_draw_style_init(&style, utf8);
    ui_replay_loop(r, &style, interrupted);
    ui_term_screen_stop();
    ui_replay_free(r);
    return PF_OK;
}
