/* ui_model.c - folds search events into the UI's model (ui_model.h). Pure data: it never
 * draws, never reads the engine, and keeps the strings it is given as raw bytes (the
 * drawing escapes them). */
#include "ui_model.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define UI_MODS_LIMIT 100000 /* a module index above this is a broken event, not a module */

/* ---- rings and series ---- */

void ui_ring_push(struct ui_ring *r, double v) {
    r->v[(r->head + r->n) % UI_HIST] = (float)v;
    if (r->n < UI_HIST)
        r->n++;
    else
        r->head = (r->head + 1) % UI_HIST;
}

int ui_ring_get(const struct ui_ring *r, double *out, int max) {
    int n = r->n < max ? r->n : max;
    int skip = r->n - n; /* the newest max values */
    for (int i = 0; i < n; i++)
        out[i] = r->v[(r->head + skip + i) % UI_HIST];
    return n < 0 ? 0 : n;
}

void ui_series_push(struct ui_series *s, double x, double y) {
    if (s->stride < 1)
        s->stride = 1;
    if (++s->skipped < s->stride)
        return;
    s->skipped = 0;
    if (s->n == UI_SERIES_MAX) {
        for (int i = 0; i < UI_SERIES_MAX / 2; i++) {
            s->x[i] = s->x[2 * i + 1];
            s->y[i] = s->y[2 * i + 1];
        }
        s->n = UI_SERIES_MAX / 2;
        s->stride *= 2;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

/* ---- names and the map ---- */

/* dst = the first len bytes of src, cut to fit n (>= 1) bytes with the NUL. */
static void put(char *dst, size_t n, const char *src, size_t len) {
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

int ui_module_parse_name(const char *name, int *layer, char *kind, size_t kn, char *pos,
                         size_t pn) {
    *layer = -1;
    const char *p = name;
    if (p[0] == 'L' && isdigit((unsigned char)p[1])) {
        char *end;
        long l = strtol(p + 1, &end, 10);
        if (*end == '.' && l <= 1000000) {
            *layer = (int)l;
            const char *rest = end + 1, *dot = strchr(rest, '.');
            put(kind, kn, rest, dot ? (size_t)(dot - rest) : strlen(rest));
            put(pos, pn, dot ? dot + 1 : "", dot ? strlen(dot + 1) : 0);
            return 1;
        }
    }
    const char *dot = strrchr(p, '.');
    put(kind, kn, dot ? dot + 1 : p, strlen(dot ? dot + 1 : p));
    put(pos, pn, p, dot ? (size_t)(dot - p) : 0);
    return 0;
}

static void col_key_of(const struct ui_module *md, char *key, size_t n) {
    if (md->layer < 0) {
        put(key, n, md->name, strlen(md->name));
        return;
    }
    size_t k = strlen(md->kind);
    put(key, n, md->kind, k);
    if (md->pos[0] && k + 1 < n) {
        key[k] = '.';
        put(key + k + 1, n - k - 1, md->pos, strlen(md->pos));
    }
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Positions in a block's forward order (the config's targets); others after them. */
static int pos_order(const char *pos) {
    static const char *const order[] = {"q", "k", "v", "o", "attn", "attn_ln", "ffn_up",
                                        "ffn_gate", "ffn_down", "ffn", "ffn_ln"};
    for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
        if (!strcmp(pos, order[i]))
            return i;
    return (int)(sizeof order / sizeof order[0]);
}

/* Column keys "kind.pos": kinds alphabetically, then positions in forward order. */
static int cmp_key(const void *a, const void *b) {
    const char *x = a, *y = b, *dx = strchr(x, '.'), *dy = strchr(y, '.');
    size_t kx = dx ? (size_t)(dx - x) : strlen(x), ky = dy ? (size_t)(dy - y) : strlen(y);
    int c = strncmp(x, y, kx < ky ? kx : ky);
    if (c || kx != ky)
        return c ? c : (kx < ky ? -1 : 1);
    const char *px = dx ? dx + 1 : "", *py = dy ? dy + 1 : "";
    int ox = pos_order(px), oy = pos_order(py);
    return ox != oy ? (ox < oy ? -1 : 1) : strcmp(px, py);
}

/* Rebuild rows, columns and cells from the modules (a few hundred: cheap). */
static void build_map(struct ui_model *m) {
    int n = m->n_mods, nr = 0, nl = 0, nc = 0, other = 0;
    xfree(m->map);
    xfree(m->row_layer);
    xfree(m->col_key);
    m->row_layer = xmalloc((size_t)(n + 1) * sizeof *m->row_layer);
    m->col_key = xmalloc((size_t)(n + 1) * sizeof *m->col_key);
    for (int i = 0; i < n; i++) /* distinct layers */
        if (m->mods[i].layer >= 0) {
            int k = 0;
            while (k < nr && m->row_layer[k] != m->mods[i].layer)
                k++;
            if (k == nr)
                m->row_layer[nr++] = m->mods[i].layer;
        } else {
            other = 1;
        }
    qsort(m->row_layer, (size_t)nr, sizeof *m->row_layer, cmp_int);
    if (other)
        m->row_layer[nr++] = -1;
    for (int pass = 0; pass < 2; pass++) { /* layer keys sorted, then the others in order */
        for (int i = 0; i < n; i++) {
            if ((m->mods[i].layer >= 0) != (pass == 0))
                continue;
            char key[UI_NAME_MAX];
            col_key_of(&m->mods[i], key, sizeof key);
            int k = pass == 0 ? 0 : nl;
            while (k < nc && strcmp(m->col_key[k], key))
                k++;
            if (k == nc)
                snprintf(m->col_key[nc++], UI_NAME_MAX, "%s", key);
        }
        if (pass == 0) {
            qsort(m->col_key, (size_t)nc, sizeof *m->col_key, cmp_key);
            nl = nc;
        }
    }
    m->map_rows = nr;
    m->map_cols = nc;
    m->map = xmalloc((size_t)(nr * nc > 0 ? nr * nc : 1) * sizeof *m->map);
    for (int i = 0; i < nr * nc; i++)
        m->map[i] = -1;
    for (int i = 0; i < n; i++) {
        struct ui_module *md = &m->mods[i];
        char key[UI_NAME_MAX];
        col_key_of(md, key, sizeof key);
        md->map_row = md->map_col = -1;
        for (int r = 0; r < nr; r++)
            if (m->row_layer[r] == md->layer)
                md->map_row = r;
        for (int c = 0; c < nc; c++)
            if (!strcmp(m->col_key[c], key) && (c < nl) == (md->layer >= 0))
                md->map_col = c;
        if (md->map_row >= 0 && md->map_col >= 0 && m->map[md->map_row * nc + md->map_col] < 0)
            m->map[md->map_row * nc + md->map_col] = i;
    }
}

int ui_model_map_at(const struct ui_model *m, int row, int col) {
    if (row < 0 || col < 0 || row >= m->map_rows || col >= m->map_cols)
        return -1;
    return m->map[row * m->map_cols + col];
}

void ui_model_row_label(const struct ui_model *m, int row, char *buf, size_t n) {
    if (row < 0 || row >= m->map_rows || m->row_layer[row] < 0)
        snprintf(buf, n, "--");
    else
        snprintf(buf, n, "L%d", m->row_layer[row]);
}

static void set_name(struct ui_module *md, const char *name, size_t len) {
    if (len >= sizeof md->name)
        len = sizeof md->name - 1;
    memcpy(md->name, name, len);
    md->name[len] = '\0';
    ui_module_parse_name(md->name, &md->layer, md->kind, sizeof md->kind, md->pos,
                         sizeof md->pos);
}

/* Make room for module index i (placeholders "#i" until their name is known). */
static int ensure_module(struct ui_model *m, int i) {
    if (i < 0 || i >= UI_MODS_LIMIT)
        return 0;
    if (i < m->n_mods)
        return 1;
    if (i >= m->cap_mods) {
        int cap = m->cap_mods ? m->cap_mods : 16;
        while (cap <= i)
            cap *= 2;
        m->mods = xrealloc(m->mods, (size_t)cap * sizeof *m->mods);
        m->cap_mods = cap;
    }
    for (int k = m->n_mods; k <= i; k++) {
        struct ui_module *md = &m->mods[k];
        memset(md, 0, sizeof *md);
        char ph[24];
        snprintf(ph, sizeof ph, "#%d", k);
        set_name(md, ph, strlen(ph));
        md->sens = md->dsi = md->p_on = md->cost = NAN;
    }
    m->n_mods = i + 1;
    build_map(m);
    return 1;
}

int ui_model_add_module(struct ui_model *m, const char *name, double full_cost) {
    int i = m->n_mods;
    ensure_module(m, i);
    set_name(&m->mods[i], name, strlen(name));
    m->mods[i].full_cost = full_cost;
    build_map(m);
    return i;
}

/* ---- levels, ranks ---- */

struct sens_ix {
    double v;
    int i;
};

static int cmp_sens(const void *a, const void *b) {
    const struct sens_ix *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

void ui_model_sens_levels(const struct ui_model *m, int *level, int nlevels) {
    struct sens_ix *ix = xmalloc((size_t)(m->n_mods + 1) * sizeof *ix);
    int n = 0;
    for (int i = 0; i < m->n_mods; i++) {
        const struct ui_module *md = &m->mods[i];
        level[i] = -1;
        if (md->seen && !md->pruned && isfinite(md->sens))
            ix[n++] = (struct sens_ix){md->sens, i};
    }
    qsort(ix, (size_t)n, sizeof *ix, cmp_sens);
    for (int k = 0; k < n && nlevels > 0; k++)
        level[ix[k].i] = n > 1 ? (int)((int64_t)k * nlevels / n) : nlevels - 1;
    xfree(ix);
}

int ui_model_argmax_rank(const struct ui_model *m, int i) {
    if (i < 0 || i >= m->n_mods)
        return 0;
    const struct ui_module *md = &m->mods[i];
    int best = -1;
    for (int k = 0; k < md->n_ranks; k++)
        if (best < 0 || md->probs[k] > md->probs[best])
            best = k;
    return best >= 0 ? md->ranks[best] : md->rank;
}

int ui_parse_rank_probs(const char *s, int *ranks, double *probs, int max) {
    if (!s || strncmp(s, "r=", 2))
        return 0;
    int n = 0;
    const char *p = s + 2;
    while (*p && n < max) {
        char *end;
        long r = strtol(p, &end, 10);
        if (end == p || *end != ':' || r <= 0 || r > 1000000)
            break;
        p = end + 1;
        double v = strtod(p, &end);
        if (end == p || (*end && *end != ','))
            break;
        ranks[n] = (int)r;
        probs[n] = v;
        n++;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* ---- log ---- */

static void log_put(struct ui_model *m, int64_t step, enum ui_log_level lv, const char *text) {
    struct ui_log_line *l = &m->log[(m->log_head + m->log_n) % UI_LOG_MAX];
    if (m->log_n < UI_LOG_MAX)
        m->log_n++;
    else
        m->log_head = (m->log_head + 1) % UI_LOG_MAX;
    l->step = step;
    l->level = lv;
    snprintf(l->text, sizeof l->text, "%s", text);
    m->log_total++;
}

void ui_model_log(struct ui_model *m, enum ui_log_level level, const char *fmt, ...) {
    char buf[UI_LOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_put(m, m->step, level, buf);
}

int ui_model_log_count(const struct ui_model *m) { return m->log_n; }

const struct ui_log_line *ui_model_log_line(const struct ui_model *m, int i) {
    if (i < 0 || i >= m->log_n)
        return NULL;
    return &m->log[(m->log_head + i) % UI_LOG_MAX];
}

/* ---- model lifetime ---- */

struct ui_model *ui_model_new(void) {
    struct ui_model *m = xcalloc(1, sizeof *m);
    m->loss_w = m->loss_a = m->tau = m->lr = NAN;
    m->dev = m->dev_loss = m->budget = m->expected = NAN;
    m->final_params = m->final_test = NAN;
    m->eta = -1;
    m->paused_at = -1;
    m->train.loss = m->train.dev = NAN;
    m->train.eta = -1;
    snprintf(m->phase, sizeof m->phase, "start");
    build_map(m);
    return m;
}

void ui_model_free(struct ui_model *m) {
    if (!m)
        return;
    xfree(m->mods);
    xfree(m->map);
    xfree(m->row_layer);
    xfree(m->col_key);
    xfree(m);
}

/* ---- events ---- */

/* Copy what fits of src (cut, never overflowing). */
static void copy_text(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%.*s", (int)n - 1, src);
}

/* The mean DSI of the unfixed, unpruned modules of the snapshot that just ended. */
static void close_snapshot(struct ui_model *m) {
    if (!m->snap_open)
        return;
    m->snap_open = 0;
    double sum = 0;
    int n = 0;
    for (int i = 0; i < m->n_mods; i++) {
        const struct ui_module *md = &m->mods[i];
        if (md->seen && !md->pruned && !md->fixed && isfinite(md->dsi)) {
            sum += md->dsi;
            n++;
        }
    }
    if (n > 0)
        ui_series_push(&m->s_stab, (double)m->snap_step, sum / n);
}

/* A DSI the engine has computed: not its sentinel, and a pruning stage has run (the engine
 * computes DSIs in each stage; before the first it reports 0). With K unknown only the
 * sentinel is told apart. */
static int dsi_known(const struct ui_model *m, double v) {
    if (!isfinite(v) || v >= UI_DSI_UNSET)
        return 0;
    return m->stages_total <= 0 || m->stages_left < m->stages_total;
}

static void on_snapshot(struct ui_model *m, const struct search_event *ev) {
    if (!ensure_module(m, ev->module))
        return;
    if (m->snap_open && m->snap_step != ev->step)
        close_snapshot(m);
    m->snap_open = 1;
    m->snap_step = ev->step;
    struct ui_module *md = &m->mods[ev->module];
    const char *tab = strchr(ev->text, '\t');
    size_t len = tab ? (size_t)(tab - ev->text) : strnlen(ev->text, sizeof ev->text);
    if (len > 0 && (strncmp(md->name, ev->text, len) || md->name[len])) {
        set_name(md, ev->text, len);
        build_map(m);
    }
    md->seen = 1;
    md->sens = ev->value;
    md->dsi = dsi_known(m, ev->value2) ? ev->value2 : NAN;
    md->rank = ev->rank;
    md->p_on = ev->lr;
    md->cost = ev->tau;
    if (ev->n > 0) /* the cost at the largest rank (a replay has no candidate list) */
        md->full_cost = (double)ev->n;
    ui_ring_push(&md->h_sens, ev->value);
    if (isfinite(md->dsi))
        ui_ring_push(&md->h_dsi, md->dsi);
    int ranks[UI_RANKS_MAX];
    double probs[UI_RANKS_MAX];
    int n = tab ? ui_parse_rank_probs(tab + 1, ranks, probs, UI_RANKS_MAX) : 0;
    if (n == 0)
        return;
    if (n != md->n_ranks || memcmp(ranks, md->ranks, (size_t)n * sizeof *ranks)) {
        for (int k = 0; k < UI_RANKS_MAX; k++) /* a new rank set: its history starts now */
            md->h_prob[k].n = md->h_prob[k].head = 0;
        md->n_ranks = n;
        memcpy(md->ranks, ranks, (size_t)n * sizeof *ranks);
    }
    for (int k = 0; k < n; k++) {
        md->probs[k] = probs[k];
        ui_ring_push(&md->h_prob[k], probs[k]);
    }
}

static void on_step(struct ui_model *m, const struct search_event *ev) {
    m->planned = ev->n;
    m->loss_w = ev->loss_w;
    m->loss_a = ev->loss_a;
    m->tau = ev->tau;
    m->lr = ev->lr;
    m->budget = ev->value;
    ui_series_push(&m->s_expected, (double)ev->step, ev->expected);
    ui_series_push(&m->s_loss_w, (double)ev->step, ev->loss_w);
    ui_series_push(&m->s_loss_a, (double)ev->step, ev->loss_a);
    /* the rate from the first STEP on: the set-up before it and pauses do not count */
    if (!m->rate_set || ev->step < m->rate_step0) {
        m->rate_set = 1;
        m->rate_step0 = ev->step;
        m->rate_t0 = ev->seconds;
        m->paused_s = 0;
        m->paused_at = m->paused ? ev->seconds : -1;
        m->eta = -1;
    } else if (ev->step > m->rate_step0 && ev->n >= ev->step) {
        double run = ev->seconds - m->rate_t0 - m->paused_s;
        m->eta = run >= 0 ? run / (double)(ev->step - m->rate_step0) * (double)(ev->n - ev->step)
                          : -1;
    }
}

static void on_pause(struct ui_model *m, const struct search_event *ev) {
    int was = m->paused;
    m->paused = ev->value != 0;
    if (m->rate_set && m->paused && !was)
        m->paused_at = ev->seconds;
    else if (m->rate_set && !m->paused && was && m->paused_at >= 0) {
        if (ev->seconds > m->paused_at)
            m->paused_s += ev->seconds - m->paused_at;
        m->paused_at = -1;
    }
    ui_model_log(m, UI_LOG_WARN, "%s (%s)", m->paused ? "paused" : "resumed", ev->source);
}

/* SEV_TRAIN: the training run's own progress (a new run when the text changes or its updates
 * go back). */
static void on_train(struct ui_model *m, const struct search_event *ev) {
    struct ui_train *t = &m->train;
    const char *run = ev->text[0] ? ev->text : "train";
    if (strncmp(t->run, run, sizeof t->run - 1) || ev->step < t->step) {
        memset(t, 0, sizeof *t);
        copy_text(t->run, sizeof t->run, run);
        t->loss = t->dev = NAN;
        t->eta = -1;
        t->step0 = ev->step;
        t->t0 = ev->seconds;
    }
    t->step = ev->step;
    t->total = ev->n;
    t->epoch = ev->epoch;
    if (isfinite(ev->value))
        t->loss = ev->value;
    if (isfinite(ev->value2)) {
        t->dev = ev->value2;
        ui_model_log(m, UI_LOG_INFO, "%s epoch %d: dev %s %.4f (loss %.4f)", t->run,
                     ev->epoch + 1, m->metric[0] ? m->metric : "metric", ev->value2, t->loss);
    }
    if (ev->step > t->step0 && ev->n >= ev->step && ev->seconds >= t->t0)
        t->eta = (ev->seconds - t->t0) / (double)(ev->step - t->step0) *
                 (double)(ev->n - ev->step);
}

/* The module's name for a log line: the event's text, else the model's. */
static const char *mod_name(const struct ui_model *m, const struct search_event *ev) {
    if (ev->text[0])
        return ev->text;
    return ev->module >= 0 && ev->module < m->n_mods ? m->mods[ev->module].name : "?";
}

static void on_module_event(struct ui_model *m, const struct search_event *ev) {
    struct ui_module *md = ensure_module(m, ev->module) ? &m->mods[ev->module] : NULL;
    const char *name = mod_name(m, ev);
    switch (ev->type) {
    case SEV_PRUNE:
        if (md)
            md->pruned = 1;
        ui_model_log(m, UI_LOG_DECISION, "prune %s (%s)", name, ev->source);
        break;
    case SEV_FIX:
        if (md) {
            md->fixed = 1;
            md->rank = ev->rank;
        }
        ui_model_log(m, UI_LOG_DECISION, "fix %s r%d (%s)", name, ev->rank, ev->source);
        break;
    case SEV_PIN:
        if (md)
            md->pinned = 1;
        ui_model_log(m, UI_LOG_DECISION, "pin %s (%s)", name, ev->source);
        break;
    case SEV_RESTORE:
        if (md)
            md->pruned = 0;
        ui_model_log(m, UI_LOG_DECISION, "restore %s (%s)", name, ev->source);
        break;
    default: /* SEV_UNPIN */
        if (md)
            md->pinned = 0;
        ui_model_log(m, UI_LOG_DECISION, "unpin %s (%s)", name, ev->source);
        break;
    }
}

int ui_model_training(const struct ui_model *m) {
    return !m->done && (!strcmp(m->phase, "retrain") || !strcmp(m->phase, "baseline"));
}

int ui_model_searching(const struct ui_model *m) {
    return !m->done && strcmp(m->phase, "retrain") && strcmp(m->phase, "baseline") &&
           strcmp(m->phase, "done");
}

/* Fields every event carries. */
static void on_common(struct ui_model *m, const struct search_event *ev) {
    m->events++;
    if (ev->type != SEV_TRAIN) { /* a training run's step and epoch are its own */
        if (ev->step >= m->step)
            m->step = ev->step;
        m->epoch = ev->epoch;
    }
    m->stages_left = ev->stage;
    if (isfinite(ev->expected))
        m->expected = ev->expected;
    if (ev->current >= 0 && ui_model_searching(m)) /* afterwards the engine reports 0 */
        m->current = ev->current;
    if (ev->seconds >= m->seconds)
        m->seconds = ev->seconds;
}

void ui_model_apply(struct ui_model *m, const struct search_event *ev) {
    if ((int)ev->type < 0 || ev->type >= SEV_COUNT)
        return;
    if (ev->type != SEV_SENSITIVITY)
        close_snapshot(m);
    on_common(m, ev);
    char buf[64];
    switch (ev->type) {
    case SEV_START:
        copy_text(m->method, sizeof m->method, ev->text);
        m->budget = ev->value;
        if (m->stages_total <= 0)
            m->stages_total = ev->stage;
        ui_model_log(m, UI_LOG_INFO, "start: %s, %lld candidates, budget %.0f", ev->text,
                     (long long)ev->n, ev->value);
        break;
    case SEV_STEP: on_step(m, ev); break;
    case SEV_SENSITIVITY: on_snapshot(m, ev); break;
    case SEV_TRIGGER:
        ui_model_log(m, UI_LOG_DECISION, "trigger (%s): stage with delta %.0f, %d stages left",
                     ev->source, ev->value, ev->stage + 1);
        break;
    case SEV_STAGE:
        ui_series_push(&m->s_stage, (double)(m->stages_total - ev->stage), ev->value);
        ui_model_log(m, UI_LOG_INFO, "stage done (%s): E %.0f, %d left", ev->source, ev->value,
                     ev->stage);
        break;
    case SEV_PRUNE: case SEV_FIX: case SEV_PIN: case SEV_UNPIN: case SEV_RESTORE:
        on_module_event(m, ev);
        break;
    case SEV_BUDGET:
        m->budget = ev->value;
        ui_model_log(m, UI_LOG_DECISION, "budget %.0f (%s)", ev->value, ev->source);
        break;
    case SEV_REFUSED:
        ui_model_log(m, UI_LOG_ERROR, "REFUSED (%s): %s", ev->source, ev->text);
        break;
    case SEV_PAUSE: on_pause(m, ev); break;
    case SEV_TRAIN: on_train(m, ev); break;
    case SEV_EVAL:
        m->has_dev = 1;
        m->dev = ev->value;
        m->dev_loss = ev->value2;
        if (ev->text[0])
            copy_text(m->metric, sizeof m->metric, ev->text);
        ui_series_push(&m->s_dev, (double)ev->step, ev->value);
        break;
    case SEV_PHASE:
        if (!strcmp(ev->text, "retrain")) /* value: the structure's parameters */
            m->current = (int64_t)ev->value;
        copy_text(m->phase, sizeof m->phase, ev->text);
        ui_model_log(m, UI_LOG_INFO, "phase %s", ev->text);
        break;
    case SEV_LOG: ui_model_log(m, UI_LOG_INFO, "policy: %s", ev->text); break;
    case SEV_FALLBACK: /* the search goes on with the default hook */
        ui_model_log(m, UI_LOG_ERROR, "policy hook failed, default used: %s", ev->text);
        break;
    case SEV_ERROR:
        m->failed = 1;
        ui_model_log(m, UI_LOG_ERROR, "ERROR (%s): %s", ev->source, ev->text);
        break;
    case SEV_DONE:
        m->done = 1;
        m->final_params = ev->value;
        m->final_test = ev->value2;
        snprintf(m->phase, sizeof m->phase, "done");
        m->current = (int64_t)ev->value;
        if (ev->text[0] && isfinite(ev->value2))
            snprintf(buf, sizeof buf, ", test %.40s %.4f", ev->text, ev->value2);
        else
            snprintf(buf, sizeof buf, " (not retrained: no test score)");
        ui_model_log(m, UI_LOG_DECISION, "done: %.0f params%s", ev->value, buf);
        break;
    default: break;
    }
}
