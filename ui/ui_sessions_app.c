/* ui_sessions_app.c - the sessions screen of `bipeft replay` without DIR (ui_replay_app.h):
 * the list of past sessions (newest first), Enter replays one, m marks up to two, c compares
 * the two marked structures side by side. Every text read from a session goes through
 * ui_put_text (escaped). */
#include "ui_replay_app.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui_draw_int.h"
#include "ui_layout.h"
#include "ui_sessions.h"
#include "ui_term.h"
#include "ui_keys.h"

struct ss_ui {
    char root[4096];
    struct search_store_list l;
    const struct ui_style *st;
    int cur, off;
    int mark[2];              /* marked rows (-1: none), in marking order */
    char note[600];           /* a message in the footer (may hold outside text: escaped) */
    int help;
    int leave, quit;
};

static int too_small(void) { return COLS < UI_MIN_W || LINES < UI_MIN_H; }

static void draw_too_small(const struct ui_style *st) {
    char msg[96];
    snprintf(msg, sizeof msg, "terminal too small (need %s %dx%d)", st->utf8 ? "≥" : ">=",
             UI_MIN_W, UI_MIN_H);
    ui_put_raw(LINES / 2, 0, COLS, msg, A_BOLD);
}

static void title_bar(const struct ui_style *st, const char *text) {
    attr_t at = ui_attr(st, UI_PAIR_TITLE, A_REVERSE);
    move(0, 0);
    attron(at);
    for (int x = 0; x < COLS; x++)
        addch(' ');
    attroff(at);
    ui_put_text(0, 1, COLS - 2, text, at | A_BOLD);
}

static void footer(const char *note, const char *keys) {
    move(LINES - 1, 0);
    clrtoeol();
    if (note[0])
        ui_put_text(LINES - 1, 0, COLS, note, A_BOLD);
    else
        ui_put_text(LINES - 1, 0, COLS, keys, 0);
}

/* ---- the list ---- */

static int mark_of(const struct ss_ui *u, int i) {
    return u->mark[0] == i ? 1 : u->mark[1] == i ? 2 : 0;
}

static void draw_list(struct ss_ui *u) {
    erase();
    if (too_small()) {
        draw_too_small(u->st);
        refresh();
        return;
    }
    char t[4200];
    snprintf(t, sizeof t, "bipeft sessions  %s  (%d, newest first)", u->root, u->l.n);
    title_bar(u->st, t);
    int w[UI_SC_COUNT];
    char cell[256];
    for (int c = 0; c < UI_SC_COUNT; c++) {
        w[c] = (int)strlen(ui_sessions_col_name(c));
        for (int i = 0; i < u->l.n; i++) {
            ui_sessions_cell(&u->l.s[i], c, cell, sizeof cell);
            int len = (int)strlen(cell);
            if (len > w[c])
                w[c] = len > 28 ? 28 : len;
        }
    }
    int x = 4;
    for (int c = 0; c < UI_SC_COUNT; c++) {
        ui_put_text(2, x, COLS - x, ui_sessions_col_name(c), A_BOLD | A_UNDERLINE);
        x += w[c] + 2;
    }
    int rows = LINES - 4;
    if (u->cur < u->off)
        u->off = u->cur;
    if (u->cur >= u->off + rows)
        u->off = u->cur - rows + 1;
    if (u->l.n == 0)
        ui_put_fmt(4, 2, COLS - 4, 0, "no sessions in %s (a session is a folder with a log.db)",
                   u->root);
    for (int k = 0; k < rows && u->off + k < u->l.n; k++) {
        int i = u->off + k, y = 3 + k;
        attr_t at = i == u->cur ? A_REVERSE : 0;
        if (u->l.s[i].unreadable)
            at |= ui_attr(u->st, UI_PAIR_ERROR, A_DIM);
        if (i == u->cur) {
            move(y, 0);
            attron(A_REVERSE);
            for (int c = 0; c < COLS; c++)
                addch(' ');
            attroff(A_REVERSE);
        }
        int mk = mark_of(u, i);
        ui_put_raw(y, 1, 2, mk == 1 ? "A" : mk == 2 ? "B" : " ", at | A_BOLD);
        x = 4;
        for (int c = 0; c < UI_SC_COUNT && x < COLS; c++) {
            ui_sessions_cell(&u->l.s[i], c, cell, sizeof cell);
            ui_put_text(y, x, w[c], cell, at);
            x += w[c] + 2;
        }
    }
    footer(u->note, "enter:replay  m:mark (A, B)  c:compare A and B  r:reload  arrows:move  "
                    "?:help  q:quit");
    if (u->help) {
        struct ui_layout l;
        ui_layout_compute(&l, COLS, LINES, UI_VIEW_MAIN, 1);
        static const char *const lines[] = {
            "up/down j/k  PgUp PgDn  Home End   move",
            "Enter        replay the session (q there comes back here)",
            "m            mark / unmark it (two at most: A then B;",
            "             a third mark replaces the older one)",
            "c            compare the structures of A and B",
            "r            read the sessions again",
            "q            quit",
        };
        ui_draw_box(l.help, "sessions keys", u->st);
        for (size_t i = 0; i < sizeof lines / sizeof *lines && (int)i < l.help.h - 2; i++)
            ui_put_text(l.help.y + 1 + (int)i, l.help.x + 2, l.help.w - 4, lines[i], 0);
    }
    refresh();
}

