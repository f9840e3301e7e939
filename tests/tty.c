/* tty.c - pseudo-terminal helpers of the TUI tests (tty.h). */
#define _XOPEN_SOURCE 700
#include "tty.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX (8 << 20)
#define HANG_S 300

void tty_set_size(int fd, int cols, int rows) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    cr_assert_eq(ioctl(fd, TIOCSWINSZ, &ws), 0);
}

void tty_start(struct tty_run *t, const char *const *args, const char *term, int debug,
               int cols, int rows) {
    const char *bin = getenv("BIPEFT_BIN");
    cr_assert_not_null(bin, "BIPEFT_BIN is not set");
    t->master = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert_geq(t->master, 0);
    cr_assert_eq(grantpt(t->master), 0);
    cr_assert_eq(unlockpt(t->master), 0);
    const char *sname = ptsname(t->master);
    cr_assert_not_null(sname);
    tty_set_size(t->master, cols, rows);
    t->out = malloc(OUT_MAX + 1);
    cr_assert_not_null(t->out);
    t->len = 0;
    t->out[0] = '\0';
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

int tty_pump(struct tty_run *t, int ms) {
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

const char *tty_last_of(const struct tty_run *t, const char *s) {
    size_t k = strlen(s);
    for (size_t i = t->len >= k ? t->len - k + 1 : 0; i-- > 0;)
        if (!memcmp(t->out + i, s, k))
            return t->out + i;
    return NULL;
}

void tty_wait_for_after(struct tty_run *t, const char *s, size_t from) {
    time_t t0 = time(NULL);
    for (;;) {
        const char *at = tty_last_of(t, s);
        if (at && (size_t)(at - t->out) >= from)
            return;
        cr_assert(time(NULL) - t0 < HANG_S, "no '%s' on the screen after %d s", s, HANG_S);
        if (!tty_pump(t, 200))
            cr_assert_fail("the program ended before '%s' showed", s);
    }
}

void tty_wait_for(struct tty_run *t, const char *s) { tty_wait_for_after(t, s, 0); }

void tty_send(struct tty_run *t, const char *keys) {
    size_t n = strlen(keys);
    cr_assert_eq(write(t->master, keys, n), (ssize_t)n);
}

int tty_finish(struct tty_run *t) {
    time_t t0 = time(NULL);
    int st;
    for (;;) {
        pid_t r = waitpid(t->pid, &st, WNOHANG);
        if (r == t->pid)
            break;
        cr_assert(time(NULL) - t0 < HANG_S, "the program did not end");
        tty_pump(t, 100);
    }
    while (tty_pump(t, 50) && tty_pump(t, 0))
        ;
    return st;
}

void tty_check_restored(const struct tty_run *t) {
    struct termios tio;
    cr_assert_eq(tcgetattr(t->master, &tio), 0);
    cr_assert(tio.c_lflag & ECHO, "echo is off after the TUI");
    cr_assert(tio.c_lflag & ICANON, "icanon is off after the TUI");
    cr_assert(tio.c_lflag & ISIG, "isig is off after the TUI");
    const char *enter = tty_last_of(t, "\033[?1049h"), *leave = tty_last_of(t, "\033[?1049l");
    const char *show = tty_last_of(t, "\033[?25h");
    cr_assert_not_null(enter, "the TUI never started");
    cr_assert(leave && leave > enter, "the alternate screen was not left");
    cr_assert(show && show > enter, "the cursor was not shown again");
}

void tty_cleanup(struct tty_run *t) {
    close(t->master);
    free(t->out);
    t->out = NULL;
}
