/* ui_term.h - the terminal around the TUI: saving and restoring its modes, signal handlers,
 * and stderr kept off the screen while curses owns it (reliability cases 27 and 28).
 *
 * Graceful signals (SIGINT, SIGTERM, SIGHUP) set the search's interrupt flag and are
 * reported to the UI loop (ui_term_quit_signal); a second one restores the terminal and
 * exits with 130 at once. Fatal signals (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGQUIT) restore
 * the terminal with async-signal-safe calls only (tcsetattr with the saved modes, write of
 * the terminal's exit sequences), copy what stderr captured to the real stderr, then
 * re-raise with the default action. SIGCONT asks the loop to repaint (ui_term_take_repaint).
 * SIGTSTP and SIGWINCH are left to ncurses. */
#ifndef UI_TERM_H
#define UI_TERM_H

#include <signal.h>

/* Before the screen starts: save the terminal's modes (stdin) and install the handlers. */
void ui_term_begin(volatile sig_atomic_t *interrupt);
/* After the screen started: remember the terminfo strings that leave the screen (rmcup,
 * cnorm, sgr0; ANSI fallbacks) for the fatal-signal path. */
void ui_term_capture_exit_strings(void);
/* After endwin: the previous handlers back. */
void ui_term_end(void);

/* The graceful signal received (0: none). */
int ui_term_quit_signal(void);
/* 1 once after each SIGCONT. */
int ui_term_take_repaint(void);

/* Send stderr (fd 2) to an anonymous temporary file while the screen is up. */
void ui_term_stderr_capture(void);
/* Put stderr back and copy there what was captured. */
void ui_term_stderr_release(void);

#endif