/* ---- the comparison ---- */

static void side_line(int y, const struct ui_compare *c, int k) {
    const struct search_store_session *s = &c->meta[k];
    char params[32], line[1400];
    if (c->side[k].params >= 0)
        snprintf(params, sizeof params, "%lld", (long long)c->side[k].params);
    else
        snprintf(params, sizeof params, "?");
    char test[64];
    ui_sessions_cell(s, UI_SC_TEST, test, sizeof test);
    snprintf(line, sizeof line, "%s: %.200s  task %.60s  method %.40s  budget %.30s  params %s  "
             "test %s  %.40s", k ? "B" : "A", s->id, s->meta[SSK_TASK][0] ? s->meta[SSK_TASK] : "-",
             s->meta[SSK_METHOD][0] ? s->meta[SSK_METHOD] : "-",
             s->meta[SSK_BUDGET][0] ? s->meta[SSK_BUDGET] : "-", params, test, s->status);
    ui_put_text(y, 1, COLS - 2, line, A_BOLD);
    if (!c->has[k])
        ui_put_text(y + 1, 4, COLS - 5, c->why[k], 0);
}

static void draw_compare(const struct ui_compare *c, int off, const struct ui_style *st,
                         int help) {
    erase();
    if (too_small()) {
        draw_too_small(st);
        refresh();
        return;
    }
    title_bar(st, "bipeft: two structures side by side");
    side_line(1, c, 0);
    side_line(3, c, 1);
    char sum[160];
    snprintf(sum, sizeof sum, "%d modules: %d same, %d other rank, %d only in A, %d only in B",
             c->n_rows, c->count[PEFT_DIFF_SAME], c->count[PEFT_DIFF_CHANGED],
             c->count[PEFT_DIFF_A_ONLY], c->count[PEFT_DIFF_B_ONLY]);
    ui_put_text(5, 1, COLS - 2, sum, 0);
    int y0 = 7, rows = LINES - y0 - 1;
    ui_put_text(6, 2, COLS - 2, "module                  A      B      ", A_BOLD | A_UNDERLINE);
    static const char *const marks[] = {[PEFT_DIFF_SAME] = "both, same rank",
                                        [PEFT_DIFF_CHANGED] = "both, other rank",
                                        [PEFT_DIFF_A_ONLY] = "only A",
                                        [PEFT_DIFF_B_ONLY] = "only B"};
    for (int k = 0; k < rows && off + k < c->n_rows; k++) {
        char name[64], ra[32], rb[32];
        enum peft_diff_mark mk;
        ui_compare_row(c, off + k, name, sizeof name, ra, rb, sizeof ra, &mk);
        attr_t at = mk == PEFT_DIFF_SAME ? 0
                    : mk == PEFT_DIFF_CHANGED ? ui_attr(st, UI_PAIR_WARN, A_BOLD)
                    : mk == PEFT_DIFF_A_ONLY ? ui_attr(st, UI_PAIR_USER, A_BOLD)
                                             : ui_attr(st, UI_PAIR_PLOT, A_BOLD);
        ui_put_text(y0 + k, 2, 22, name, 0);
        ui_put_text(y0 + k, 26, 6, ra, 0);
        ui_put_text(y0 + k, 33, 6, rb, 0);
        ui_put_text(y0 + k, 40, COLS - 41, marks[mk], at);
    }
    footer("", help ? "" : "up/down PgUp PgDn: scroll  q: back to the list");
    refresh();
}

