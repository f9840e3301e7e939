/* train.h - fine-tuning a fixed structure: `bipeft train CONFIG.lua`, the baselines of the
 * search, and the search's retraining step.
 *
 *   trainer_open   config -> model (sequence-classification head), tokenizer, data splits
 *                  (built-in GLUE/SuperGLUE layouts or the config's columns), tokenised sets
 *   trainer_build  the modules (a structure, a config space at its largest ranks, or full
 *                  fine-tuning) and the list of trainable tensors with their AdamW moments
 *   trainer_fit    epochs of AdamW with the config's LR schedule (warm-up + decay), gradient
 *                  clipping, gradient accumulation, dev evaluation every N steps or epoch,
 *                  early stopping on the task's first metric, the best weights kept (in
 *                  memory and as DIR/adapter.safetensors), test scoring with the best weights
 *   trainer_eval   metrics of the current weights on a tokenised set
 *
 * Non-finite numbers: a step whose loss or gradient norm is NaN/Inf is skipped before any
 * parameter or moment changes (they stay bitwise as they were), logged as a "nan_skip" line
 * and counted; `train.max_nan_skips` skips in a row stop the run with PF_ERR_NUMERIC
 * ("diverged"). Step counting: `step` counts every batch taken (the LR schedule advances on
 * skipped steps too); AdamW's bias-correction count advances only on applied updates.
 * Nothing non-finite is ever saved (run_dir.h). */
#ifndef PF_TRAIN_H
#define PF_TRAIN_H

#include <signal.h>

#include <stdint.h>
#include <stdio.h>

#include "data/data.h"
#include "model/model.h"
#include "peft/peft.h"
#include "script/script_config.h"
#include "train/run_dir.h"

struct tokenizer;

struct train_param {
    char name[112];         /* native or HF name */
    struct tensor *p, *g;   /* value and gradient (borrowed from the model or the modules) */
    struct tensor m, v;     /* AdamW moments (owned) */
    int decay;              /* weight decay applies */
    int module;             /* a PEFT module's tensor (peft_zero_grad zeroes its gradient) */
};

struct train_result {
    int64_t steps;          /* batches taken */
    int64_t updates;        /* optimiser updates applied */
    int64_t nan_skips;      /* steps skipped for non-finite loss or gradients */
    int epochs;             /* epochs started */
    int stopped_early;      /* patience ran out */
    int diverged;           /* max_nan_skips in a row */
    int interrupted;        /* *trainer.interrupt was set: stopped at a step boundary, nothing
                               written but metrics.jsonl (no adapter, no summary) */
    int has_dev, has_test, has_test2;
    double best_dev;        /* best value of the primary metric on dev */
    int64_t best_step;
    double dev[METRIC_COUNT], test[METRIC_COUNT], test2[METRIC_COUNT]; /* NaN: not computed */
    double seconds;
    double final_loss;      /* mean training loss of the last log window */
    int64_t trainable;      /* trainable parameters (modules + head, or everything) */
    int64_t module_params;  /* the modules' parameters at their ranks */
};

/* What trainer_fit reports to an observer (trainer.on_progress): after every optimiser update
 * (dev NaN) and after every dev evaluation (dev = the primary metric). */
struct train_progress {
    int64_t step;           /* optimiser updates done */
    int64_t total;          /* updates planned */
    int epoch;              /* 0-based */
    double loss;            /* running (exponential moving average) training loss */
    double dev;             /* primary dev metric of this evaluation; NaN after an update */
};

