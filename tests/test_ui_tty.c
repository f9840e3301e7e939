/* test_ui_tty.c - the TUI end to end on a pseudo-terminal (reliability cases 26-28): the
 * search fixture runs `bipeft search` with its stdin/stdout/stderr on a pty. Checked: the
 * screen starts (alternate screen, the module map), survives a resize storm down to 1x1 and
 * 0x0, ends on a key with the summary and exit 0; Ctrl-C stops with a checkpoint (130);
 * the hidden debug key's abort() restores the terminal; TERM=dumb runs headless. After
 * each, the pty's modes have echo, icanon and isig back and the cursor is shown. Runs the
 * binary named by $BIPEFT_BIN. No timing assertions: the waits are hang guards only. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "search_fixture.h"

#define OUT_MAX (8 << 20)

struct tty_run {
    int master;
    pid_t pid;
    char *out; /* everything the program wrote */
    size_t len;
};

static void set_size(int fd, int cols, int rows) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    cr_assert_eq(ioctl(fd, TIOCSWINSZ, &ws), 0);
}

/* Start $BIPEFT_BIN args on a new pty of 100x30 with TERM (and BIPEFT_UI_DEBUG when debug). */
static void start(struct tty_run *t, const char *const *args, const char *term, int debug) {
    const char *bin = getenv("BIPEFT_BIN");
    cr_assert_not_null(bin, "BIPEFT_BIN is not set");
    t->master = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert_geq(t->master, 0);
    cr_assert_eq(grantpt(t->master), 0);
    cr_assert_eq(unlockpt(t->master), 0);
    const char *sname = ptsname(t->master);
    cr_assert_not_null(sname);
    set_size(t->master, 100, 30);
    t->out = malloc(OUT_MAX + 1);
    t->len = 0;
    fflush(NULL);
    t->pid = fork();
    cr_assert_geq(t->pid, 0);
    if (t->pid == 0) {
        setsid();
        int s = open(sname, O_RDWR);
        if (s < 0)
            _exit(127);
        ioctl(s, TIOCSCTTY, 0);
        dup2(s, 0);
        dup2(s, 1);
        dup2(s, 2);
        if (s > 2)
            close(s);
        close(t->master);
        if (term)
            setenv("TERM", term, 1);
        setenv("LC_ALL", "C.UTF-8", 1);
        unsetenv("NO_COLOR");
        if (debug)
            setenv("BIPEFT_UI_DEBUG", "1", 1);
        const char *argv[16] = {bin};
        int n = 1;
        for (; args[n - 1] && n < 15; n++)
            argv[n] = args[n - 1];
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
}

/* Read what is there (waiting up to ms); 0 at end of output. */
static int pump(struct tty_run *t, int ms) {
    struct pollfd p = {.fd = t->master, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return 1;
    char buf[65536];
    ssize_t n = read(t->master, buf, sizeof buf);
    if (n <= 0)
        return 0; /* EIO: the child side is closed */
    size_t k = (size_t)n;
    if (t->len + k > OUT_MAX) { /* keep the newest output */
        memmove(t->out, t->out + k, t->len - k);
        t->len -= k;
    }
    memcpy(t->out + t->len, buf, k);
    t->len += k;
    t->out[t->len] = '\0';
    return 1;
}

/* Where s last occurs in the output (bytes: the output may hold NULs), or NULL. */
static const char *last_of(const struct tty_run *t, const char *s) {
    size_t k = strlen(s);
    for (size_t i = t->len >= k ? t->len - k + 1 : 0; i-- > 0;)
        if (!memcmp(t->out + i, s, k))
            return t->out + i;
    return NULL;
}

/* Pump until s shows up (a hang guard of 300 s, never a speed check). */
static void wait_for(struct tty_run *t, const char *s) {
    time_t t0 = time(NULL);
    while (!last_of(t, s)) {
        cr_assert(time(NULL) - t0 < 300, "no '%s' on the screen after 300 s", s);
        if (!pump(t, 200))
            cr_assert_fail("the program ended before '%s' showed", s);
    }
}

/* Pump to the end and reap the child: its wait status. */
static int finish(struct tty_run *t) {
    time_t t0 = time(NULL);
    int st;
    for (;;) {
        pid_t r = waitpid(t->pid, &st, WNOHANG);
        if (r == t->pid)
            break;
        cr_assert(time(NULL) - t0 < 300, "the program did not end");
        pump(t, 100);
    }
    while (pump(t, 50) && pump(t, 0))
        ;
    return st;
}

/* The pty's modes (shared by both ends on Linux) are those of a shell again, and the last
 * entry into the alternate screen was followed by its exit and a visible cursor. */
static void check_restored(struct tty_run *t) {
    struct termios tio;
    cr_assert_eq(tcgetattr(t->master, &tio), 0);
    cr_assert(tio.c_lflag & ECHO, "echo is off after the TUI");
    cr_assert(tio.c_lflag & ICANON, "icanon is off after the TUI");
    cr_assert(tio.c_lflag & ISIG, "isig is off after the TUI");
    const char *enter = last_of(t, "\033[?1049h"), *leave = last_of(t, "\033[?1049l");
    const char *show = last_of(t, "\033[?25h");
    cr_assert_not_null(enter, "the TUI never started");
    cr_assert(leave && leave > enter, "the alternate screen was not left");
    cr_assert(show && show > enter, "the cursor was not shown again");
}

static void cleanup(struct tty_run *t) {
    close(t->master);
    free(t->out);
}

static const char *session_dir(const char *name) {
    static char d[512];
    snprintf(d, sizeof d, "%s/%s", check_temp_dir(), name);
    return d;
}

Test(ui_tty, runs_resizes_and_ends_on_a_key, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty.lua", ", retrain = false", "");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty1"), NULL};
    struct tty_run t;
    start(&t, args, "xterm-256color", 0);
    wait_for(&t, "modules (");
    const int sizes[][2] = {{200, 60}, {80, 24}, {20, 5}, {1, 1}, {0, 0}, {100, 30}};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            set_size(t.master, sizes[i][0], sizes[i][1]);
            pump(&t, 10);
        }
    set_size(t.master, 20, 5);
    wait_for(&t, "too small");
    set_size(t.master, 100, 30);
    wait_for(&t, "Press any key");
    cr_assert_eq(write(t.master, " ", 1), 1);
    int st = finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    check_restored(&t);
    const char *sum = last_of(&t, "structure:");
    cr_assert(sum && sum > last_of(&t, "\033[?1049l"), "no summary after the TUI");
    cleanup(&t);
}