/* The comparison screen's scroll state. */
struct cmp_view {
    int off, rows, max_off, leave;
};

static void c_up(void *p, int ch) { (void)ch; ((struct cmp_view *)p)->off--; }
static void c_down(void *p, int ch) { (void)ch; ((struct cmp_view *)p)->off++; }

static void c_pgup(void *p, int ch) {
    (void)ch;
    struct cmp_view *v = p;
    v->off -= v->rows;
}

static void c_pgdn(void *p, int ch) {
    (void)ch;
    struct cmp_view *v = p;
    v->off += v->rows;
}

static void c_home(void *p, int ch) { (void)ch; ((struct cmp_view *)p)->off = 0; }

static void c_end(void *p, int ch) {
    (void)ch;
    struct cmp_view *v = p;
    v->off = v->max_off;
}

static void c_leave(void *p, int ch) { (void)ch; ((struct cmp_view *)p)->leave = 1; }
static void c_resize(void *p, int ch) { (void)p, (void)ch; clearok(curscr, TRUE); }

/* The comparison screen's keys. */
static const struct ui_key compare_keys[] = {
    {{KEY_UP, 'k'}, c_up},           {{KEY_DOWN, 'j'}, c_down},
    {{KEY_PPAGE}, c_pgup},           {{KEY_NPAGE, ' '}, c_pgdn},
    {{KEY_HOME}, c_home},            {{KEY_END}, c_end},
    {{'q', 'Q', 27, 'c'}, c_leave},  {{KEY_RESIZE}, c_resize},
    {{0}, NULL},
};

static void compare(struct ss_ui *u) {
    struct ui_compare c;
    const char *a = u->l.s[u->mark[0]].dir, *b = u->l.s[u->mark[1]].dir;
    ui_compare_open(a, b, &c);
    struct cmp_view v = {0};
    while (!v.leave && !u->quit) {
        v.rows = LINES - 8 > 1 ? LINES - 8 : 1;
        v.max_off = c.n_rows > v.rows ? c.n_rows - v.rows : 0;
        v.off = v.off < 0 ? 0 : v.off > v.max_off ? v.max_off : v.off;
        draw_compare(&c, v.off, u->st, 0);
        timeout(200);
        ui_keys_run(compare_keys, &v, getch());
        if (ui_term_take_repaint())
            clearok(curscr, TRUE);
        if (ui_term_quit_signal())
            u->quit = 1;
    }
    ui_compare_free(&c);
}

/* ---- keys ---- */

static void reload(struct ss_ui *u) {
    struct pf_err err = {0};
    search_store_list_free(&u->l);
    if (ui_sessions_load(u->root, &u->l, &err) != PF_OK)
        snprintf(u->note, sizeof u->note, "%s", err.msg);
    u->mark[0] = u->mark[1] = -1;
    if (u->cur >= u->l.n)
        u->cur = u->l.n > 0 ? u->l.n - 1 : 0;
}

static void replay(struct ss_ui *u) {
    if (u->l.n == 0)
        return;
    struct ui_replay *r = NULL;
    struct pf_err err = {0};
    if (ui_replay_open(u->l.s[u->cur].dir, &r, &err) != PF_OK) {
        snprintf(u->note, sizeof u->note, "cannot replay: %s", err.msg);
        return;
    }
    int quit = 0;
    ui_replay_loop(r, u->st, &quit);
    ui_replay_free(r);
    if (quit)
        u->quit = 1;
    clearok(curscr, TRUE);
}

