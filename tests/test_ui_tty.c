/* test_ui_tty.c - the TUI end to end on a pseudo-terminal (reliability cases 26-28): the
 * search fixture runs `bipeft search` with its stdin/stdout/stderr on a pty. Checked: the
 * screen starts (alternate screen, the module map), survives a resize storm down to 1x1 and
 * 0x0, ends on a key with the summary and exit 0; Ctrl-C stops with a checkpoint (130);
 * the hidden debug key's abort() restores the terminal; TERM=dumb runs headless; `bipeft
 * replay DIR` goes to the end and quits; `--paused` opens paused (a pin applies while paused,
 * q y stops at iteration 0 with no step in the log, and a headless resume completes), and is
 * a usage error without a terminal. After each, the pty's modes have echo, icanon and isig
 * back and the cursor is shown. Runs the binary named by $BIPEFT_BIN (the pty helpers are
 * tests/tty.h). No timing assertions: the waits are hang guards only. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "search/search_log.h"
#include "search_fixture.h"
#include "tty.h"

static const char *session_dir(const char *name) {
    static char d[512];
    snprintf(d, sizeof d, "%s/%s", check_temp_dir(), name);
    return d;
}

Test(ui_tty, runs_resizes_and_ends_on_a_key, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty.lua", ", retrain = false", "");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty1"), NULL};
    struct tty_run t;
    tty_start(&t, args, "xterm-256color", 0, 100, 30);
    tty_wait_for(&t, "modules (");
    const int sizes[][2] = {{200, 60}, {80, 24}, {20, 5}, {1, 1}, {0, 0}, {100, 30}};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            tty_set_size(t.master, sizes[i][0], sizes[i][1]);
            tty_pump(&t, 10);
        }
    tty_set_size(t.master, 20, 5);
    tty_wait_for(&t, "too small");
    tty_set_size(t.master, 100, 30);
    tty_wait_for(&t, "Press any key");
    cr_assert_eq(write(t.master, " ", 1), 1);
    int st = tty_finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    tty_check_restored(&t);
    const char *sum = tty_last_of(&t, "structure:");
    cr_assert(sum && sum > tty_last_of(&t, "\033[?1049l"), "no summary after the TUI");
    tty_cleanup(&t);
}

Test(ui_tty, ctrl_c_stops_with_a_checkpoint, .timeout = CHECK_HANG_TIMEOUT) {
    /* long enough to be running when ^C comes: pruning only from epoch 150 of 200 */
    const char *cfg = search_fixture_config("ui_tty_long.lua", ", prune_begin_epoch = 150",
                                            "optim = { lr = 1e-2, arch_lr = 0.05, "
                                            "batch_size = 16, epochs = 200 },");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty2"), NULL};
    struct tty_run t;
    tty_start(&t, args, "xterm", 0, 100, 30);
    tty_wait_for(&t, "modules (");
    cr_assert_eq(write(t.master, "\003", 1), 1); /* ^C: SIGINT through the line discipline */
    int st = tty_finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit status %d", st);
    tty_check_restored(&t);
    cr_assert_not_null(tty_last_of(&t, "interrupted at iteration"));
    char ck[600];
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", session_dir("tty2"));
    cr_assert_eq(access(ck, R_OK), 0, "no checkpoint");
    tty_cleanup(&t);
}

Test(ui_tty, abort_restores_the_terminal, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty_abort.lua", ", prune_begin_epoch = 150",
                                            "optim = { lr = 1e-2, arch_lr = 0.05, "
                                            "batch_size = 16, epochs = 200 },");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty3"), NULL};
    struct tty_run t;
    tty_start(&t, args, "xterm", 1, 100, 30);
    tty_wait_for(&t, "modules (");
    cr_assert_eq(write(t.master, "!", 1), 1);
    int st = tty_finish(&t);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "wait status %d", st);
    tty_check_restored(&t);
    tty_cleanup(&t);
}

Test(ui_tty, dumb_terminal_runs_headless, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty_dumb.lua", ", retrain = false", "");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty4"), NULL};
    struct tty_run t;
    tty_start(&t, args, "dumb", 0, 100, 30);
    int st = tty_finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    cr_assert_null(tty_last_of(&t, "\033[?1049h"), "TERM=dumb got a screen");
    cr_assert_not_null(tty_last_of(&t, "search ["), "no progress line");
    cr_assert_not_null(tty_last_of(&t, "structure:"));
    tty_cleanup(&t);
}

