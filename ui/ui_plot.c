/* ui_plot.c - scaling, bucketing and braille / ASCII rendering of series (ui_plot.h). No
 * curses and no locale: the caller says whether UTF-8 may be written. */
#include "ui_plot.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util/xalloc.h"

/* ---- canvas ---- */

void ui_canvas_init(struct ui_canvas *c, int w, int h, int utf8) {
    memset(c, 0, sizeof *c);
    c->ref_dot = -1;
    c->utf8 = utf8;
    c->sw = utf8 ? 2 : 1;
    c->sh = utf8 ? 4 : 1;
    if (w <= 0 || h <= 0)
        return;
    c->w = w;
    c->h = h;
    c->dw = w * c->sw;
    c->dh = h * c->sh;
    c->dot = xcalloc((size_t)c->dw * (size_t)c->dh, 1);
}

void ui_canvas_free(struct ui_canvas *c) {
    xfree(c->dot);
    c->dot = NULL;
    c->w = c->h = c->dw = c->dh = 0;
    c->ref_dot = -1;
}

void ui_canvas_set(struct ui_canvas *c, int x, int y, int kind) {
    if (x < 0 || y < 0 || x >= c->dw || y >= c->dh)
        return;
    unsigned char *d = &c->dot[(size_t)y * (size_t)c->dw + (size_t)x];
    if (*d == 0 || kind < *d)
        *d = (unsigned char)kind;
}

/* ---- scaling ---- */

int ui_plot_range(const double *y, int n, double margin, double *lo, double *hi) {
    double mn = INFINITY, mx = -INFINITY;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(y[i])) {
            mn = y[i] < mn ? y[i] : mn;
            mx = y[i] > mx ? y[i] : mx;
            k++;
        }
    if (k == 0) {
        *lo = 0;
        *hi = 1;
    } else if (mx == mn) {
        double pad = mn != 0 ? fabs(mn) * 0.1 : 1;
        *lo = mn - pad;
        *hi = mx + pad;
    } else {
        double pad = (mx - mn) * margin;
        *lo = mn - pad;
        *hi = mx + pad;
    }
    return k;
}

