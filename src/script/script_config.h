/* script_config.h - a run, as validated from a Lua config (a file in configs/) into plain structs.
 *
 * A config is a Lua chunk that returns a table (docs/LUA.md). script_config_load runs it in a
 * fresh sandbox, checks every field once (types, ranges, allowed names; unknown keys are
 * errors) and fills struct run_config, with the defaults below for what the file leaves out.
 * Nothing here checks that files or folders exist: the commands that use them do.
 *
 * Errors read "FILE:LINE: path.in.table: message", e.g.
 *   configs/x.lua:12: space.lora.ranks[2]: expected a positive integer, got "8"
 * LINE is the line where the deepest key of the path is written in the config or one of its
 * includes (a textual search; 1 when the value came from elsewhere, e.g. a builder default).
 *
 * The structs are plain values: no pointers, no ownership, copy them freely. */
#ifndef PF_SCRIPT_CONFIG_H
#define PF_SCRIPT_CONFIG_H

#include <stdint.h>

#include "peft/peft_kind.h"
#include "script/script.h"
#include "util/err.h"

#define CFG_PATH_MAX 512
#define CFG_NAME_MAX 64
#define CFG_LABELS_MAX 64
#define CFG_RANKS_MAX 8
#define CFG_LAYERS_MAX 256
#define CFG_PIN_MAX 64

enum cfg_method { CFG_METHOD_BIPEFT, CFG_METHOD_S3DELTA, CFG_METHOD_MANUAL, CFG_METHOD_RANDOM,
                  CFG_METHOD_FULL };
/* "bipeft", "s3delta", ... by enum cfg_method, NULL-terminated (the config's spelling). */
extern const char *const cfg_method_names[];
/* search.sens_norm, search.weight_rank, search.gate_grad values, by enum (NULL-ended) */
extern const char *const cfg_sens_norm_names[];
extern const char *const cfg_weight_rank_names[];
extern const char *const cfg_gate_grad_names[];
/* The name of m ("bipeft" when out of range). */
const char *cfg_method_name(int m);
enum cfg_order { CFG_ORDER_ALTERNATE, CFG_ORDER_BINARY_THEN_RANK, CFG_ORDER_RANK_THEN_BINARY };

enum cfg_mode { CFG_MODE_SEARCH, CFG_MODE_TRAIN };
enum cfg_family { CFG_FAMILY_AUTO, CFG_FAMILY_BERT, CFG_FAMILY_ROBERTA, CFG_FAMILY_GPT2,
                  CFG_FAMILY_LLAMA };
enum cfg_task_type { CFG_TASK_CLASSIFICATION, CFG_TASK_REGRESSION };
enum cfg_format { CFG_FORMAT_AUTO, CFG_FORMAT_TSV, CFG_FORMAT_CSV, CFG_FORMAT_JSONL };

/* One kind's part of the space. enabled == 0: the kind is not in the space. */
struct cfg_group {
    int enabled;
    unsigned targets;            /* bit (1u << enum cfg_target) per target */
    int n_ranks;                 /* 0 for vector kinds (bitfit, ln, ia3) */
    int ranks[CFG_RANKS_MAX];    /* strictly increasing candidate ranks */
    int all_layers;              /* 1: every layer of the model */
    int n_layers;                /* else: these 0-based layers, strictly increasing */
    int layers[CFG_LAYERS_MAX];
    double alpha;                /* lora: scaling alpha/r; 0 = no scaling (paper) */
    double dropout;              /* lora: dropout on the LoRA input, [0, 1) */
    int reduction;               /* lra: hidden size / reduction = adapter width (32) */
};

struct cfg_space {
    struct cfg_group group[CFG_KIND_COUNT];
};

enum cfg_sched_kind { CFG_SCHED_CONSTANT, CFG_SCHED_LINEAR, CFG_SCHED_COSINE, CFG_SCHED_STEP,
                      CFG_SCHED_CUSTOM };

/* value(t, total), t from 0 (lua/peft/schedule.lua has the formulas). CUSTOM: a Lua function
 * that only the policy state can run (script_policy_tau / _lr). */
