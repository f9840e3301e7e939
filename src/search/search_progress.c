/* search_progress.c - the headless sink: one progress line on stderr with a bar, the
 * iteration, the stage, the expected parameters against the budget, the losses and an ETA;
 * redrawn in place on a terminal (at most 5 times a second), a full line every 10 % and at
 * each phase otherwise. Decisions (prune, fix, pin, refusals, errors) are printed as lines
 * of their own only with `verbose`. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "search/search_progress.h"
#include "train/progress.h"


int search_progress_format(const struct search_event *ev, char *buf, size_t n) {
    int width = 24;
    double frac = ev->n > 0 ? (double)ev->step / (double)ev->n : 0;
    if (frac > 1)
        frac = 1;
    char bar[64];
    int fill = (int)(frac * width + 0.5);
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double eta = frac > 0 ? ev->seconds * (1 - frac) / frac : -1;
    char t[16];
    progress_fmt_duration(eta, t, sizeof t);
    return snprintf(buf, n, "search [%s] %3.0f%% it %lld/%lld ep %d stages left %d  E %.0f / "
                    "B %.0f  loss %.4f/%.4f  tau %.2f  ETA %s (upper bound)",
                    bar, frac * 100, (long long)ev->step, (long long)ev->n, ev->epoch,
                    ev->stage, ev->expected, ev->value, ev->loss_w, ev->loss_a, ev->tau, t);
}

static void line_end(struct search_progress *p) {
    if (p->tty && p->drawn) {
        fputc('\n', p->f);
        p->drawn = 0;
    }
}

static void emit(void *ctx, const struct search_event *ev) {
    struct search_progress *p = ctx;
    char buf[512];
    double now = progress_now();
    switch (ev->type) {
    case SEV_STEP: {
        int last = ev->step >= ev->n;
        int decile = ev->n > 0 ? (int)(10 * ev->step / ev->n) : 0;
        if (p->tty) {
            if (!last && now - p->last_draw < 0.2)
                return;
            search_progress_format(ev, buf, sizeof buf);
            fprintf(p->f, "\r%s\033[K", buf);
            p->drawn = 1;
        } else {
            if (decile <= p->decile && !last)
                return;
            p->decile = decile;
            search_progress_format(ev, buf, sizeof buf);
            fprintf(p->f, "%s\n", buf);
        }
        p->last_draw = now;
        break;
    }
    case SEV_PHASE:
        line_end(p);
        if (!strcmp(ev->text, "retrain") || !strcmp(ev->text, "baseline"))
            fprintf(p->f, "bipeft: %s: phase %s (after step %lld; a structure of %lld "
                    "parameters)\n", p->name, ev->text, (long long)ev->step,
                    (long long)ev->value);
        else
            fprintf(p->f, "bipeft: %s: phase %s (step %lld, %lld parameters now)\n", p->name,
                    ev->text, (long long)ev->step, (long long)ev->current);
        break;
    case SEV_STAGE:
        p->stages++;
        break;
    case SEV_EVAL:
        if (p->verbose) {
            line_end(p);
            fprintf(p->f, "bipeft: %s: epoch %d dev %s %.4f\n", p->name, ev->epoch, ev->text,
                    ev->value);
        }
        break;
    case SEV_PRUNE: case SEV_FIX: case SEV_PIN: case SEV_UNPIN: case SEV_BUDGET:
    case SEV_RESTORE:
        if (!p->verbose && strcmp(ev->source, "user") && strcmp(ev->source, "config"))
            break;
        line_end(p);
        fprintf(p->f, "bipeft: %s: %s %s%s (%s)\n", p->name, search_event_name(ev->type),
                ev->text, ev->type == SEV_FIX ? "" : "", ev->source);
        break;
    case SEV_REFUSED: case SEV_ERROR: case SEV_LOG: case SEV_FALLBACK:
        line_end(p);
        fprintf(p->f, "bipeft: %s: %s (%s): %s\n", p->name, search_event_name(ev->type),
                ev->source, ev->text);
        break;
    case SEV_DONE:
        line_end(p);
        break;
    default:
        break;
    }
    fflush(p->f);
}

void search_progress_init(struct search_progress *p, FILE *f, const char *name, int verbose) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = f && isatty(fileno(f));
    p->verbose = verbose;
    p->decile = -1;
    snprintf(p->name, sizeof p->name, "%s", name);
}

void search_progress_sink(struct search_progress *p, struct search_sink *out) {
    out->emit = emit;
    out->ctx = p;
}