void ui_plot_include(double *lo, double *hi, double v) {
    if (!isfinite(v))
        return;
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

int ui_plot_scale(double v, double lo, double hi, int rows) {
    if (rows <= 0 || isnan(v))
        return -1;
    if (!(hi > lo) || !isfinite(hi - lo))
        return (rows - 1) / 2;
    double t = (hi - v) / (hi - lo) * (rows - 1);
    if (t < 0)
        return 0;
    if (t > rows - 1)
        return rows - 1;
    return (int)lround(t);
}

int ui_plot_buckets(const double *y, int n, int cols, double *bmin, double *bmax) {
    if (n <= 0 || cols <= 0)
        return 0;
    if (n <= cols) {
        for (int i = 0; i < n; i++)
            bmin[i] = bmax[i] = y[i];
        return n;
    }
    for (int c = 0; c < cols; c++) {
        int a = (int)((int64_t)c * n / cols), b = (int)((int64_t)(c + 1) * n / cols);
        double mn = NAN, mx = NAN;
        for (int i = a; i < b; i++)
            if (isfinite(y[i])) {
                mn = isnan(mn) || y[i] < mn ? y[i] : mn;
                mx = isnan(mx) || y[i] > mx ? y[i] : mx;
            }
        bmin[c] = mn;
        bmax[c] = mx;
    }
    return cols;
}

/* ---- drawing ---- */

/* Spread k < cols points over cols columns (point i at i*(cols-1)/(k-1)), interpolating
 * linearly between neighbours that are both finite. */
static void spread(const double *v, int k, int cols, double *out) {
    for (int x = 0; x < cols; x++)
        out[x] = NAN;
    if (k == 1) {
        out[0] = v[0];
        return;
    }
    for (int i = 0; i + 1 < k; i++) {
        int x0 = (int)((int64_t)i * (cols - 1) / (k - 1));
        int x1 = (int)((int64_t)(i + 1) * (cols - 1) / (k - 1));
        out[x0] = v[i];
        out[x1] = v[i + 1];
        if (!isfinite(v[i]) || !isfinite(v[i + 1]))
            continue;
        for (int x = x0 + 1; x < x1; x++)
            out[x] = v[i] + (v[i + 1] - v[i]) * (double)(x - x0) / (double)(x1 - x0);
    }
}

void ui_plot_series(struct ui_canvas *c, const double *y, int n, double lo, double hi) {
    if (c->dw <= 0 || n <= 0)
        return;
    double *mn = xmalloc((size_t)c->dw * sizeof *mn), *mx = xmalloc((size_t)c->dw * sizeof *mx);
    int k = ui_plot_buckets(y, n, c->dw, mn, mx);
    if (k < c->dw) {
        double *tmp = xmalloc((size_t)k * sizeof *tmp);
        memcpy(tmp, mn, (size_t)k * sizeof *tmp);
        spread(tmp, k, c->dw, mn);
        memcpy(mx, mn, (size_t)c->dw * sizeof *mx);
        xfree(tmp);
    }
    int ptop = -1, pbot = -1; /* previous column's dot rows, -1 after a gap */
    for (int x = 0; x < c->dw; x++) {
        if (isnan(mn[x]) || isnan(mx[x])) {
            ptop = pbot = -1;
            continue;
        }
        int top = ui_plot_scale(mx[x], lo, hi, c->dh), bot = ui_plot_scale(mn[x], lo, hi, c->dh);
        for (int r = top; r <= bot; r++)
            ui_canvas_set(c, x, r, 1);
        if (ptop >= 0) { /* join the previous column with a vertical run in this one */
            for (int r = bot + 1; r < ptop; r++)
                ui_canvas_set(c, x, r, 2);
            for (int r = pbot + 1; r < top; r++)
                ui_canvas_set(c, x, r, 2);
        }
        ptop = top;
        pbot = bot;
    }
    xfree(mn);
    xfree(mx);
}

void ui_plot_ref(struct ui_canvas *c, double v, double lo, double hi) {
    c->ref_dot = isfinite(v) ? ui_plot_scale(v, lo, hi, c->dh) : -1;
}

/* ---- text ---- */

int ui_braille(unsigned bits, char *out) {
    unsigned cp = 0x2800 + (bits & 0xff);
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Braille bit of dot (dx, dy) inside a cell (dx 0..1, dy 0..3). */
static unsigned braille_bit(int dx, int dy) {
    static const unsigned bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    return bit[dy][dx];
}

int ui_canvas_cell(const struct ui_canvas *c, int x, int y, char *out) {
    strcpy(out, " ");
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return 0;
    unsigned bits = 0, kinds = 0;
    for (int dy = 0; dy < c->sh; dy++)
        for (int dx = 0; dx < c->sw; dx++) {
            unsigned char d = c->dot[(size_t)(y * c->sh + dy) * (size_t)c->dw +
                                     (size_t)(x * c->sw + dx)];
            if (d) {
                bits |= braille_bit(dx, dy);
                kinds |= 1u << d;
            }
        }
    int ref = c->ref_dot >= 0 && c->ref_dot / c->sh == y;
    if (!bits && !ref)
        return 0;
    if (!c->utf8) {
        strcpy(out, kinds & 2 ? "*" : kinds & 4 ? "|" : ".");
        return bits ? 1 : 2;
    }
    if (ref)
        for (int dx = 0; dx < 2; dx++)
            bits |= braille_bit(dx, c->ref_dot % 4);
    out[ui_braille(bits, out)] = '\0';
    return kinds ? 1 : 2;
}

void ui_canvas_row(const struct ui_canvas *c, int y, char *buf, size_t n) {
    size_t o = 0;
    if (n == 0)
        return;
    for (int x = 0; x < c->w; x++) {
        char cell[8];
        ui_canvas_cell(c, x, y, cell);
        size_t l = strlen(cell);
        if (o + l >= n)
            break;
        memcpy(buf + o, cell, l);
        o += l;
    }
    buf[o] = '\0';
}

/* Append s (len bytes) to out when it fits. */
static void append(char *out, size_t outsz, size_t *o, const char *s, size_t len) {
    if (*o + len < outsz) {
        memcpy(out + *o, s, len);
        *o += len;
    }
    out[*o < outsz ? *o : outsz - 1] = '\0';
}

void ui_spark(const double *y, int n, int width, int utf8, char *out, size_t outsz) {
    static const char *const blocks[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = " .:-=+*#";
    size_t o = 0;
    if (outsz == 0)
        return;
    out[0] = '\0';
    int k = n < width ? n : width;
    if (k <= 0)
        return;
    const double *v = y + (n - k);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < k; i++)
        if (isfinite(v[i])) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
    for (int i = 0; i < k; i++) {
        int lv = 3;
        if (!isfinite(v[i])) {
            append(out, outsz, &o, " ", 1);
            continue;
        }
        if (hi > lo)
            lv = (int)lround((v[i] - lo) / (hi - lo) * 7);
        lv = lv < 0 ? 0 : lv > 7 ? 7 : lv;
        if (utf8)
            append(out, outsz, &o, blocks[lv], strlen(blocks[lv]));
        else
            append(out, outsz, &o, &ascii[lv], 1);
    }
}

void ui_bar(double frac, int width, int utf8, char *out, size_t outsz) {
    static const char *const eighths[8] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    size_t o = 0;
    if (outsz == 0)
        return;
    out[0] = '\0';
    if (!(frac > 0))
        frac = 0;
    if (frac > 1)
        frac = 1;
    if (width <= 0)
        return;
    if (!utf8) {
        int fill = (int)lround(frac * width);
        for (int i = 0; i < width; i++)
            append(out, outsz, &o, i < fill ? "#" : ".", 1);
        return;
    }
    int e = (int)lround(frac * width * 8), full = e / 8, part = e % 8;
    for (int i = 0; i < width; i++) {
        const char *s = i < full ? "█" : i == full && part ? eighths[part] : " ";
        append(out, outsz, &o, s, strlen(s));
    }
}
