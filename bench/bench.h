/* bench.h - helpers shared by the benchmark files (defined in bench_core.c). */
#ifndef PF_BENCH_H
#define PF_BENCH_H

#include "core/backend.h"
#include "util/err.h"

/* The benchmark shapes: BERT-small (4 layers, hidden 256, FFN 1024, 32 x 128 tokens, 4
 * heads) and BERT-base (12 layers, 768, 3072, 16 x 128, 12 heads). */
struct bench_shape {
    const char *name;
    int B, T, C, H, F, layers;
};
extern const struct bench_shape bench_shapes[2];

double bench_now(void);
double bench_median(double *v, int n);
void bench_die_on(pf_status st, const struct pf_err *err);

/* bench_lora.c: one LoRA fine-tuning step (r = 8 on q and v, AdamW) per BERT shape whose
 * name contains `only` (NULL: all), median of reps steps; then the process's peak RSS. */
void bench_lora(struct backend *be, const char *only, int reps);

#endif
