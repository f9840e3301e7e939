/* ui_text.c - escaping and short formats for the TUI. Pure functions; no curses, no locale:
 * the escaping is byte-wise on purpose, so that a name in any encoding shows the same way
 * on every terminal (reliability case 28). */
#include "ui_text.h"

#include "train/progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t ui_text_escape(char *dst, size_t n, const char *src) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)(src ? src : ""); *p; p++) {
        if (*p >= 0x20 && *p < 0x7f) {
            if (o + 1 >= n)
                break;
            dst[o++] = (char)*p;
        } else {
            if (o + 4 >= n)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[*p >> 4];
            dst[o++] = hex[*p & 15];
        }
    }
    dst[o] = '\0';
    return o;
}

void ui_fmt_count(double v, char *buf, size_t n) {
    double a = fabs(v);
    if (isnan(v) || isinf(v))
        snprintf(buf, n, "--");
    else if (a < 1000)
        snprintf(buf, n, "%.0f", v);
    else if (a < 1e4)
        snprintf(buf, n, "%.2fk", v / 1e3);
    else if (a < 1e6)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else if (a < 1e9)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else
        snprintf(buf, n, "%.1fG", v / 1e9);
}

void ui_fmt_duration(double s, char *buf, size_t n) { progress_fmt_duration(s, buf, n); }