static void toggle_mark(struct ss_ui *u) {
    if (u->l.n == 0)
        return;
    int i = u->cur;
    if (u->mark[1] == i) {
        u->mark[1] = -1;
    } else if (u->mark[0] == i) {
        u->mark[0] = u->mark[1];
        u->mark[1] = -1;
    } else if (u->mark[0] < 0) {
        u->mark[0] = i;
    } else if (u->mark[1] < 0) {
        u->mark[1] = i;
    } else { /* a third: the older mark goes */
        u->mark[0] = u->mark[1];
        u->mark[1] = i;
    }
}

static int page_rows(void) { return LINES - 4 > 1 ? LINES - 4 : 1; }
static void k_up(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->cur--; }
static void k_down(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->cur++; }
static void k_pgup(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->cur -= page_rows(); }
static void k_pgdn(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->cur += page_rows(); }
static void k_home(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->cur = 0; }

static void k_end(void *p, int ch) {
    (void)ch;
    struct ss_ui *u = p;
    u->cur = u->l.n - 1;
}

static void k_replay(void *p, int ch) { (void)ch; replay(p); }
static void k_mark(void *p, int ch) { (void)ch; toggle_mark(p); }

static void k_compare(void *p, int ch) {
    (void)ch;
    struct ss_ui *u = p;
    if (u->mark[0] >= 0 && u->mark[1] >= 0)
        compare(u);
    else
        snprintf(u->note, sizeof u->note, "mark two sessions first (m on each)");
}

static void k_reload(void *p, int ch) { (void)ch; reload(p); }
static void k_help(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->help = 1; }
static void k_quit(void *p, int ch) { (void)ch; ((struct ss_ui *)p)->leave = 1; }
static void k_resize(void *p, int ch) { (void)p, (void)ch; clearok(curscr, TRUE); }

/* The sessions screen's keys (docs/TUI_REPLAY.md). */
static const struct ui_key session_keys[] = {
    {{KEY_UP, 'k'}, k_up},
    {{KEY_DOWN, 'j'}, k_down},
    {{KEY_PPAGE}, k_pgup},
    {{KEY_NPAGE}, k_pgdn},
    {{KEY_HOME}, k_home},
    {{KEY_END}, k_end},
    {{'\n', '\r', KEY_ENTER}, k_replay},
    {{'m'}, k_mark},
    {{'c'}, k_compare},
    {{'r'}, k_reload},
    {{'?'}, k_help},
    {{'q', 'Q'}, k_quit},
    {{KEY_RESIZE}, k_resize},
    {{0}, NULL},
};

static void on_key(struct ss_ui *u, int ch) {
    if (u->help) {
        u->help = 0;
        return;
    }
    u->note[0] = '\0';
    ui_keys_run(session_keys, u, ch);
    if (u->cur >= u->l.n)
        u->cur = u->l.n - 1;
    if (u->cur < 0)
        u->cur = 0;
}

pf_status ui_sessions_run(const char *root, int *interrupted, struct pf_err *err) {
    static struct ss_ui u; /* one screen per process; big (the list's rows live elsewhere) */
    memset(&u, 0, sizeof u);
    snprintf(u.root, sizeof u.root, "%s", root);
    u.mark[0] = u.mark[1] = -1;
    *interrupted = 0;
    pf_status st = ui_sessions_load(root, &u.l, err);
    if (st != PF_OK)
        return st;
    struct ui_style style;
    int utf8 = 0;
    if (!ui_term_screen_start(NULL, &utf8, err)) {
        search_store_list_free(&u.l);
        return err->code;
    }
    ui_draw_style_init(&style, utf8);
    u.st = &style;
    while (!u.leave && !u.quit) {
        draw_list(&u);
        timeout(200);
        int ch = getch();
        if (ch != ERR)
            on_key(&u, ch);
        if (ui_term_take_repaint())
            clearok(curscr, TRUE);
        if (ui_term_quit_signal())
            u.quit = 1;
    }
    ui_term_screen_stop();
    search_store_list_free(&u.l);
    *interrupted = u.quit;
    return PF_OK;
}