/* ---- replay and --paused ---- */

struct ev_count {
    int n, steps, pauses, pins, nonzero_step;
};

static int count_ev(void *ctx, const struct search_event *ev) {
    struct ev_count *c = ctx;
    c->n++;
    c->steps += ev->type == SEV_STEP;
    c->pauses += ev->type == SEV_PAUSE && ev->value == 1 && !strcmp(ev->source, "user");
    c->pins += ev->type == SEV_PIN && !strcmp(ev->source, "user");
    c->nonzero_step += ev->step != 0;
    return 0;
}

static struct ev_count count_log(const char *dir) {
    struct ev_count c = {0};
    struct search_log *lg = NULL;
    struct pf_err err = {0};
    CHECK_OK(search_log_open(dir, 0, &lg, &err), &err);
    CHECK_OK(search_log_each(lg, -1, count_ev, &c, &err), &err);
    search_log_close(lg);
    return c;
}

Test(ui_tty, replay_to_the_end_and_quit, .timeout = CHECK_HANG_TIMEOUT) {
    /* a tiny finished session, as test_ui_replay.c makes one (without the retraining) */
    static char out[65536], errb[8192];
    const char *cfg = search_fixture_config("ui_tty_replay.lua", ", retrain = false", "");
    const char *dir = session_dir("tty-replay");
    const char *a[] = {"search", cfg, "--session", dir, "--quiet", "--headless", NULL};
    int rc = check_run_argv(a, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "the search failed (%d): %s", rc, errb);
    const char *const args[] = {"replay", dir, NULL};
    struct tty_run t;
    tty_start(&t, args, "xterm-256color", 0, 100, 30);
    tty_wait_for(&t, "modules (");
    size_t mark = t.len;
    tty_send(&t, "]"); /* to the end: the bar says so */
    tty_wait_for_after(&t, "■ end", mark);
    tty_send(&t, "q");
    int st = tty_finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    tty_check_restored(&t);
    tty_cleanup(&t);
}

Test(ui_tty, paused_start_quit_then_resume, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty_paused.lua", ", retrain = false", "");
    const char *dir = session_dir("tty-paused");
    const char *const args[] = {"search", cfg, "--session", dir, "--paused", NULL};
    struct tty_run t;
    tty_start(&t, args, "xterm", 0, 100, 30);
    tty_wait_for(&t, "PAUSED");
    tty_send(&t, "p"); /* an intervention while paused: pin the cursor's module */
    size_t mark = t.len;
    tty_send(&t, "q");
    tty_wait_for_after(&t, "quit?", mark);
    tty_send(&t, "y");
    int st = tty_finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit status %d", st);
    tty_check_restored(&t);
    cr_assert_not_null(tty_last_of(&t, "stopped at iteration 0"));
    tty_cleanup(&t);
    struct ev_count c = count_log(dir);
    cr_assert_eq(c.steps, 0, "%d step events while paused", c.steps);
    cr_assert_eq(c.nonzero_step, 0, "events after iteration 0");
    cr_assert_eq(c.pauses, 1, "the pause is not in the log (%d)", c.pauses);
    cr_assert_eq(c.pins, 1, "the pin made while paused is not in the log (%d)", c.pins);
    static char out[65536], errb[8192];
    const char *r[] = {"resume", dir, "--headless", "--quiet", NULL};
    int rc = check_run_argv(r, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "the resume failed (%d): %s", rc, errb);
    c = count_log(dir);
    cr_assert_gt(c.steps, 0, "the resumed search ran no step");
}

Test(ui_tty, paused_needs_the_tui) {
    static char out[4096], errb[4096];
    const char *cfg = search_fixture_config("ui_tty_paused2.lua", ", retrain = false", "");
    const char *a[] = {"search", cfg, "--session", session_dir("tty-paused2"), "--paused",
                       "--headless", NULL};
    cr_assert_eq(check_run_argv(a, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "bipeft: search: --paused needs the TUI (a terminal)"), "%s", errb);
    cr_assert_neq(access(session_dir("tty-paused2"), F_OK), 0, "a session was made");
    const char *b[] = {"resume", session_dir("tty-paused2"), "--paused", NULL}; /* no tty */
    cr_assert_eq(check_run_argv(b, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "bipeft: resume: --paused needs the TUI (a terminal)"), "%s", errb);
}