struct cfg_schedule {
    enum cfg_sched_kind kind;
    double value;      /* constant */
    double from, to;   /* linear, cosine; step: from */
    int64_t warmup;    /* linear, cosine: units of warm-up from 0 */
    double gamma;      /* step: factor */
    int64_t every;     /* step: units per factor */
};

enum cfg_sens_norm { CFG_NORM_RMAX, CFG_NORM_RANK, CFG_NORM_NONE };
enum cfg_weight_rank { CFG_WRANK_ARGMAX, CFG_WRANK_SAMPLE };

struct run_config {
    char file[CFG_PATH_MAX];     /* the config file as given */
    enum cfg_mode mode;          /* search (default) or train a fixed structure */
    struct {
        char path[CFG_PATH_MAX]; /* HF checkpoint folder (required) */
        enum cfg_family family;  /* auto: from config.json */
        int random_init;         /* init = "random": the checkpoint's shape, its weights
                                    replaced by the HF initialisation from the seed (a control
                                    for what pretraining buys); default "pretrained" */
    } model;
    struct {
        char name[CFG_NAME_MAX];            /* required */
        enum cfg_task_type type;            /* classification (default) / regression */
        enum cfg_format format;             /* auto: from the file extension */
        char train[CFG_PATH_MAX];           /* required */
        char dev[CFG_PATH_MAX], test[CFG_PATH_MAX]; /* optional ("" = none) */
        char text_column[CFG_NAME_MAX];     /* default "sentence" */
        char pair_column[CFG_NAME_MAX];     /* "" = single-text task */
        char label_column[CFG_NAME_MAX];    /* default "label" */
        int n_labels;                       /* 0: read from the data */
        char labels[CFG_LABELS_MAX][CFG_NAME_MAX]; /* label strings in class-id order */
        int max_len;                        /* tokens, default 128 */
        double search_split;                /* share of train for the weight half (0.5) */
    } task;
    struct {
        int64_t params;          /* absolute trainable-parameter budget, or 0 ... */
        double fraction;         /* ... a fraction of the backbone's parameters (0 if params) */
    } budget;
    struct cfg_space space;
    struct {
        double lr, arch_lr;                  /* 3e-4, 0.01 */
        double weight_decay, arch_weight_decay; /* 1e-4, 1e-4 */
        double betas[2], arch_betas[2];      /* (0.9, 0.999), (0.5, 0.999) */
        double eps;                          /* 1e-8 */
        double clip;                         /* global grad-norm clip, 2.0; 0 = off */
        int batch_size;                      /* 32 */
        int epochs;                          /* 15 */
        int grad_accum;                      /* 1 */
    } optim;
    struct {
        struct cfg_schedule lr;      /* factor on optim.lr per step: linear 1 -> 0 */
        struct cfg_schedule arch_lr; /* factor on optim.arch_lr per step: constant 1 */
        struct cfg_schedule tau;     /* Gumbel temperature per epoch: linear 5 -> 1 */
    } schedule;
    struct {
        int stages;                  /* pruning stages K0 (100) */
        double trigger_threshold;    /* mean cosine similarity to fire (0.85) */
        int trigger_window;          /* selections compared (5) */
        double ema;                  /* sensitivity EMA beta (0.85) */
        int prune_begin_epoch;       /* first epoch the trigger may fire (2) */
        int hard_stages;             /* last stages that count hard masks only (10) */
        char criterion[CFG_NAME_MAX]; /* tra_val_cos1 (default), tra, val, tra_val, tra_val_cos2,
                                         gate (|dL/dgate| on both halves) */
        enum cfg_sens_norm sens_norm; /* what a module's score is divided by: rmax (the paper:
                                         its parameters at the largest rank), rank (its exact
                                         cost at the current rank), none */
        enum cfg_weight_rank weight_rank; /* weight steps train the argmax rank (the paper) or
                                             a Gumbel sample of the rank distribution */
        int gate_grad_sampled;       /* 1: a matrix module's on/off logits get gradient only
                                        from steps that sampled it on (the official code) */
        int fill;                    /* 1: after the last stage, pruned modules come back,
                                        most sensitive first, while they fit the budget */
        double stage_span;           /* the default policy spreads the stages over this many
                                        epochs after the first trigger (0: every trigger) */
        int gumbel;                  /* 1: hard Gumbel-softmax; 0: plain softmax (ablation) */
        int iterative;               /* 1: alternate binary and rank steps (BIPEFT) */
        enum cfg_method method;      /* bipeft (default), s3delta, manual, random, full */
        enum cfg_order order;        /* alternate (default), binary_then_rank, rank_then_binary */
        int early_stop;              /* 1: budget-guided early selection (default) */
        double arch_reg;             /* weight of the architecture L1 regulariser (0.01) */
        int64_t checkpoint_every;    /* iterations between checkpoints (50); 0: phase ends only */
        int64_t snapshot_every;      /* iterations between sensitivity snapshots (10), >= 1 */
        int n_pin;                   /* modules never pruned: "L3.lora.q", "final.ln" */
        char pin[CFG_PIN_MAX][CFG_NAME_MAX];
        int retrain;                 /* 1: retrain the found structure after the search */
        int retrain_epochs;          /* 0: optim.epochs */
        int baseline_lora;           /* 1: also train a LoRA structure at the same budget after
                                        the retraining, for comparison (baseline = "lora") */
        double s3delta_beta;         /* s3delta: temperature of the shifted global sigmoid (1) */
        int s3delta_rank;            /* s3delta: rank of matrix modules; 0: each group's
                                        smallest candidate rank */
    } search;
    struct {
        int full;                /* 1: full fine-tuning of every backbone weight (no modules) */
        int head;                /* 1: the task head is trained too (default) */
        int64_t eval_every;      /* steps between dev evaluations; 0: after every epoch */
        int patience;            /* stop after this many evaluations without a better dev
                                    metric; 0: never stop early */
        int max_nan_skips;       /* consecutive non-finite steps that stop the run (5) */
        int skip_bad_rows;       /* count and skip malformed data rows instead of failing */
        int64_t max_steps;       /* optimiser steps at most; 0: the epochs decide */
        int log_every;           /* steps between training-loss metric lines (10) */
        char name[CFG_NAME_MAX]; /* run folder under `session`; "": <task>-<mode>-<time> */
    } train;
    char structure[CFG_PATH_MAX];    /* mode train: a structure file from a search ("": the
                                        whole space at each group's largest rank) */
    uint64_t seed;                   /* 42 */
    int threads;                     /* 0 = all cores */
    char device[CFG_NAME_MAX];       /* "cpu", "cuda", "cuda:N" */
    char session[CFG_PATH_MAX];      /* folder for sessions ("sessions") */
    char policy[CFG_PATH_MAX];       /* "default" or a .lua file (relative to the config) */
};

/* Defaults for everything (required fields left empty). */
void script_config_defaults(struct run_config *cfg);

/* Run `path` in a fresh sandbox with limits lim (NULL: defaults) and validate it into cfg.
 * On failure returns PF_ERR_SCRIPT (or PF_ERR_IO / PF_ERR_NOMEM) with err.msg as above. */
pf_status script_config_load(const char *path, const struct script_limits *lim,
                             struct run_config *cfg, struct pf_err *err);

/* Validate the table on top of S's stack (left there) into cfg; `file` names it in messages.
 * Lines are looked up in the sources S recorded. */
pf_status script_config_from_lua(struct script *S, const char *file, struct run_config *cfg,
                                 struct pf_err *err);

/* The resolved config as JSON text (cJSON, formatted); the caller frees it with free(). */
char *script_config_to_json(const struct run_config *cfg);

/* Push the resolved config onto S's stack as a fresh Lua table (the same shape as the JSON),
 * for policies. Custom schedules get their `fn` from the raw config table at index raw (0:
 * none). Raises only on memory errors: call it under script_call. */
void script_config_push(struct script *S, const struct run_config *cfg, int raw);


#endif
