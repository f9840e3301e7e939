/* progress.c - the headless progress line (progress.h). */
#include "train/progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void hms(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0)
        s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

int progress_format(const struct progress *p, double elapsed, int width, char *buf, size_t n) {
    char bar[128], eta[32], el[32], ev[48] = "";
    if (width > (int)sizeof bar - 1)
        width = (int)sizeof bar - 1;
    double frac = p->total > 0 ? (double)p->step / (double)p->total : 0.0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * width + 0.5);
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double rate = elapsed > 0 ? (double)p->step / elapsed : 0.0;
    hms(rate > 0 ? (double)(p->total - p->step) / rate : 0, eta, sizeof eta);
    hms(elapsed, el, sizeof el);
    if (p->has_metric)
        snprintf(ev, sizeof ev, "  dev %s %.4f", p->metric, p->metric_value);
    return snprintf(buf, n, "[%s] %3.0f%%  step %lld/%lld  epoch %d/%d  loss %.4f  lr %.2e  "
                    "%.2f it/s  %s elapsed  ETA %s%s", bar, 100 * frac, (long long)p->step,
                    (long long)p->total, p->epoch + 1, p->epochs, p->loss, (double)p->lr, rate,
                    el, eta, ev);
}

static void draw(struct progress *p, int force_line) {
    if (!p->f)
        return;
    char buf[256];
    double t = progress_now();
    progress_format(p, t - p->t0, 24, buf, sizeof buf);
    if (p->tty) {
        fprintf(p->f, "\r%s\033[K", buf);
        if (force_line)
            fputc('\n', p->f);
    } else {
        fprintf(p->f, "%s\n", buf);
    }
    fflush(p->f);
    p->last_draw = t;
}

void progress_init(struct progress *p, FILE *f, int64_t total, int epochs) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = f && isatty(fileno(f));
    p->total = total;
    p->epochs = epochs;
    p->t0 = progress_now();
    p->loss = NAN;
    p->next_line = total / 10 > 0 ? total / 10 : 1;
}

void progress_step(struct progress *p, int64_t step, int epoch, float loss, float lr) {
    p->step = step;
    p->epoch = epoch;
    p->lr = lr;
    p->loss = isfinite(p->loss) ? 0.9 * p->loss + 0.1 * loss : loss;
    if (!p->f)
        return;
    if (p->tty) {
        if (progress_now() - p->last_draw >= 0.2 || step == p->total)
            draw(p, 0);
    } else if (step >= p->next_line) {
        draw(p, 0);
        while (p->next_line <= step)
            p->next_line += p->total / 10 > 0 ? p->total / 10 : 1;
    }
}

void progress_eval(struct progress *p, const char *metric, double value) {
    snprintf(p->metric, sizeof p->metric, "%s", metric);
    p->metric_value = value;
    p->has_metric = 1;
    draw(p, 0);
}

void progress_done(struct progress *p) {
    if (p->f && p->tty)
        fputc('\n', p->f);
}

void progress_fmt_duration(double s, char *buf, size_t n) {
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, n, "--");
    else if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(fmod(s, 3600) / 60));
    else if (s >= 60)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%.0fs", s);
}