struct trainer {
    struct run_config cfg;
    struct backend *be;          /* borrowed */
    struct model m;
    struct peft p;
    struct tokenizer *tok;
    struct data_task task;
    struct data_splits sp;
    struct data_encoded enc[4];  /* train, dev, test, test2 */
    int64_t skipped_rows;
    int head_reinitialised;      /* head tensors of another label count, initialised anew */
    int32_t pad_id;              /* padding id of batches: config.json's pad_token_id (what
                                    the head's last-token rule reads), else the tokenizer's */
    int n_tp;
    struct train_param *tp;
    int full;
    int quiet;                   /* no progress on stderr */
    volatile sig_atomic_t *interrupt; /* optional: when it becomes nonzero, trainer_fit stops
                                    at the next step boundary (Ctrl-C of a search's retraining) */
    FILE *log;                   /* DIR/metrics.jsonl while fitting (NULL: none) */
    /* optional observer of trainer_fit (the search's retraining events); must not touch the
     * trainer. NULL: none */
    void (*on_progress)(void *ctx, const struct train_progress *p);
    void *progress_ctx;
    /* test hooks (reliability case 25): at these steps (1-based; 0 = never) the gradient of
     * the first trainable tensor gets a NaN, the loss becomes +Inf, or the logits 1e30 */
    int64_t debug_nan_grad_step, debug_inf_loss_step, debug_huge_logits_step;
    int opened, built;
};

enum { TE_TRAIN, TE_DEV, TE_TEST, TE_TEST2 };

/* Load the config's model, tokenizer and data. On failure everything is released. */
pf_status trainer_open(struct trainer *t, const struct run_config *cfg, struct backend *be,
                       struct pf_err *err);
void trainer_close(struct trainer *t);

/* Attach modules (n specs; none with full) and collect the trainable tensors. */
pf_status trainer_build(struct trainer *t, const struct peft_spec *specs, int n, int full,
                        struct pf_err *err);

/* Specs for every module of a config space at its largest rank (one per kind, target and
 * layer; layers beyond the model are an error naming the group). Caller frees *out. */
pf_status train_space_specs(const struct run_config *cfg, const struct model *m,
                            struct peft_spec **out, int *n, struct pf_err *err);

/* Train; writes DIR/metrics.jsonl, DIR/adapter.safetensors (best), DIR/summary.json. */
pf_status trainer_fit(struct trainer *t, const char *dir, struct train_result *r,
                      struct pf_err *err);

/* Metrics of the current weights on enc[which] (all entries NaN for the metrics the task does
 * not use). *loss gets the mean loss when not NULL. */
pf_status trainer_eval(struct trainer *t, int which, double out[METRIC_COUNT], double *loss,
                       struct pf_err *err);

/* The loss of batch b from the model's last logits: mean cross-entropy, or MSE for
 * regression; dlogits (like the logits, or NULL) gets its gradient. */
pf_status train_batch_loss(struct trainer *t, const struct data_batch *b, float *loss,
                           struct tensor *dlogits, struct pf_err *err);

/* The pieces of one step, shared with the search engine (search/):
 *   trainer_zero_grads    every trainable gradient (module gates and masks included) to 0
 *   trainer_micro_step    forward + backward of batch b, gradients scaled by `scale` and
 *                         accumulated; *loss may come back non-finite (nothing useful was
 *                         accumulated then: skip the step); `step` (1-based) drives the
 *                         debug hooks
 *   trainer_apply_update  clip the global norm (optim.clip) and AdamW every tensor at `lr`
 *                         with bias-correction count adam_step; PF_ERR_NUMERIC, touching
 *                         nothing, when the norm is not finite */
pf_status trainer_zero_grads(struct trainer *t, struct pf_err *err);
pf_status trainer_micro_step(struct trainer *t, const struct data_batch *b, float scale,
                             int64_t step, float *loss, struct pf_err *err);
pf_status trainer_apply_update(struct trainer *t, float lr, int adam_step, double *norm,
                               struct pf_err *err);

/* The run folder's run.json for this trainer. */
void trainer_run_info(const struct trainer *t, struct run_info *ri);
/* DIR/config.json, DIR/run.json and (unless full) DIR/structure.json, each atomically. */
pf_status trainer_write_run_files(const struct trainer *t, const char *dir, struct pf_err *err);

#endif
