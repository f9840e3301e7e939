/* search_internal.h - the engine's state, shared by src/search/search_*.c only. */
#ifndef PF_SEARCH_INTERNAL_H
#define PF_SEARCH_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "peft/peft.h"
#include "script/script_config.h"
#include "script/script_policy.h"
#include "search/search.h"
#include "train/train.h"

struct data_loader;
struct search_log;

#define SEARCH_NAME_MAX 48
#define SRANK_MAX (CFG_RANKS_MAX + 1) /* + the joint space's rank 0 */

enum { SSTAGE_BINARY = 0, SSTAGE_RANK = 1 };

/* One candidate module of the supernet. */
struct search_cand {
    char name[SEARCH_NAME_MAX];  /* "L3.lora.q", "final.ln" */
    int pi;                      /* index in the trainer's peft */
    enum cfg_kind kind;
    int layer;
    int n_ranks;                 /* candidate ranks (0: vector module) */
    int ranks[SRANK_MAX];        /* joint space: ranks[0] = 0 */
    int64_t cost[SRANK_MAX];     /* exact parameters at each candidate (vector: cost[0]) */
    int64_t full_cost;           /* at the largest candidate */
    int64_t n_params;            /* parameters stored in the supernet (w.g statistics) */
    /* architecture logits, their gradients and Adam moments */
    double bl[2], bg[2], bm[2], bv[2];                     /* binary: [off, on] */
    double rl[SRANK_MAX], rg[SRANK_MAX], rm[SRANK_MAX], rv[SRANK_MAX]; /* rank */
    /* this step's sample */
    double bsoft[2], rsoft[SRANK_MAX];
    int bhard, rhard;
    double gate, rval[SRANK_MAX]; /* what the modules run with */
    int in_graph_b, in_graph_r;  /* the binary / rank sample carries gradient this step */
    /* state */
    int pruned, pinned, fixed, fixed_idx;
    double sens_i, sens_u;       /* EMA of the score and of its deviation */
    int sens_init;
    double s_val, s_tra, cos_sum; int cos_n; /* this iteration's statistics */
    float *vbuf;                 /* w.g of the architecture step, n_params entries */
    /* dimension stability over the window */
    int64_t win_n;
    double win_mean[SRANK_MAX], win_m2[SRANK_MAX];
    double win_first[SRANK_MAX], win_last[SRANK_MAX];
    double dsi;
    /* S3Delta: keep probability */
    double keep_p;
    double e_cost;               /* expected parameters E_m (spec 4.4) */
};

struct search_pending {
    struct search_request rq[64];
    int n;
};

struct search {
    struct run_config cfg;
    char dir[1024];
    int lock_fd;                 /* the session folder's lock (search_session_lock), or -1 */
    struct backend *be;
    struct trainer t;
    int have_trainer;
    struct script_policy *pol;
    struct search_log *log;
    struct search_sink sinks[SEARCH_MAX_SINKS];
    int n_sinks;
    struct search_opts opts;

    int nc;
    struct search_cand *c;
    int joint;                   /* no-iteration ablation: ranks {0, ...} in one softmax */

    /* data halves */
    int64_t *idx_w, *idx_a;
    int64_t n_w, n_a;
    struct data_loader *ld_w, *ld_a;

    /* progress */
    enum search_phase phase;
    int64_t it;                  /* iterations done */
    int64_t planned;             /* iterations the epoch cap allows */
    int64_t per_epoch;
    int epoch;
    int64_t updates;             /* AdamW updates applied */
    int64_t arch_updates;        /* Adam updates of the logits */
    int flag;                    /* next architecture step's space: SSTAGE_BINARY / RANK */
    int64_t budget;
    int stages_total, stages_left;
    int guard_stages;
    int64_t seq;                 /* last event seq */
    double tau;
    int paused, stop;
    int64_t nan_run, nan_skips;
    double t0, seconds_before;   /* wall clock (not part of decisions) */
    double search_seconds, retrain_seconds;
    double loss_w, loss_a;
    double *loss_hist; int n_loss, cap_loss;
    double *metric_hist; int n_metric, cap_metric;
    int64_t win_count;           /* snapshots in the stability window */
    double global_stab;

    /* the view policies see */
    struct script_module_view *mv;
    double *mv_probs;            /* n_ranks per module */
    char hook_source[24];

    char policy_source[1024];    /* the policy file the session was started from (absolute),
                                    or "default": what SREQ_RELOAD_POLICY reads; meta
                                    policy_source */
    const char *train_label;     /* SEV_TRAIN text while a structure trains ("retrain") */

    struct search_pending pend;
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* signalled by search_request (search_serve waits on it) */

    struct search_result res;
    struct progress_state *pg;
};

