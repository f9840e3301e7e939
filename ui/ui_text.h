/* ui_text.h - text helpers of the TUI (pure, no curses): escaping of untrusted bytes and short
 * number and duration formats. Every string that comes from outside the UI (model and task
 * names, event texts, policy logs) goes through ui_text_escape before it reaches the screen. */
#ifndef UI_TEXT_H
#define UI_TEXT_H

#include <stddef.h>

/* Copy src into dst (size n >= 1, always NUL-terminated): printable ASCII (0x20..0x7e) as is,
 * every other byte (controls, DEL, any byte >= 0x80) as "\xNN" (lower-case hex). A byte is
 * never cut in half: an escape that does not fit is left out. Returns strlen(dst). src NULL
 * is the empty string. */
size_t ui_text_escape(char *dst, size_t n, const char *src);

/* A count in at most 6 characters: 999, 1.23k, 45.6k, 5.30M, 1.2G; "--" for NaN or
 * negative infinity. */
void ui_fmt_count(double v, char *buf, size_t n);

/* A duration: 42s, 3m07s, 2h05m; "--" when negative, NaN or over 10^7 s. */
void ui_fmt_duration(double seconds, char *buf, size_t n);

#endif
