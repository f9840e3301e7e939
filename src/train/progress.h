/* progress.h - headless progress on stderr: a bar, the step, epoch, loss, learning rate,
 * rate and ETA, and the last dev metric. On a terminal the line is redrawn in place (at most
 * 5 times a second); otherwise (logs, CI) a full line is printed every 10 % and after each
 * evaluation. progress_format is pure, for tests. */
#ifndef PF_PROGRESS_H
#define PF_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
    FILE *f;            /* NULL: silent */
    int tty;
    int64_t total, step;
    int epochs, epoch;
    double t0, last_draw;
    double loss;        /* exponential moving average of the step losses */
    float lr;
    char metric[24];
    double metric_value;
    int has_metric;
    int64_t next_line;  /* non-tty: step of the next printed line */
};

/* A duration for people: 42s, 3m07s, 2h05m; "--" when negative, NaN or over 10^7 s. */
void progress_fmt_duration(double seconds, char *buf, size_t n);

/* Seconds on the monotonic clock. */
double progress_now(void);

void progress_init(struct progress *p, FILE *f, int64_t total, int epochs);
void progress_step(struct progress *p, int64_t step, int epoch, float loss, float lr);
void progress_eval(struct progress *p, const char *metric, double value);
void progress_done(struct progress *p);

/* The line for the state of p at `elapsed` seconds, bar `width` cells wide. */
int progress_format(const struct progress *p, double elapsed, int width, char *buf, size_t n);

#endif
