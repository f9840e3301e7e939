/* ui_model.h - the TUI's own picture of a search, fed only by engine events (pure: no curses,
 * no engine state). ui_model_apply folds one event in; the drawing code reads the fields.
 *
 * What it keeps:
 *   header   task, model, device, method and metric names (the caller fills these from the
 *            config or the session, before the first event), progress and losses of the last
 *            STEP, stage k/K, the last dev metric, budget, E, hard params, time, ETA, phase;
 *            the ETA comes from the step rate since the first STEP event this model saw (so
 *            set-up time and time spent paused do not count);
 *   training the run after the search (SEV_TRAIN: the retraining, "retrain", or the LoRA
 *            baseline, "baseline"): its own updates done / planned, epoch, running loss, the
 *            dev metric of its last evaluation and an ETA from its own rate. Train events
 *            never touch the search's step and epoch;
 *   modules  one per candidate, by the engine's index: state (pruned, pinned, fixed rank),
 *            the last snapshot (sensitivity EMA, DSI, rank, P(on), E_m, rank probabilities)
 *            and rings of the last UI_HIST snapshots for the detail view, plus the name's
 *            layer / kind / position that place it on the map (layers x kind.position). A
 *            DSI not computed yet (before the first pruning stage, or the engine's sentinel
 *            UI_DSI_UNSET) is NaN, shown as "--" and left out of the DSI history and the
 *            stability series;
 *   series   E per step, E after each stage, the two losses, the dev metric and the mean DSI
 *            of the unfixed, unpruned modules per snapshot (for the plots);
 *   log      the last UI_LOG_MAX decisions, refusals, errors, policy lines, phases and the
 *            user's own actions (ui_model_log).
 * Event types this file does not know (a newer engine) are ignored. */
#ifndef UI_MODEL_H
#define UI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "search/search_event.h"

#define UI_NAME_MAX 64
#define UI_RANKS_MAX 8
#define UI_HIST 64
#define UI_SERIES_MAX 1024
#define UI_LOG_MAX 256
#define UI_LOG_TEXT 200
/* The engine's DSI of a module it has no DSI for (search_compute_dsi in
 * src/search/search_select.c: no candidate ranks, fixed, pruned, or fewer than 2 snapshots in
 * the stability window); before the first stage it reports 0 (never computed). */
#define UI_DSI_UNSET 999.0

/* The last UI_HIST values pushed. */
struct ui_ring {
    int n, head;
    float v[UI_HIST];
};
void ui_ring_push(struct ui_ring *r, double v);
/* Copy up to max values, oldest first, into out; returns how many. */
int ui_ring_get(const struct ui_ring *r, double *out, int max);

/* Points (x, y) of a plot. When UI_SERIES_MAX are held, every other one is dropped and from
 * then on only every `stride`-th push is kept, so a long run still fits, evenly thinned. */
struct ui_series {
    int n;
    int64_t stride, skipped;
    double x[UI_SERIES_MAX], y[UI_SERIES_MAX];
};
void ui_series_push(struct ui_series *s, double x, double y);

struct ui_module {
    char name[UI_NAME_MAX];
    int layer;                 /* L3.lora.q: 3; -1 outside the layers (final.ln) */
    char kind[16];             /* "lora", "bitfit", "ln", "lra" ... */
    char pos[UI_NAME_MAX];     /* "q", "attn"; outside the layers what precedes the kind */
    int seen;                  /* a snapshot has reported it */
    int pruned, pinned, fixed; /* fixed: its rank is final */
    int rank;                  /* current (argmax or fixed) rank, 0: none */
    double sens, dsi, p_on;    /* sensitivity EMA, DSI stability, P(on) */
    double cost, full_cost;    /* expected cost E_m, parameters at the largest rank */
    int n_ranks;               /* rank probabilities known (0 until a snapshot has them) */
    int ranks[UI_RANKS_MAX];
    double probs[UI_RANKS_MAX];
    struct ui_ring h_sens, h_dsi, h_prob[UI_RANKS_MAX];
    int map_row, map_col;      /* its cell on the map */
};

/* A training run after the search (SEV_TRAIN). */
struct ui_train {
    char run[16];              /* "retrain" or "baseline" (the event's text); "" before any */
    int64_t step, total;       /* optimiser updates done / planned */
    int epoch;                 /* 0-based */
    double loss;               /* running training loss; NaN before the first report */
    double dev;                /* dev metric after its last evaluation; NaN before one */
    double eta;                /* seconds left from the run's own rate; < 0 unknown */
    int64_t step0;             /* the rate's origin: the run's first train event */
    double t0;
};