/* search_arch.c */
void search_sample(struct search *s, int arch_step, int stage);
pf_status search_apply_sample(struct search *s, struct pf_err *err);
void search_arch_grads(struct search *s);
/* dl += J^T dy for soft = softmax(z), z = scale * (l + noise): the straight-through gradient
 * of a hard sample (scale = 1/tau), or the exact one of a soft sample (scale 1, no noise). */
void search_softmax_back(const double *soft, const double *dy, int n, double scale,
                         double *dl);
void search_arch_update(struct search *s);
void search_init_logits(struct search *s);
int search_cur_rank_idx(const struct search_cand *c);
/* Index of the largest of l[0..n) (the first on ties). */
int search_argmax(const double *l, int n);
void search_s3delta_probs(struct search *s);
void search_set_discrete(struct search *s);

/* search_select.c */
/* The rank distribution of c: one-hot at the fixed rank, else the softmax of the rank logits
 * (c->n_ranks values into p). */
void search_rank_probs(const struct search_cand *c, double *p);
/* The divisor of c's score (search.sens_norm). */
double search_score_norm(enum cfg_sens_norm norm, const struct search_cand *c);
void search_stats_val(struct search *s);
void search_stats_tra(struct search *s);
double search_expected_params(struct search *s, int update_costs);
int64_t search_hard_params(const struct search *s);
void search_window_push(struct search *s);
void search_window_clear(struct search *s);
void search_compute_dsi(struct search *s);
void search_build_view(struct search *s, struct script_search_view *v);
pf_status search_view_act(void *ctx, enum script_verb verb, int module, double value,
                          struct pf_err *err);
pf_status search_act(struct search *s, enum script_verb verb, int module, double value,
                     const char *source, struct pf_err *err);

/* search_stage.c */
/* SEV_FALLBACK events for the policy hooks that failed since the last call (the default
 * policy's hook took over; script_policy_take_fallback), naming the user's policy file. */
void search_report_fallbacks(struct search *s);
pf_status search_hook_trigger(struct search *s, int *fire, struct pf_err *err);
pf_status search_do_stage(struct search *s, int guard, struct pf_err *err);
pf_status search_hook_step(struct search *s, int *stop, struct pf_err *err);
pf_status search_guard_fit(struct search *s, struct pf_err *err);
void search_fill(struct search *s);

/* search_engine.c: events, meta, interventions */
void search_emit(struct search *s, struct search_event *ev);
void search_event_init(const struct search *s, struct search_event *ev,
                       enum search_event_type type, const char *source);
/* The label runs carry: the method plus what an ablation changed ("bipeft-noiter"). */
void search_method_label(const struct run_config *c, char *buf, size_t n);
/* An event of type t whose text is `text` (phase names, errors). */
void search_emit_text(struct search *s, enum search_event_type t, const char *source,
                      const char *text);
/* The session log's meta (key, value). */
pf_status search_set_meta(struct search *s, const char *k, const char *v, struct pf_err *err);
pf_status search_set_meta_num(struct search *s, const char *k, double v, struct pf_err *err);
/* Apply the requests waiting since the last step boundary; 1 when any was applied. */
int search_drain_requests(struct search *s);

/* search_open.c: set-up */
/* 1 for the methods that search (BIPEFT, S3Delta-style), 0 for fixed structures. */
int search_method_searches(const struct run_config *c);
/* 1 when the budget-guided early selection runs (BIPEFT, early_stop, not the joint ablation). */
int search_selective(const struct search *s);

/* search_loop.c */
/* A sensitivity snapshot: one event per candidate. */
void search_emit_snapshot(struct search *s);

/* search_retrain.c */
/* The structure found, trained from scratch into DIR/retrain (best dev epoch, test). */
pf_status search_retrain(struct search *s, struct pf_err *err);
/* search.baseline = "lora": LoRA at the same budget into DIR/baseline-lora. */
pf_status search_baseline_lora(struct search *s, struct pf_err *err);
/* DIR/summary.json from s->res. */
pf_status search_write_summary(struct search *s, struct pf_err *err);

/* search_ckpt.c */
pf_status search_ckpt_write(struct search *s, struct pf_err *err);
/* Read DIR/<file> (checkpoint.bin or checkpoint.prev.bin). */
pf_status search_ckpt_read(struct search *s, const char *file, int64_t *seq,
                           struct pf_err *err);
/* Remove leftover temporary files of writes killed before their rename. */
void search_ckpt_cleanup(const struct search *s);

/* search_structure.c */
pf_status search_derive(struct search *s, struct peft_spec **out, int *n, struct pf_err *err);
pf_status search_manual_structure(struct search *s, struct peft_spec **out, int *n,
                                  struct pf_err *err);
pf_status search_random_structure(struct search *s, struct peft_spec **out, int *n,
                                  struct pf_err *err);
int64_t search_structure_params(const struct search *s, const struct peft_spec *sp, int n);

#endif
