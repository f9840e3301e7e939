/* ui_term.c - terminal modes, signals and stderr around the TUI (ui_term.h). The signal
 * handlers only touch sig_atomic_t flags and call async-signal-safe functions (tcsetattr,
 * write, read, lseek, signal, raise, _exit). */
#include "ui_term.h"

#include <curses.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tio;
static int have_tio;
static char exit_seq[256];
static size_t exit_len;
static volatile sig_atomic_t *interrupt_flag;
static volatile sig_atomic_t quit_sig, repaint;
static int cap_fd = -1, real_err = -1; /* stderr captured into cap_fd; the real one */

static const int graceful[] = {SIGINT, SIGTERM, SIGHUP};
static const int fatal[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGQUIT};
#define N_GRACEFUL (int)(sizeof graceful / sizeof graceful[0])
#define N_FATAL (int)(sizeof fatal / sizeof fatal[0])
static struct sigaction old_graceful[N_GRACEFUL], old_fatal[N_FATAL], old_cont;

/* Async-signal-safe: modes back, leave the alternate screen, show the cursor, and the
 * captured stderr onto the real one. */
static void restore_now(void) {
    if (have_tio)
        (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    if (exit_len)
        (void)!write(STDOUT_FILENO, exit_seq, exit_len);
    if (cap_fd >= 0 && real_err >= 0) {
        char buf[4096];
        ssize_t n;
        if (lseek(cap_fd, 0, SEEK_SET) == 0)
            while ((n = read(cap_fd, buf, sizeof buf)) > 0)
                (void)!write(real_err, buf, (size_t)n);
    }
}

static void on_graceful(int sig) {
    if (quit_sig) { /* the second one: out now, the last checkpoint stays */
        restore_now();
        _exit(130);
    }
    quit_sig = sig;
    if (interrupt_flag)
        *interrupt_flag = 1;
}

static void on_fatal(int sig) {
    restore_now();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_cont(int sig) {
    (void)sig;
    repaint = 1;
}

static void set_exit_seq(const char *a, const char *b, const char *c) {
    exit_len = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(parts[i]);
        if (exit_len + l < sizeof exit_seq) {
            memcpy(exit_seq + exit_len, parts[i], l);
            exit_len += l;
        }
    }
}

void ui_term_begin(volatile sig_atomic_t *interrupt) {
    interrupt_flag = interrupt;
    quit_sig = repaint = 0;
    have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
    /* until terminfo is read: the ANSI sequences (attributes off, cursor on, main screen) */
    set_exit_seq("\033[0m", "\033[?25h", "\033[?1049l");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_graceful;
    for (int i = 0; i < N_GRACEFUL; i++)
        sigaction(graceful[i], &sa, &old_graceful[i]);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    for (int i = 0; i < N_FATAL; i++)
        sigaction(fatal[i], &sa, &old_fatal[i]);
    sa.sa_handler = on_cont;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCONT, &sa, &old_cont);
}

/* A terminfo string, or "" when the terminal has none. */
static const char *cap(const char *name) {
    char *s = tigetstr(name);
    return s && s != (char *)-1 ? s : "";
}

void ui_term_capture_exit_strings(void) {
    const char *rmcup = cap("rmcup"), *cnorm = cap("cnorm"), *sgr0 = cap("sgr0");
    set_exit_seq(sgr0, cnorm, rmcup);
}

void ui_term_end(void) {
    for (int i = 0; i < N_GRACEFUL; i++)
        sigaction(graceful[i], &old_graceful[i], NULL);
    for (int i = 0; i < N_FATAL; i++)
        sigaction(fatal[i], &old_fatal[i], NULL);
    sigaction(SIGCONT, &old_cont, NULL);
    interrupt_flag = NULL;
    have_tio = 0;
    exit_len = 0;
}

int ui_term_quit_signal(void) { return quit_sig; }

int ui_term_take_repaint(void) {
    if (!repaint)
        return 0;
    repaint = 0;
    return 1;
}

void ui_term_stderr_capture(void) {
    FILE *f = tmpfile();
    if (!f)
        return; /* stderr stays where it is: better a smudge than a lost message */
    fflush(stderr);
    int fd = dup(fileno(f));
    fclose(f);
    real_err = fd >= 0 ? dup(STDERR_FILENO) : -1;
    if (fd < 0 || real_err < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (fd >= 0)
            close(fd);
        if (real_err >= 0)
            close(real_err);
        real_err = -1;
        return;
    }
    cap_fd = fd;
}

void ui_term_stderr_release(void) {
    if (cap_fd < 0)
        return;
    fflush(stderr);
    dup2(real_err, STDERR_FILENO);
    char buf[4096];
    ssize_t n;
    if (lseek(cap_fd, 0, SEEK_SET) == 0)
        while ((n = read(cap_fd, buf, sizeof buf)) > 0)
            (void)!write(STDERR_FILENO, buf, (size_t)n);
    close(cap_fd);
    close(real_err);
    cap_fd = real_err = -1;
}

/* ---- the screen ---- */

static SCREEN *screen;
static char old_ctype[64];

int ui_term_screen_start(volatile sig_atomic_t *interrupt, int *utf8, struct pf_err *err) {
    if (screen) {
        pf_err_set(err, PF_ERR_UNSUPPORTED, "a TUI screen is already up");
        return 0;
    }
    snprintf(old_ctype, sizeof old_ctype, "%s", setlocale(LC_CTYPE, NULL));
    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    *utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
    ui_term_begin(interrupt);
    screen = newterm(NULL, stdout, stdin);
    const char *cup = screen ? (set_term(screen), tigetstr("cup")) : NULL;
    if (!cup || cup == (char *)-1) { /* no cursor addressing: not a screen we can draw on */
        if (screen) {
            endwin();
            delscreen(screen);
            screen = NULL;
        }
        ui_term_end();
        setlocale(LC_CTYPE, old_ctype);
        const char *t = getenv("TERM");
        pf_err_set(err, PF_ERR_UNSUPPORTED, "the terminal (TERM=%s) cannot show the TUI",
                   t ? t : "");
        return 0;
    }
    ui_term_capture_exit_strings();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    ui_term_stderr_capture();
    return 1;
}

void ui_term_screen_stop(void) {
    if (!screen)
        return;
    endwin();
    delscreen(screen);
    screen = NULL;
    ui_term_stderr_release();
    ui_term_end();
    setlocale(LC_CTYPE, old_ctype);
}