enum ui_log_level { UI_LOG_INFO, UI_LOG_DECISION, UI_LOG_USER, UI_LOG_WARN, UI_LOG_ERROR };

struct ui_log_line {
    int64_t step;
    enum ui_log_level level;
    char text[UI_LOG_TEXT];   /* raw: escape before drawing */
};

struct ui_model {
    /* set by the caller (raw bytes; the drawing escapes them) */
    char task[64], model[256], device[32], method[48], metric[24];
    int stages_total;          /* K: from the config; 0: learnt from SEV_START */
    /* progress (SEV_STEP and every event's common fields) */
    int64_t step, planned;
    int epoch, stages_left;
    double loss_w, loss_a, tau, lr;
    int has_dev;
    double dev, dev_loss;
    double budget, expected;
    int64_t current;
    double seconds, eta;       /* eta < 0: unknown */
    int rate_set;              /* the first STEP seen: the search's rate from there */
    int64_t rate_step0;
    double rate_t0, paused_s, paused_at; /* time paused since then; paused_at < 0: running */
    struct ui_train train;
    char phase[16];
    int paused, done, failed;
    double final_params, final_test;
    int64_t events;            /* events applied */
    /* modules, by candidate index */
    int n_mods, cap_mods;
    struct ui_module *mods;
    /* the map: rows are layers (ascending, then one row for modules outside the layers),
     * columns are kind.position keys (kinds sorted, each kind's positions in a block's
     * forward order: q k v o attn attn_ln ffn_up ffn_gate ffn_down ffn ffn_ln, others
     * after), then one per module outside the layers */
    int map_rows, map_cols;
    int *map;                  /* map_rows * map_cols module indices, -1 for an empty cell */
    int *row_layer;            /* per row: the layer, -1 for the last row of other modules */
    char (*col_key)[UI_NAME_MAX];
    /* plots */
    struct ui_series s_expected, s_stage, s_loss_w, s_loss_a, s_dev, s_stab;
    int snap_open;             /* a snapshot's events are coming in */
    int64_t snap_step;
    /* log ring */
    struct ui_log_line log[UI_LOG_MAX];
    int log_n, log_head;
    int64_t log_total;
};

/* A new, empty model (never NULL: xcalloc). ui_model_free(NULL) is a no-op. */
struct ui_model *ui_model_new(void);
void ui_model_free(struct ui_model *m);

/* Add candidate `name` with its full cost at the next index (the candidate list before the
 * first snapshot, so the map shows at once); returns its index. */
int ui_model_add_module(struct ui_model *m, const char *name, double full_cost);

/* Fold one event into the model. Unknown types and out-of-range module indices (< 0, or
 * absurdly large) are ignored. */
void ui_model_apply(struct ui_model *m, const struct search_event *ev);

/* Append a line to the log (printf format). */
void ui_model_log(struct ui_model *m, enum ui_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Number of log lines held, and line i (0: the oldest held). */
int ui_model_log_count(const struct ui_model *m);
const struct ui_log_line *ui_model_log_line(const struct ui_model *m, int i);

/* Module at map cell (row, col), or -1 (also outside the map). */
int ui_model_map_at(const struct ui_model *m, int row, int col);
/* Row label: "L3", or "--" for the row of modules outside the layers. */
void ui_model_row_label(const struct ui_model *m, int row, char *buf, size_t n);

/* Sensitivity level of each module among the ones on the map with a snapshot and not
 * pruned: level[i] in 0..nlevels-1 by rank (nlevels-1: the most sensitive), -1 for the
 * others. level has n_mods entries. */
void ui_model_sens_levels(const struct ui_model *m, int *level, int nlevels);

/* 1 while the search takes interventions (not once retraining, the baseline or done). */
int ui_model_searching(const struct ui_model *m);
/* 1 while a training run goes on after the search (phase retrain or baseline). */
int ui_model_training(const struct ui_model *m);

/* The rank with the highest probability (or the current rank when none are known). */
int ui_model_argmax_rank(const struct ui_model *m, int i);

/* Split a module name: "L3.lora.q" -> layer 3, kind "lora", pos "q"; "L2.lra.attn" -> 2,
 * "lra", "attn"; "final.ln" -> -1, "ln", "final". Returns 1 for a layer name, 0 otherwise. */
int ui_module_parse_name(const char *name, int *layer, char *kind, size_t kn, char *pos,
                         size_t pn);

/* Parse "r=1:0.123,4:0.500,8:0.377" (the part after the TAB of a snapshot's text) into at
 * most max (rank, probability) pairs; returns how many (0 when the text is not of that form;
 * pairs after a malformed one are dropped). */
int ui_parse_rank_probs(const char *s, int *ranks, double *probs, int max);

#endif
