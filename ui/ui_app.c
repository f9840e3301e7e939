/* ui_app.c - the live TUI (ui_app.h): the worker thread that runs the search, the UI loop on
 * the calling thread (keys, queue, redraws at most 10 times a second and only when something
 * changed), and the key actions, which become search_request calls echoed in the event log.
 * The terminal's modes and signals are ui_term.c's; drawing is ui_draw.c's. */
#include "ui_app.h"

#include <curses.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui_draw.h"
#include "ui_keys.h"
#include "ui_model.h"
#include "ui_queue.h"
#include "ui_term.h"

#define UI_KEY_TIMEOUT_MS 50
#define UI_REDRAW_S 0.1
#define UI_DRAIN 256

struct app {
    struct search *s;
    const struct ui_info *info;
    struct ui_queue *q;
    struct ui_model *m;
    struct ui_view_state vs;
    struct ui_style st;
    atomic_int finished;       /* the worker returned */
    pf_status run_st;          /* the worker's results (read after the join) */
    struct pf_err run_err;
    struct search_result res;
    int stop_sent;             /* q confirmed */
    int leave;                 /* the loop ends */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *worker(void *arg) {
    struct app *a = arg;
    a->run_st = search_serve(a->s, &a->res, &a->run_err);
    atomic_store(&a->finished, 1);
    return NULL;
}

/* ---- requests ---- */

static int steerable(const struct ui_model *m) { return ui_model_searching(m); }

static void send(struct app *a, enum search_req_type t, const char *module, int64_t value) {
    struct search_request rq;
    memset(&rq, 0, sizeof rq);
    rq.type = t;
    rq.value = value;
    if (module)
        snprintf(rq.module, sizeof rq.module, "%s", module);
    search_request(a->s, &rq);
}

/* The cursor's module, or NULL (with a note in the footer). */
static const struct ui_module *cursor_module(struct app *a) {
    int i = ui_draw_cursor_module(a->m, &a->vs);
    if (i < 0) {
        snprintf(a->vs.status, sizeof a->vs.status, "no module under the cursor");
        return NULL;
    }
    return &a->m->mods[i];
}

static int check_steerable(struct app *a, const char *what) {
    if (steerable(a->m))
        return 1;
    ui_model_log(a->m, UI_LOG_WARN, "you: %s: not sent, the search is over (phase %s)", what,
                 a->m->phase);
    return 0;
}

static void act_pin(struct app *a) {
    const struct ui_module *md = cursor_module(a);
    if (!md || !check_steerable(a, md->pinned ? "unpin" : "pin"))
        return;
    send(a, md->pinned ? SREQ_UNPIN : SREQ_PIN, md->name, 0);
    ui_model_log(a->m, UI_LOG_USER, "you: %s %s", md->pinned ? "unpin" : "pin", md->name);
}

static void act_prune(struct app *a) {
    const struct ui_module *md = cursor_module(a);
    if (!md || !check_steerable(a, "prune"))
        return;
    send(a, SREQ_PRUNE, md->name, 0);
    ui_model_log(a->m, UI_LOG_USER, "you: prune %s", md->name);
}

static void start_prompt(struct app *a, enum ui_prompt p, const char *fmt, const char *s1,
                         const char *s2) {
    a->vs.prompt = p;
    a->vs.input[0] = '\0';
    snprintf(a->vs.prompt_text, sizeof a->vs.prompt_text, fmt, s1, s2);
}

static void act_fix_prompt(struct app *a) {
    const struct ui_module *md = cursor_module(a);
    if (!md || !check_steerable(a, "fix rank"))
        return;
    char ranks[64] = "", best[16];
    for (int k = 0; k < md->n_ranks; k++)
        snprintf(ranks + strlen(ranks), sizeof ranks - strlen(ranks), "%s%d", k ? " " : "",
                 md->ranks[k]);
    snprintf(best, sizeof best, "%d", ui_model_argmax_rank(a->m, (int)(md - a->m->mods)));
    char fmt[160];
    snprintf(fmt, sizeof fmt, "fix the rank of %%.60s (%s%s; Enter: %%s, Esc: cancel): ",
             md->n_ranks ? "ranks " : "a rank", ranks);
    start_prompt(a, UI_PROMPT_FIX, fmt, md->name, best);
}

/* "2000", "1.5k", "2M" -> parameters; -1 when not a positive count. */
static int64_t parse_count(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1e6, end++;
    if (*end || !(v >= 1) || v > 1e15)
        return -1;
    return (int64_t)llround(v);
}

static void finish_fix(struct app *a) {
    const struct ui_module *md = cursor_module(a);
    if (!md)
        return;
    int i = (int)(md - a->m->mods);
    int64_t r = a->vs.input[0] ? parse_count(a->vs.input) : ui_model_argmax_rank(a->m, i);
    int ok = r > 0 && md->n_ranks == 0;
    for (int k = 0; k < md->n_ranks; k++)
        ok |= md->ranks[k] == r;
    if (!ok) {
        ui_model_log(a->m, UI_LOG_WARN, "you: fix %s: '%s' is not one of its ranks", md->name,
                     a->vs.input);
        return;
    }
    send(a, SREQ_FIX_RANK, md->name, r);
    ui_model_log(a->m, UI_LOG_USER, "you: fix %s r%lld", md->name, (long long)r);
}

static void finish_budget(struct app *a) {
    int64_t b = parse_count(a->vs.input);
    if (b <= 0) {
        ui_model_log(a->m, UI_LOG_WARN, "you: budget '%s' is not a parameter count (2000, "
                     "1.5k, 2M)", a->vs.input);
        return;
    }
    send(a, SREQ_BUDGET, NULL, b);
    ui_model_log(a->m, UI_LOG_USER, "you: budget %lld", (long long)b);
}

static void finish_quit(struct app *a) {
    a->stop_sent = 1;
    send(a, SREQ_STOP, NULL, 0);
    if (!steerable(a->m)) /* retraining reads only the interrupt flag */
        *a->info->interrupt = 1;
    ui_model_log(a->m, UI_LOG_USER, "you: quit: checkpoint and stop at the next step");
    snprintf(a->vs.status, sizeof a->vs.status, "stopping: writing a checkpoint at the next "
             "step boundary ...");
}

static void prompt_key(struct app *a, int ch) {
    struct ui_view_state *vs = &a->vs;
    size_t n = strlen(vs->input);
    if (vs->prompt == UI_PROMPT_QUIT) {
        vs->prompt = UI_PROMPT_NONE;
        if (ch == 'y' || ch == 'Y')
            finish_quit(a);
        return;
    }
    if (ch == 27) {
        vs->prompt = UI_PROMPT_NONE;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (n > 0)
            vs->input[n - 1] = '\0';
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        enum ui_prompt p = vs->prompt;
        vs->prompt = UI_PROMPT_NONE;
        if (p == UI_PROMPT_FIX)
            finish_fix(a);
        else if (p == UI_PROMPT_BUDGET)
            finish_budget(a);
    } else if (ch > 32 && ch < 127 && n + 1 < sizeof vs->input) {
        vs->input[n] = (char)ch;
        vs->input[n + 1] = '\0';
    }
}

/* ---- cursor ---- */

/* Move to the next module in direction (dr, dc); stay when there is none. */
static void move_cursor(struct app *a, int dr, int dc) {
    int r = a->vs.cur_row + dr, c = a->vs.cur_col + dc;
    while (r >= 0 && c >= 0 && r < a->m->map_rows && c < a->m->map_cols) {
        if (ui_model_map_at(a->m, r, c) >= 0) {
            a->vs.cur_row = r;
            a->vs.cur_col = c;
            return;
        }
        r += dr;
        c += dc;
    }
}

/* Keep the cursor on a module when the map changes (the first one, row by row). */
static void settle_cursor(struct app *a) {
    if (ui_model_map_at(a->m, a->vs.cur_row, a->vs.cur_col) >= 0)
        return;
    for (int r = 0; r < a->m->map_rows; r++)
        for (int c = 0; c < a->m->map_cols; c++)
            if (ui_model_map_at(a->m, r, c) >= 0) {
                a->vs.cur_row = r;
                a->vs.cur_col = c;
                return;
            }
}

/* ---- keys ---- */

static void k_up(void *p, int ch) { (void)ch; move_cursor(p, -1, 0); }
static void k_down(void *p, int ch) { (void)ch; move_cursor(p, 1, 0); }
static void k_left(void *p, int ch) { (void)ch; move_cursor(p, 0, -1); }
static void k_right(void *p, int ch) { (void)ch; move_cursor(p, 0, 1); }
static void k_pin(void *p, int ch) { (void)ch; act_pin(p); }
static void k_prune(void *p, int ch) { (void)ch; act_prune(p); }
static void k_fix(void *p, int ch) { (void)ch; act_fix_prompt(p); }

static void k_budget(void *p, int ch) {
    (void)ch;
    struct app *a = p;
    if (check_steerable(a, "budget")) {
        char now[32];
        snprintf(now, sizeof now, "%.0f", a->m->budget);
        start_prompt(a, UI_PROMPT_BUDGET, "budget in parameters (now %s%s; 1.5k, 2M "
                     "allowed; Esc: cancel): ", now, "");
    }
}

static void k_pause(void *p, int ch) {
    (void)ch;
    struct app *a = p;
    if (check_steerable(a, a->m->paused ? "resume" : "pause")) {
        send(a, a->m->paused ? SREQ_RESUME : SREQ_PAUSE, NULL, 0);
        ui_model_log(a->m, UI_LOG_USER, "you: %s", a->m->paused ? "resume" : "pause");
    }
}

static void k_reload(void *p, int ch) {
    (void)ch;
    struct app *a = p;
    if (check_steerable(a, "reload policy")) {
        send(a, SREQ_RELOAD_POLICY, NULL, 0);
        ui_model_log(a->m, UI_LOG_USER, "you: reload the policy");
    }
}

static void k_checkpoint(void *p, int ch) {
    (void)ch;
    struct app *a = p;
    if (check_steerable(a, "checkpoint")) {
        send(a, SREQ_CHECKPOINT, NULL, 0);
        ui_model_log(a->m, UI_LOG_USER, "you: checkpoint now");
    }
}

static void k_view(void *p, int ch) {
    (void)ch;
    struct app *a = p;
    a->vs.view = (enum ui_view)((a->vs.view + 1) % UI_VIEW_COUNT);
}

static void k_help(void *p, int ch) {
    (void)ch;
    ((struct app *)p)->vs.help = 1;
}

static void k_quit(void *p, int ch) {
    (void)ch;
    struct app *a = p;
    if (!a->stop_sent)
        start_prompt(a, UI_PROMPT_QUIT, "quit? the search writes a checkpoint and stops "
                     "(resume later with bipeft resume DIR) [y/N]%s%s ", "", "");
}

/* The search screen's keys (docs/TUI.md; the help overlay lists them). */
static const struct ui_key search_keys[] = {
    {{KEY_UP, 'k'}, k_up},       {{KEY_DOWN, 'j'}, k_down},   {{KEY_LEFT, 'h'}, k_left},
    {{KEY_RIGHT, 'l'}, k_right}, {{'p'}, k_pin},              {{'x'}, k_prune},
    {{'f'}, k_fix},              {{'b'}, k_budget},           {{' '}, k_pause},
    {{'r'}, k_reload},           {{'s'}, k_checkpoint},       {{'\t'}, k_view},
    {{'?'}, k_help},             {{'q', 'Q'}, k_quit},        {{0}, NULL},
};

static void on_key(struct app *a, int ch) {
    struct ui_view_state *vs = &a->vs;
    if (ch == KEY_RESIZE)
        return;
    if (ch == '!' && vs->debug && vs->prompt == UI_PROMPT_NONE)
        abort(); /* the hidden crash key of the terminal-restore tests */
    if (vs->finished) {
        a->leave = 1;
        return;
    }
    if (vs->help) {
        vs->help = 0;
        return;
    }
    if (vs->prompt != UI_PROMPT_NONE) {
        prompt_key(a, ch);
        return;
    }
    if (!a->stop_sent)
        vs->status[0] = '\0';
    ui_keys_run(search_keys, a, ch);
}

/* ---- loop ---- */

/* Apply every waiting event; 1 when there was any. */
static int drain(struct app *a) {
    static struct search_event buf[UI_DRAIN];
    int any = 0, n;
    while ((n = ui_queue_drain(a->q, buf, UI_DRAIN)) > 0) {
        for (int i = 0; i < n; i++)
            ui_model_apply(a->m, &buf[i]);
        any = 1;
    }
    if (any)
        settle_cursor(a);
    return any;
}

/* After the worker has returned: the final screen waits for a key when the search is done;
 * any other end (stop, signal, failure) leaves at once. */
static void on_finished(struct app *a) {
    if (a->vs.finished || a->leave)
        return;
    if (a->m->done && !ui_term_quit_signal() && !a->stop_sent) {
        char p[16];
        snprintf(p, sizeof p, "%.0f", a->m->final_params);
        a->vs.finished = 1;
        a->vs.prompt = UI_PROMPT_NONE;
        snprintf(a->vs.status, sizeof a->vs.status, "search done: %s parameters. Press any "
                 "key to leave (the summary follows).", p);
    } else {
        a->leave = 1;
    }
}

static void loop(struct app *a) {
    double last = 0;
    int dirty = 1;
    while (!a->leave) {
        int ch = getch();
        if (ch != ERR) {
            if (ch == KEY_RESIZE)
                clearok(curscr, TRUE);
            on_key(a, ch);
            dirty = 2; /* a key: draw now */
        }
        if (drain(a) && !dirty)
            dirty = 1;
        if (ui_term_take_repaint()) {
            clearok(curscr, TRUE);
            dirty = 2;
        }
        if (ui_term_quit_signal() && !a->vs.status[0]) {
            snprintf(a->vs.status, sizeof a->vs.status, "interrupted: writing a checkpoint at "
                     "the next step boundary ...");
            dirty = 2;
        }
        if (ui_term_quit_signal() && a->vs.finished)
            a->leave = 1; /* a signal on the final screen: leave as a key would */
        if (atomic_load(&a->finished) && ui_queue_count(a->q) == 0) {
            drain(a);
            on_finished(a);
            dirty = dirty ? dirty : 1;
        }
        double t = now_s();
        if (!a->leave && (dirty == 2 || (dirty && t - last >= UI_REDRAW_S))) {
            ui_draw_screen(a->m, &a->vs, &a->st);
            refresh();
            last = t;
            dirty = 0;
        }
    }
}

/* ---- set-up ---- */

/* The candidates and the state before the worker starts (the only direct reads). */
static void load_candidates(struct app *a) {
    struct ui_model *m = a->m;
    int n = search_n_candidates(a->s);
    for (int i = 0; i < n; i++) {
        struct search_cand_info ci;
        search_cand_info(a->s, i, &ci);
        int k = ui_model_add_module(m, ci.name, (double)ci.full_cost);
        struct ui_module *md = &m->mods[k];
        md->pruned = ci.pruned;
        md->pinned = ci.pinned;
        md->fixed = ci.fixed;
        md->rank = ci.rank;
        md->cost = ci.cost;
        /* what the step-0 snapshot (emitted inside search_open, before this sink) said */
        md->sens = ci.sensitivity;
        md->dsi = ci.stability;
        md->seen = 1;
    }
    m->planned = search_planned(a->s);
    m->budget = (double)search_budget(a->s);
    m->expected = search_expected(a->s);
    m->stages_left = search_stages_left(a->s);
    m->step = search_iteration(a->s);
    m->paused = search_paused(a->s);
    snprintf(m->phase, sizeof m->phase, "%s", search_phase_name(search_phase_of(a->s)));
    ui_model_log(m, UI_LOG_INFO, "session %s: %d candidates, budget %.0f, iteration %lld",
                 search_dir(a->s), n, m->budget, (long long)m->step);
}

static void fill_info(struct ui_model *m, const struct ui_info *info) {
    snprintf(m->task, sizeof m->task, "%s", info->task ? info->task : "");
    snprintf(m->model, sizeof m->model, "%s", info->model ? info->model : "");
    snprintf(m->device, sizeof m->device, "%s", info->device ? info->device : "");
    snprintf(m->method, sizeof m->method, "%s", info->method ? info->method : "");
    m->stages_total = info->stages_total;
}

/* --paused: the pause applied here, before the worker starts (so that it is in the session's
 * log before any step); space (SREQ_RESUME) starts the search. Only while it searches: a
 * session resumed into its retraining is not paused (it would wait for a key that the
 * retraining does not take). */
static void start_paused(struct app *a) {
    if (search_phase_of(a->s) != SPH_SEARCH) {
        ui_model_log(a->m, UI_LOG_WARN, "--paused: the search is over (phase %s): not paused",
                     a->m->phase);
        return;
    }
    struct search_request rq;
    memset(&rq, 0, sizeof rq);
    rq.type = SREQ_PAUSE;
    struct pf_err e = {0};
    if (search_apply(a->s, &rq, "user", &e) != PF_OK) {
        ui_model_log(a->m, UI_LOG_ERROR, "--paused: %s", e.msg);
        return;
    }
    snprintf(a->vs.status, sizeof a->vs.status, "paused before the first step: space starts "
             "the search (pin, prune, fix, budget and reload work while paused)");
}

int ui_available(void) {
    const char *t = getenv("TERM");
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && t && t[0] && strcmp(t, "dumb");
}

pf_status ui_run_search(struct search *s, const struct ui_info *info, struct search_result *r,
                        pf_status *run_st, struct pf_err *run_err, int *stopped,
                        struct pf_err *err) {
    static struct app a; /* one TUI per process */
    memset(&a, 0, sizeof a);
    a.s = s;
    a.info = info;
    const char *dbg = getenv("BIPEFT_UI_DEBUG");
    a.vs.debug = dbg && !strcmp(dbg, "1");
    int utf8 = 0;
    if (!ui_term_screen_start(info->interrupt, &utf8, err))
        return err->code;
    ui_draw_style_init(&a.st, utf8);
    timeout(UI_KEY_TIMEOUT_MS);
    a.q = ui_queue_new();
    a.m = ui_model_new();
    fill_info(a.m, info);
    load_candidates(&a);
    settle_cursor(&a);
    struct search_sink sk;
    ui_queue_sink(a.q, &sk);
    pf_status st = search_add_sink(s, &sk, err);
    pthread_t th;
    int started = 0, sink_added = st == PF_OK;
    if (st == PF_OK && info->start_paused)
        start_paused(&a);
    if (st == PF_OK) {
        /* the worker gets no terminal signals: they reach this thread (and ncurses) */
        sigset_t set, old;
        sigemptyset(&set);
        const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGCONT, SIGWINCH};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            sigaddset(&set, sigs[i]);
        pthread_sigmask(SIG_BLOCK, &set, &old);
        started = pthread_create(&th, NULL, worker, &a) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!started)
            st = pf_err_set(err, PF_ERR_UNSUPPORTED, "cannot start the search thread");
    }
    if (started) {
        loop(&a);
        pthread_join(th, NULL);
    }
    ui_term_screen_stop();
    if (started) {
        *r = a.res;
        *run_st = a.run_st;
        *run_err = a.run_err;
        *stopped = a.stop_sent && !a.m->done;
    }
    ui_model_free(a.m);
    if (started || !sink_added)
        ui_queue_free(a.q); /* the engine emits no more: the worker has returned */
    /* else the sink is registered but the search never ran here: the queue stays alive, so
     * that a headless run of the same session can still emit into it */
    return st;
}