Test(ui_tty, ctrl_c_stops_with_a_checkpoint, .timeout = CHECK_HANG_TIMEOUT) {
    /* long enough to be running when ^C comes: pruning only from epoch 150 of 200 */
    const char *cfg = search_fixture_config("ui_tty_long.lua", ", prune_begin_epoch = 150",
                                            "optim = { lr = 1e-2, arch_lr = 0.05, "
                                            "batch_size = 16, epochs = 200 },");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty2"), NULL};
    struct tty_run t;
    start(&t, args, "xterm", 0);
    wait_for(&t, "modules (");
    cr_assert_eq(write(t.master, "\003", 1), 1); /* ^C: SIGINT through the line discipline */
    int st = finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit status %d", st);
    check_restored(&t);
    cr_assert_not_null(last_of(&t, "interrupted at iteration"));
    char ck[600];
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", session_dir("tty2"));
    cr_assert_eq(access(ck, R_OK), 0, "no checkpoint");
    cleanup(&t);
}

Test(ui_tty, abort_restores_the_terminal, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty_abort.lua", ", prune_begin_epoch = 150",
                                            "optim = { lr = 1e-2, arch_lr = 0.05, "
                                            "batch_size = 16, epochs = 200 },");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty3"), NULL};
    struct tty_run t;
    start(&t, args, "xterm", 1);
    wait_for(&t, "modules (");
    cr_assert_eq(write(t.master, "!", 1), 1);
    int st = finish(&t);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "wait status %d", st);
    check_restored(&t);
    cleanup(&t);
}

Test(ui_tty, dumb_terminal_runs_headless, .timeout = CHECK_HANG_TIMEOUT) {
    const char *cfg = search_fixture_config("ui_tty_dumb.lua", ", retrain = false", "");
    const char *const args[] = {"search", cfg, "--session", session_dir("tty4"), NULL};
    struct tty_run t;
    start(&t, args, "dumb", 0);
    int st = finish(&t);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    cr_assert_null(last_of(&t, "\033[?1049h"), "TERM=dumb got a screen");
    cr_assert_not_null(last_of(&t, "search ["), "no progress line");
    cr_assert_not_null(last_of(&t, "structure:"));
    cleanup(&t);
}
