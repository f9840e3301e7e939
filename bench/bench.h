/* bench.h - helpers shared by the benchmark files (defined in bench_core.c). */
#ifndef PF_BENCH_H
#define PF_BENCH_H

#include "core/backend.h"
#include "util/err.h"

double bench_now(void);
double bench_median(double *v, int n);
void bench_die_on(pf_status st, const struct pf_err *err);

/* bench_lora.c: one LoRA fine-tuning step (r = 8 on q and v, AdamW) per BERT shape whose
 * name contains `only` (NULL: all), median of reps steps; then the process's peak RSS. */
void bench_lora(struct backend *be, const char *only, int reps);

#endif
