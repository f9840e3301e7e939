/* schedule.c - built-in schedules (schedule.h). tests/test_train.c compares them with
 * lua/peft/schedule.lua's eval on the same tables. */
#include "train/schedule.h"

#include <math.h>

double sched_eval(const struct cfg_schedule *s, double t, double total) {
    switch (s->kind) {
    case CFG_SCHED_CONSTANT:
        return s->value;
    case CFG_SCHED_STEP:
        return s->from * pow(s->gamma, floor(t / (double)s->every));
    case CFG_SCHED_LINEAR: case CFG_SCHED_COSINE: {
        double w = (double)s->warmup;
        if (t < w)
            return s->from * t / w;
        double span = total - w, p = span > 0 ? (t - w) / span : 1.0;
        if (p > 1)
            p = 1;
        if (s->kind == CFG_SCHED_LINEAR)
            return s->from + (s->to - s->from) * p;
        return s->to + (s->from - s->to) * 0.5 * (1 + cos(3.14159265358979323846 * p));
    }
    default:
        return NAN;
    }
}
