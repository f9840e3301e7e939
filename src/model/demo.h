/* demo.h - a tiny encoder trained end to end on a synthetic task: the core's smoke test.
 *
 * Task: sequences of random tokens after a [CLS] token; the label says whether a marker
 * token occurs in the sequence. Model: token + position embeddings, n_layer encoder blocks
 * (model/block.h), a linear classifier read at [CLS] (cross-entropy with ignore_index on the
 * other positions), AdamW with linear warm-up/decay and global-norm clipping. Everything
 * runs through core/ops.h; used by `bipeft demo` and by the determinism test. */
#ifndef PF_DEMO_H
#define PF_DEMO_H

#include <stdint.h>

#include "core/backend.h"

struct demo_config {
    int n_layer, B, T, C, H, KVH, F, vocab;
    int steps, warmup, log_every;
    float lr, weight_decay, clip;
    uint64_t seed;
};

struct demo_result {
    float first_loss;    /* mean training loss over the first log window */
    float final_loss;    /* mean training loss over the last log window */
    float eval_accuracy; /* accuracy on held-out batches after training */
    uint64_t param_hash; /* FNV-1a over the bytes of every parameter after training */
    double seconds;      /* wall time of the training loop */
};

/* The defaults used by `bipeft demo`: 2 layers, C=32, 4 heads (2 kv heads), 300 steps. */
struct demo_config demo_default_config(void);

/* Progress callback: step (1-based), mean loss over the window, lr of the step. */
typedef void (*demo_log_fn)(void *ctx, int step, float loss, float lr);

/* Train and evaluate. Returns PF_OK and fills res, or an error status with err set. */
pf_status demo_run(struct backend *be, const struct demo_config *cfg, demo_log_fn log, void *ctx,
                   struct demo_result *res, struct pf_err *err);

#endif
