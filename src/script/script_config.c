/* script_config.c - validation of a config table into struct run_config, once, with errors
 * that name the file, the line and the path inside the table. Reads values with raw accesses
 * only (no user metamethods run). Does not check that files exist. JSON and the Lua copy of
 * the resolved config are in script_config_json.c. */
#include "script/script_config.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/script_internal.h"

/* ---- names ---- */

const char *const cfg_method_names[] = {"bipeft", "s3delta", "manual", "random", "full", NULL};
const char *const cfg_sens_norm_names[] = {"rmax", "rank", "none", NULL};
const char *const cfg_weight_rank_names[] = {"argmax", "sample", NULL};
const char *const cfg_gate_grad_names[] = {"always", "sampled", NULL};

const char *cfg_method_name(int m) {
    return m >= 0 && m <= CFG_METHOD_FULL ? cfg_method_names[m] : "bipeft";
}

static const char *const kind_names[CFG_KIND_COUNT] = {
    "lora", "lra", "bitfit", "ln", "serial_adapter", "parallel_adapter", "prefix", "ia3"};
static const char *const target_names[CFG_T_COUNT] = {
    "q", "k", "v", "o", "ffn_up", "ffn_down", "ffn_gate", "attn", "ffn",
    "attn_ln", "ffn_ln", "final_ln"};

#define TB(t) (1u << (t))
#define T_ATTN_PROJ (TB(CFG_T_Q) | TB(CFG_T_K) | TB(CFG_T_V) | TB(CFG_T_O))
#define T_FFN_LIN (TB(CFG_T_FFN_UP) | TB(CFG_T_FFN_DOWN) | TB(CFG_T_FFN_GATE))
#define T_SUB (TB(CFG_T_ATTN) | TB(CFG_T_FFN))
#define T_NORMS (TB(CFG_T_ATTN_LN) | TB(CFG_T_FFN_LN) | TB(CFG_T_FINAL_LN))

static const struct {
    unsigned allowed;   /* targets this kind can attach to (0: no `targets` key) */
    unsigned deflt;     /* targets when the key is absent */
    int has_ranks;
} kind_spec[CFG_KIND_COUNT] = {
    [CFG_KIND_LORA] = {T_ATTN_PROJ | T_FFN_LIN, T_ATTN_PROJ | TB(CFG_T_FFN_UP) | TB(CFG_T_FFN_DOWN), 1},
    [CFG_KIND_LRA] = {T_SUB, T_SUB, 1},
    [CFG_KIND_BITFIT] = {T_ATTN_PROJ | T_FFN_LIN | T_NORMS,
                         T_ATTN_PROJ | TB(CFG_T_FFN_UP) | TB(CFG_T_FFN_DOWN) | TB(CFG_T_ATTN_LN) |
                             TB(CFG_T_FFN_LN), 0},
    [CFG_KIND_LN] = {T_NORMS, TB(CFG_T_ATTN_LN) | TB(CFG_T_FFN_LN), 0},
    [CFG_KIND_SERIAL_ADAPTER] = {T_SUB, TB(CFG_T_FFN), 1},
    [CFG_KIND_PARALLEL_ADAPTER] = {T_SUB, TB(CFG_T_FFN), 1},
    [CFG_KIND_PREFIX] = {0, TB(CFG_T_ATTN), 1},
    [CFG_KIND_IA3] = {TB(CFG_T_K) | TB(CFG_T_V) | TB(CFG_T_FFN_UP), TB(CFG_T_K) | TB(CFG_T_V) | TB(CFG_T_FFN_UP), 0},
};

const char *script_kind_name(enum cfg_kind k) {
    return (unsigned)k < CFG_KIND_COUNT ? kind_names[k] : "?";
}
const char *script_target_name(enum cfg_target t) {
    return (unsigned)t < CFG_T_COUNT ? target_names[t] : "?";
}

/* ---- defaults ---- */

void script_config_defaults(struct run_config *c) {
    memset(c, 0, sizeof *c);
    c->mode = CFG_MODE_SEARCH;
    snprintf(c->task.text_column, sizeof c->task.text_column, "sentence");
    snprintf(c->task.label_column, sizeof c->task.label_column, "label");
    c->task.max_len = 128;
    c->task.search_split = 0.5;
    c->optim.lr = 3e-4;
    c->optim.arch_lr = 0.01;
    c->optim.weight_decay = 1e-4;
    c->optim.arch_weight_decay = 1e-4;
    c->optim.betas[0] = 0.9, c->optim.betas[1] = 0.999;
    c->optim.arch_betas[0] = 0.5, c->optim.arch_betas[1] = 0.999;
    c->optim.eps = 1e-8;
    c->optim.clip = 2.0;
    c->optim.batch_size = 32;
    c->optim.epochs = 15;
    c->optim.grad_accum = 1;
    c->schedule.lr = (struct cfg_schedule){.kind = CFG_SCHED_LINEAR, .from = 1, .to = 0};
    c->schedule.arch_lr = (struct cfg_schedule){.kind = CFG_SCHED_CONSTANT, .value = 1};
    c->schedule.tau = (struct cfg_schedule){.kind = CFG_SCHED_LINEAR, .from = 5, .to = 1};
    c->search.stages = 100;
    c->search.trigger_threshold = 0.85;
    c->search.trigger_window = 5;
    c->search.ema = 0.85;
    c->search.prune_begin_epoch = 2;
    c->search.hard_stages = 10;
    snprintf(c->search.criterion, sizeof c->search.criterion, "tra_val_cos1");
    c->search.gumbel = 1;
    c->search.iterative = 1;
    c->search.method = CFG_METHOD_BIPEFT;
    c->search.order = CFG_ORDER_ALTERNATE;
    c->search.early_stop = 1;
    c->search.arch_reg = 0.01;
    c->search.checkpoint_every = 50;
    c->search.snapshot_every = 10;
    c->search.retrain = 1;
    c->search.s3delta_beta = 1.0;
    c->search.sens_norm = CFG_NORM_RMAX;
    c->search.weight_rank = CFG_WRANK_ARGMAX;
    c->seed = 42;
    c->train.head = 1;
    c->train.max_nan_skips = 5;
    c->train.log_every = 10;
    snprintf(c->device, sizeof c->device, "cpu");
    snprintf(c->session, sizeof c->session, "sessions");
    snprintf(c->policy, sizeof c->policy, "default");
}

/* ---- the validation context: a path inside the table and the first error ---- */

struct vctx {
    lua_State *L;
    const char *file;
    const struct script_sources *src;
    char path[512];
    struct pf_err *err;
};

static size_t path_key(struct vctx *v, const char *key) {
    size_t mark = strlen(v->path);
    snprintf(v->path + mark, sizeof v->path - mark, "%s%s", mark ? "." : "", key);
    return mark;
}
static size_t path_index(struct vctx *v, long i) {
    size_t mark = strlen(v->path);
    snprintf(v->path + mark, sizeof v->path - mark, "[%ld]", i);
    return mark;
}
static void path_pop(struct vctx *v, size_t mark) { v->path[mark] = '\0'; }

/* Position of the next `key =` or `["key"]` in text from *pos, skipping -- comments. */
static const char *find_key(const char *text, const char *from, const char *key) {
    size_t kl = strlen(key);
    for (const char *p = from; *p; p++) {
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            if (!*p)
                break;
            continue;
        }
        int word = (p == text || !(p[-1] == '_' || p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9') ||
                                   (unsigned)((p[-1] | 32) - 'a') < 26u));
        if (word && !strncmp(p, key, kl)) {
            const char *q = p + kl;
            if (*q == '_' || (*q >= '0' && *q <= '9') || (unsigned)((*q | 32) - 'a') < 26u)
                continue;
            while (*q == ' ' || *q == '\t')
                q++;
            if (q[0] == '=' && q[1] != '=')
                return p;
            if ((p[-1] == '"' || p[-1] == '\'') && p - 2 >= text && p[-2] == '[')
                return p;
        }
    }
    return NULL;
}

/* Line of the deepest key of v->path written in one of the sources (1 if none). */
static int path_line(const struct vctx *v, const char **file) {
    char keys[512];
    snprintf(keys, sizeof keys, "%s", v->path);
    const char *names[32];
    int n = 0;
    for (char *p = keys; *p && n < 32;) {
        char *e = p + strcspn(p, ".[");
        char c = *e;
        *e = '\0';
        if (*p)
            names[n++] = p;
        if (!c)
            break;
        p = e + 1;
        if (c == '[')
            p += strcspn(p, "]") + (p[strcspn(p, "]")] ? 1 : 0);
        if (*p == '.')
            p++;
    }
    int best_depth = 0, best_line = 1;
    *file = v->file;
    for (int s = 0; v->src && s < v->src->n; s++) {
        const char *text = v->src->v[s].text, *at = text, *hit = NULL;
        int depth = 0;
        for (int k = 0; k < n; k++) {
            const char *h = find_key(text, at, names[k]);
            /* the first key: its last occurrence (a table constructor keeps the later value,
             * and the returned table usually comes last) */
            for (const char *h2 = h; k == 0 && h2; h2 = find_key(text, h2 + 1, names[k]))
                h = h2;
            if (!h)
                break;
            hit = h;
            at = h + strlen(names[k]);
            depth = k + 1;
        }
        if (depth > best_depth) {
            best_depth = depth;
            best_line = 1;
            for (const char *c = text; c < hit; c++)
                best_line += *c == '\n';
            *file = v->src->v[s].path;
        }
    }
    return best_line;
}

__attribute__((format(printf, 2, 3))) static int verr(struct vctx *v, const char *fmt, ...) {
    char msg[sizeof ((struct pf_err *)0)->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file;
    int line = path_line(v, &file);
    pf_err_set(v->err, PF_ERR_SCRIPT, "%s:%d: %s%s%s", file, line, v->path, v->path[0] ? ": " : "",
               msg);
    return 0;
}

static const char *desc(struct vctx *v, int idx, char *buf, size_t n) {
    return script_describe(v->L, idx, buf, n);
}

/* ---- field readers: table at index t; absent fields keep the default. Return 0 on error. */

/* Unknown keys are errors: every key must be a string among `allowed` (NULL-terminated). */
static int check_keys(struct vctx *v, int t, const char *const *allowed) {
    lua_State *L = v->L;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        char tmp[64];
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            return verr(v, "unexpected list item (expected named fields)");
        }
        const char *k = lua_tostring(L, -1);
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= !strcmp(k, allowed[i]);
        if (!ok) {
            char list[400] = "";
            for (int i = 0; allowed[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         allowed[i]);
            size_t m = path_key(v, k);
            verr(v, "unknown key (expected one of: %s)", list);
            (void)tmp;
            path_pop(v, m);
            lua_pop(L, 1);
            return 0;
        }
    }
    return 1;
}

/* Push t[key] (raw); returns its type. */
static int field(struct vctx *v, int t, const char *key) {
    lua_pushstring(v->L, key);
    return lua_rawget(v->L, t);
}

typedef int (*value_fn)(struct vctx *v, int idx, void *out, const void *arg);

/* Read t[key] with fn if present (path extended by key); required: missing is an error. */
static int opt(struct vctx *v, int t, const char *key, int required, value_fn fn, void *out,
               const void *arg) {
    size_t m = path_key(v, key);
    int ty = field(v, t, key);
    int ok = 1;
    if (ty == LUA_TNIL)
        ok = required ? verr(v, "missing (required)") : 1;
    else
        ok = fn(v, lua_gettop(v->L), out, arg);
    lua_pop(v->L, 1);
    path_pop(v, m);
    return ok;
}

/* Whether table t has a non-nil `key`. */
static int has_key(struct vctx *v, int t, const char *key) {
    int ty = field(v, t, key);
    lua_pop(v->L, 1);
    return ty != LUA_TNIL;
}

static int v_string(struct vctx *v, int idx, void *out, const void *arg) {
    size_t cap = *(const size_t *)arg, n;
    char tmp[64];
    if (lua_type(v->L, idx) != LUA_TSTRING)
        return verr(v, "expected a string, got %s", desc(v, idx, tmp, sizeof tmp));
    const char *s = lua_tolstring(v->L, idx, &n);
    if (n == 0)
        return verr(v, "expected a non-empty string");
    if (n >= cap || strlen(s) != n)
        return verr(v, "string too long or contains NUL (at most %zu bytes)", cap - 1);
    memcpy(out, s, n + 1);
    return 1;
}

struct int_range {
    int64_t lo, hi;
};

static int v_int64(struct vctx *v, int idx, void *out, const void *arg) {
    const struct int_range *r = arg;
    char tmp[64];
    int isnum = lua_type(v->L, idx) == LUA_TNUMBER;
    lua_Integer x = 0;
    int ok = isnum && lua_isinteger(v->L, idx);
    if (ok)
        x = lua_tointeger(v->L, idx);
    else if (isnum) { /* 8.0 is an integer; 8.5 and 1e300 are not */
        double d = lua_tonumber(v->L, idx);
        ok = d == floor(d) && fabs(d) < 9.0e18;
        x = ok ? (lua_Integer)d : 0;
    }
    if (!ok || x < r->lo || x > r->hi) {
        if (r->lo == 1 && (r->hi == INT64_MAX || !ok || x < 1))
            return verr(v, "expected a positive integer, got %s", desc(v, idx, tmp, sizeof tmp));
        if (r->lo == 1)
            return verr(v, "expected a positive integer <= %lld, got %s", (long long)r->hi,
                        desc(v, idx, tmp, sizeof tmp));
        if (r->lo == 0 && r->hi == INT64_MAX)
            return verr(v, "expected a non-negative integer, got %s",
                        desc(v, idx, tmp, sizeof tmp));
        return verr(v, "expected an integer in [%lld, %lld], got %s", (long long)r->lo,
                    (long long)r->hi, desc(v, idx, tmp, sizeof tmp));
    }
    *(int64_t *)out = x;
    return 1;
}

static int v_int(struct vctx *v, int idx, void *out, const void *arg) {
    int64_t x = 0;
    if (!v_int64(v, idx, &x, arg))
        return 0;
    *(int *)out = (int)x;
    return 1;
}

struct num_range {
    double lo, hi;
    int lo_open, hi_open;
};

static int v_num(struct vctx *v, int idx, void *out, const void *arg) {
    const struct num_range *r = arg;
    char tmp[64];
    double x = lua_type(v->L, idx) == LUA_TNUMBER ? lua_tonumber(v->L, idx) : NAN;
    if (!(x == x) || (r->lo_open ? x <= r->lo : x < r->lo) || (r->hi_open ? x >= r->hi : x > r->hi)) {
        char lo[32], hi[32];
        snprintf(lo, sizeof lo, "%g", r->lo);
        snprintf(hi, sizeof hi, "%g", r->hi);
        return verr(v, "expected a number in %c%s, %s%c, got %s", r->lo_open ? '(' : '[',
                    r->lo == -DBL_MAX ? "-inf" : lo, r->hi == DBL_MAX ? "inf" : hi,
                    r->hi_open ? ')' : ']', desc(v, idx, tmp, sizeof tmp));
    }
    *(double *)out = x;
    return 1;
}

static int v_bool(struct vctx *v, int idx, void *out, const void *arg) {
    (void)arg;
    char tmp[64];
    if (lua_type(v->L, idx) != LUA_TBOOLEAN)
        return verr(v, "expected true or false, got %s", desc(v, idx, tmp, sizeof tmp));
    *(int *)out = lua_toboolean(v->L, idx);
    return 1;
}

/* arg: NULL-terminated names; out: int index */
static int v_enum(struct vctx *v, int idx, void *out, const void *arg) {
    const char *const *names = arg;
    char tmp[64], list[300] = "";
    if (lua_type(v->L, idx) == LUA_TSTRING)
        for (int i = 0; names[i]; i++)
            if (!strcmp(lua_tostring(v->L, idx), names[i])) {
                *(int *)out = i;
                return 1;
            }
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
                 names[i]);
    return verr(v, "expected one of %s, got %s", list, desc(v, idx, tmp, sizeof tmp));
}

static int is_table(struct vctx *v, int idx) {
    char tmp[64];
    if (lua_type(v->L, idx) != LUA_TTABLE)
        return verr(v, "expected a table, got %s", desc(v, idx, tmp, sizeof tmp));
    return 1;
}

/* A list: a table whose keys are exactly 1..n; returns n through *n. */
static int is_list(struct vctx *v, int idx, int *n, int maxn) {
    if (!is_table(v, idx))
        return 0;
    int len = (int)lua_rawlen(v->L, idx), count = 0;
    lua_pushnil(v->L);
    while (lua_next(v->L, idx)) {
        lua_pop(v->L, 1);
        count++;
        if (!lua_isinteger(v->L, -1) || lua_tointeger(v->L, -1) < 1 ||
            lua_tointeger(v->L, -1) > len) {
            lua_pop(v->L, 1);
            return verr(v, "expected a list (keys 1..n), found other keys");
        }
    }
    if (count != len)
        return verr(v, "expected a list without holes");
    if (len > maxn)
        return verr(v, "at most %d items, got %d", maxn, len);
    *n = len;
    return 1;
}

/* Strictly increasing integers in [lo, hi]. arg: {int_range, max count}; out: int array, and
 * the count written to the int just before... keep it simple: struct int_list. */
struct int_list {
    int *items;
    int *n;
    int maxn;
    struct int_range range;
    const char *what; /* "rank", "layer" */
};

static int v_int_list(struct vctx *v, int idx, void *out, const void *arg) {
    (void)out;
    const struct int_list *il = arg;
    int n;
    if (!is_list(v, idx, &n, il->maxn))
        return 0;
    if (n == 0)
        return verr(v, "expected at least one %s", il->what);
    for (int i = 1; i <= n; i++) {
        size_t m = path_index(v, i);
        lua_rawgeti(v->L, idx, i);
        int64_t x = 0;
        int ok = v_int64(v, lua_gettop(v->L), &x, &il->range);
        lua_pop(v->L, 1);
        if (ok && i > 1 && x <= il->items[i - 2])
            ok = verr(v, "%ss must be strictly increasing", il->what);
        path_pop(v, m);
        if (!ok)
            return 0;
        il->items[i - 1] = (int)x;
    }
    *il->n = n;
    return 1;
}

static const struct int_range R_POS = {1, INT64_MAX}, R_NONNEG = {0, INT64_MAX};
static const struct num_range N_POS = {0, DBL_MAX, 1, 0}, N_UNIT_OPEN = {0, 1, 1, 1},
                              N_NONNEG = {0, DBL_MAX, 0, 0}, N_BETA = {0, 1, 0, 1},
                              N_PROB = {0, 1, 0, 0}, N_ANY = {-DBL_MAX, DBL_MAX, 0, 0},
                              /* Adam's step size: above 1 every run diverges (issue 19) */
                              N_LR = {0, 1, 1, 0};
#define STR(buf) &(size_t){sizeof(buf)}

/* ---- sections ---- */

static int v_model(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"path", "family", "init", NULL};
    static const char *const fam[] = {"auto", "bert", "roberta", "gpt2", "llama", NULL};
    static const char *const inits[] = {"pretrained", "random", NULL};
    int f = c->model.family, init = c->model.random_init;
    int ok = is_table(v, t) && check_keys(v, t, keys) &&
             opt(v, t, "path", 1, v_string, c->model.path, STR(c->model.path)) &&
             opt(v, t, "family", 0, v_enum, &f, fam) &&
             opt(v, t, "init", 0, v_enum, &init, inits);
    c->model.family = (enum cfg_family)f;
    c->model.random_init = init;
    return ok;
}

static int v_labels(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    int n;
    if (!is_list(v, t, &n, CFG_LABELS_MAX))
        return 0;
    if (n < 2)
        return verr(v, "expected at least two labels");
    for (int i = 1; i <= n; i++) {
        size_t m = path_index(v, i);
        lua_rawgeti(v->L, t, i);
        int ok = v_string(v, lua_gettop(v->L), c->task.labels[i - 1], STR(c->task.labels[0]));
        for (int j = 0; ok && j < i - 1; j++)
            if (!strcmp(c->task.labels[j], c->task.labels[i - 1]))
                ok = verr(v, "label \"%s\" given twice", c->task.labels[j]);
        lua_pop(v->L, 1);
        path_pop(v, m);
        if (!ok)
            return 0;
    }
    c->task.n_labels = n;
    return 1;
}

static int v_columns(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"text", "pair", "label", NULL};
    return is_table(v, t) && check_keys(v, t, keys) &&
           opt(v, t, "text", 0, v_string, c->task.text_column, STR(c->task.text_column)) &&
           opt(v, t, "pair", 0, v_string, c->task.pair_column, STR(c->task.pair_column)) &&
           opt(v, t, "label", 0, v_string, c->task.label_column, STR(c->task.label_column));
}

static int v_task(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"name", "type", "format", "train", "dev", "test",
                                       "columns", "labels", "max_len", "search_split", NULL};
    static const char *const types[] = {"classification", "regression", NULL};
    static const char *const fmts[] = {"auto", "tsv", "csv", "jsonl", NULL};
    static const struct int_range len_r = {2, 65536}; /* a sequence holds [CLS] and [SEP] */
    int ty = c->task.type, fm = c->task.format;
    int ok = is_table(v, t) && check_keys(v, t, keys) &&
             opt(v, t, "name", 1, v_string, c->task.name, STR(c->task.name)) &&
             opt(v, t, "type", 0, v_enum, &ty, types) &&
             opt(v, t, "format", 0, v_enum, &fm, fmts) &&
             opt(v, t, "train", 1, v_string, c->task.train, STR(c->task.train)) &&
             opt(v, t, "dev", 0, v_string, c->task.dev, STR(c->task.dev)) &&
             opt(v, t, "test", 0, v_string, c->task.test, STR(c->task.test)) &&
             opt(v, t, "columns", 0, v_columns, c, NULL) &&
             opt(v, t, "labels", 0, v_labels, c, NULL) &&
             opt(v, t, "max_len", 0, v_int, &c->task.max_len, &len_r) &&
             opt(v, t, "search_split", 0, v_num, &c->task.search_split, &N_UNIT_OPEN);
    c->task.type = (enum cfg_task_type)ty;
    c->task.format = (enum cfg_format)fm;
    if (ok && c->task.type == CFG_TASK_REGRESSION && c->task.n_labels) {
        size_t m = path_key(v, "labels");
        ok = verr(v, "a regression task has no labels");
        path_pop(v, m);
    }
    return ok;
}

static int v_budget(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"params", "fraction", NULL};
    if (!is_table(v, t) || !check_keys(v, t, keys))
        return 0;
    int has_p = field(v, t, "params") != LUA_TNIL;
    int has_f = field(v, t, "fraction") != LUA_TNIL;
    lua_pop(v->L, 2);
    if (has_p == has_f)
        return verr(v, "give exactly one of params (a parameter count) or fraction (of the "
                       "backbone)");
    return opt(v, t, "params", 0, v_int64, &c->budget.params, &R_POS) &&
           opt(v, t, "fraction", 0, v_num, &c->budget.fraction, &(struct num_range){0, 1, 1, 0});
}

static int v_targets(struct vctx *v, int t, void *out, const void *arg) {
    unsigned allowed = *(const unsigned *)arg, *bits = out;
    int n;
    if (!is_list(v, t, &n, CFG_T_COUNT * 2))
        return 0;
    if (n == 0)
        return verr(v, "expected at least one target");
    unsigned got = 0;
    for (int i = 1; i <= n; i++) {
        size_t m = path_index(v, i);
        lua_rawgeti(v->L, t, i);
        const char *names[CFG_T_COUNT + 1];
        int k = 0, map[CFG_T_COUNT];
        for (int j = 0; j < CFG_T_COUNT; j++)
            if (allowed & TB(j))
                map[k] = j, names[k++] = target_names[j];
        names[k] = NULL;
        int which = 0;
        int ok = v_enum(v, lua_gettop(v->L), &which, names);
        if (ok && (got & TB(map[which])))
            ok = verr(v, "target \"%s\" given twice", names[which]);
        got |= ok ? TB(map[which]) : 0;
        lua_pop(v->L, 1);
        path_pop(v, m);
        if (!ok)
            return 0;
    }
    *bits = got;
    return 1;
}

static int v_layers(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct cfg_group *g = out;
    if (lua_type(v->L, t) == LUA_TSTRING && !strcmp(lua_tostring(v->L, t), "all")) {
        g->all_layers = 1;
        g->n_layers = 0;
        return 1;
    }
    char tmp[64];
    if (lua_type(v->L, t) != LUA_TTABLE)
        return verr(v, "expected \"all\" or a list of layer indexes, got %s",
                    desc(v, t, tmp, sizeof tmp));
    struct int_list il = {g->layers, &g->n_layers, CFG_LAYERS_MAX, {0, CFG_LAYERS_MAX - 1},
                          "layer"};
    g->all_layers = 0;
    return v_int_list(v, t, NULL, &il);
}

static int v_group(struct vctx *v, int t, void *out, const void *arg) {
    struct cfg_group *g = out;
    enum cfg_kind k = *(const enum cfg_kind *)arg;
    const char *keys[8];
    int nk = 0;
    keys[nk++] = "layers";
    if (kind_spec[k].allowed)
        keys[nk++] = "targets";
    if (kind_spec[k].has_ranks)
        keys[nk++] = "ranks";
    if (k == CFG_KIND_LORA)
        keys[nk++] = "alpha", keys[nk++] = "dropout";
    if (k == CFG_KIND_LRA)
        keys[nk++] = "reduction";
    keys[nk] = NULL;
    memset(g, 0, sizeof *g);
    g->enabled = 1;
    g->all_layers = 1;
    g->targets = kind_spec[k].deflt;
    if (kind_spec[k].has_ranks) {
        g->n_ranks = 3;
        g->ranks[0] = 1, g->ranks[1] = 4, g->ranks[2] = 8;
    }
    if (k == CFG_KIND_LRA)
        g->reduction = 32;
    static const struct int_range rank_r = {1, 65536}, red_r = {1, 65536};
    struct int_list il = {g->ranks, &g->n_ranks, CFG_RANKS_MAX, rank_r, "rank"};
    unsigned allowed = kind_spec[k].allowed;
    return is_table(v, t) && check_keys(v, t, keys) &&
           opt(v, t, "targets", 0, v_targets, &g->targets, &allowed) &&
           opt(v, t, "ranks", 0, v_int_list, NULL, &il) &&
           opt(v, t, "layers", 0, v_layers, g, NULL) &&
           opt(v, t, "alpha", 0, v_num, &g->alpha, &N_NONNEG) &&
           opt(v, t, "dropout", 0, v_num, &g->dropout, &(struct num_range){0, 1, 0, 1}) &&
           opt(v, t, "reduction", 0, v_int, &g->reduction, &red_r);
}

static int v_space(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct cfg_space *s = out;
    const char *keys[CFG_KIND_COUNT + 1];
    for (int k = 0; k < CFG_KIND_COUNT; k++)
        keys[k] = kind_names[k];
    keys[CFG_KIND_COUNT] = NULL;
    if (!is_table(v, t) || !check_keys(v, t, keys))
        return 0;
    int any = 0;
    for (int k = 0; k < CFG_KIND_COUNT; k++) {
        enum cfg_kind kk = (enum cfg_kind)k;
        if (!opt(v, t, kind_names[k], 0, v_group, &s->group[k], &kk))
            return 0;
        any |= s->group[k].enabled;
    }
    return any ? 1 : verr(v, "expected at least one module kind (%s, ...)", kind_names[0]);
}

static int v_schedule(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct cfg_schedule *s = out;
    static const char *const kinds[] = {"constant", "linear", "cosine", "step", "custom", NULL};
    static const char *const k_const[] = {"kind", "value", NULL};
    static const char *const k_ramp[] = {"kind", "from", "to", "warmup", NULL};
    static const char *const k_step[] = {"kind", "from", "gamma", "every", NULL};
    static const char *const k_custom[] = {"kind", "fn", NULL};
    int kind = 0;
    if (!is_table(v, t) || !opt(v, t, "kind", 1, v_enum, &kind, kinds))
        return 0;
    memset(s, 0, sizeof *s);
    s->kind = (enum cfg_sched_kind)kind;
    switch (s->kind) {
    case CFG_SCHED_CONSTANT:
        return check_keys(v, t, k_const) && opt(v, t, "value", 1, v_num, &s->value, &N_ANY);
    case CFG_SCHED_LINEAR:
    case CFG_SCHED_COSINE:
        return check_keys(v, t, k_ramp) && opt(v, t, "from", 1, v_num, &s->from, &N_ANY) &&
               opt(v, t, "to", 1, v_num, &s->to, &N_ANY) &&
               opt(v, t, "warmup", 0, v_int64, &s->warmup, &R_NONNEG);
    case CFG_SCHED_STEP:
        return check_keys(v, t, k_step) && opt(v, t, "from", 1, v_num, &s->from, &N_ANY) &&
               opt(v, t, "gamma", 1, v_num, &s->gamma, &N_POS) &&
               opt(v, t, "every", 1, v_int64, &s->every, &R_POS);
    case CFG_SCHED_CUSTOM: {
        if (!check_keys(v, t, k_custom))
            return 0;
        size_t m = path_key(v, "fn");
        int ok = field(v, t, "fn") == LUA_TFUNCTION ? 1 : verr(v, "expected a function(t, total)");
        lua_pop(v->L, 1);
        path_pop(v, m);
        return ok;
    }
    }
    return 0;
}

static int v_schedules(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"lr", "arch_lr", "tau", NULL};
    return is_table(v, t) && check_keys(v, t, keys) &&
           opt(v, t, "lr", 0, v_schedule, &c->schedule.lr, NULL) &&
           opt(v, t, "arch_lr", 0, v_schedule, &c->schedule.arch_lr, NULL) &&
           opt(v, t, "tau", 0, v_schedule, &c->schedule.tau, NULL);
}

static int v_pair(struct vctx *v, int t, void *out, const void *arg) {
    double *b = out;
    int n;
    if (!is_list(v, t, &n, 2) || (n != 2 && !verr(v, "expected two numbers {beta1, beta2}")))
        return 0;
    for (int i = 1; i <= 2; i++) {
        size_t m = path_index(v, i);
        lua_rawgeti(v->L, t, i);
        int ok = v_num(v, lua_gettop(v->L), &b[i - 1], arg);
        lua_pop(v->L, 1);
        path_pop(v, m);
        if (!ok)
            return 0;
    }
    return 1;
}

static int v_optim(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"lr", "arch_lr", "weight_decay", "arch_weight_decay",
                                       "betas", "arch_betas", "eps", "clip", "batch_size",
                                       "epochs", "grad_accum", NULL};
    static const struct int_range bs_r = {1, 1 << 20}, ep_r = {1, 100000}, ga_r = {1, 4096};
    return is_table(v, t) && check_keys(v, t, keys) &&
           opt(v, t, "lr", 0, v_num, &c->optim.lr, &N_LR) &&
           opt(v, t, "arch_lr", 0, v_num, &c->optim.arch_lr, &N_LR) &&
           opt(v, t, "weight_decay", 0, v_num, &c->optim.weight_decay, &N_NONNEG) &&
           opt(v, t, "arch_weight_decay", 0, v_num, &c->optim.arch_weight_decay, &N_NONNEG) &&
           opt(v, t, "betas", 0, v_pair, c->optim.betas, &N_BETA) &&
           opt(v, t, "arch_betas", 0, v_pair, c->optim.arch_betas, &N_BETA) &&
           opt(v, t, "eps", 0, v_num, &c->optim.eps, &N_POS) &&
           opt(v, t, "clip", 0, v_num, &c->optim.clip, &N_NONNEG) &&
           opt(v, t, "batch_size", 0, v_int, &c->optim.batch_size, &bs_r) &&
           opt(v, t, "epochs", 0, v_int, &c->optim.epochs, &ep_r) &&
           opt(v, t, "grad_accum", 0, v_int, &c->optim.grad_accum, &ga_r);
}

/* Index of the name that s[0..n) spells among names[0..count), or -1. */
static int name_index(const char *s, size_t n, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == n && !strncmp(s, names[i], n))
            return i;
    return -1;
}

/* A module name to pin: "L<layer>.<kind>.<target>" (layer in decimal, no leading zeros,
 * below CFG_LAYERS_MAX) or "final.<kind>", with the names of script_kind_name and
 * script_target_name. */
static int v_module_name(struct vctx *v, int idx, void *out, const void *arg) {
    char *name = out;
    if (!v_string(v, idx, name, arg))
        return 0;
    const char *kind, *dot;
    if (!strncmp(name, "final.", 6)) {
        kind = name + 6;
        dot = kind + strlen(kind);
    } else {
        const char *p = name + 1;
        long layer = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4)
            layer = layer * 10 + (*p++ - '0'), digits++;
        if (name[0] != 'L' || !digits || *p != '.' || (digits > 1 && name[1] == '0') ||
            layer >= CFG_LAYERS_MAX)
            return verr(v, "expected a module name \"L<layer>.<kind>.<target>\" (layer 0..%d) "
                           "or \"final.<kind>\", got \"%s\"",
                        CFG_LAYERS_MAX - 1, name);
        kind = p + 1;
        dot = strchr(kind, '.');
        if (!dot)
            return verr(v, "expected a module name \"L<layer>.<kind>.<target>\", got \"%s\"",
                        name);
    }
    char list[160] = "";
    if (name_index(kind, (size_t)(dot - kind), kind_names, CFG_KIND_COUNT) < 0) {
        for (int i = 0; i < CFG_KIND_COUNT; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     kind_names[i]);
        return verr(v, "unknown module kind \"%.*s\" in \"%s\" (expected %s)",
                    (int)(dot - kind), kind, name, list);
    }
    if (*dot && name_index(dot + 1, strlen(dot + 1), target_names, CFG_T_COUNT) < 0) {
        for (int i = 0; i < CFG_T_COUNT; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     target_names[i]);
        return verr(v, "unknown target \"%s\" in \"%s\" (expected %s)", dot + 1, name, list);
    }
    return 1;
}

static int v_pins(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    int n;
    if (!is_list(v, t, &n, CFG_PIN_MAX))
        return 0;
    for (int i = 1; i <= n; i++) {
        size_t m = path_index(v, i);
        lua_rawgeti(v->L, t, i);
        int ok = v_module_name(v, lua_gettop(v->L), c->search.pin[i - 1],
                               STR(c->search.pin[0]));
        for (int j = 0; ok && j < i - 1; j++)
            if (!strcmp(c->search.pin[j], c->search.pin[i - 1]))
                ok = verr(v, "module \"%s\" given twice", c->search.pin[j]);
        lua_pop(v->L, 1);
        path_pop(v, m);
        if (!ok)
            return 0;
    }
    c->search.n_pin = n;
    return 1;
}

static int v_search(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {
        "stages", "trigger_threshold", "trigger_window", "ema", "prune_begin_epoch",
        "hard_stages", "criterion", "gumbel", "iterative", "method", "order", "early_stop",
        "arch_reg", "checkpoint_every", "snapshot_every", "pin", "retrain", "retrain_epochs",
        "s3delta_beta", "s3delta_rank", "baseline", "sens_norm", "weight_rank", "gate_grad",
        "fill", "stage_span", NULL};
    static const char *const crit[] = {"tra_val_cos1", "tra", "val", "tra_val", "tra_val_cos2",
                                       "gate", NULL};
    static const char *const orders[] = {"alternate", "binary_then_rank", "rank_then_binary",
                                         NULL};
    static const char *const baselines[] = {"none", "lora", NULL};
    static const struct int_range st_r = {1, 100000}, win_r = {1, 1000}, ep_r = {0, 100000},
                                  rank_r = {0, 65536};
    int cr = 0, method = c->search.method, order = c->search.order;
    int baseline = c->search.baseline_lora;
    int norm = c->search.sens_norm, wrank = c->search.weight_rank;
    int ggrad = c->search.gate_grad_sampled;
    for (int i = 0; crit[i]; i++)
        if (!strcmp(crit[i], c->search.criterion))
            cr = i;
    int ok = is_table(v, t) && check_keys(v, t, keys) &&
             opt(v, t, "stages", 0, v_int, &c->search.stages, &st_r) &&
             opt(v, t, "trigger_threshold", 0, v_num, &c->search.trigger_threshold, &N_PROB) &&
             opt(v, t, "trigger_window", 0, v_int, &c->search.trigger_window, &win_r) &&
             opt(v, t, "ema", 0, v_num, &c->search.ema, &N_BETA) &&
             opt(v, t, "prune_begin_epoch", 0, v_int, &c->search.prune_begin_epoch, &ep_r) &&
             opt(v, t, "hard_stages", 0, v_int, &c->search.hard_stages, &ep_r) &&
             opt(v, t, "criterion", 0, v_enum, &cr, crit) &&
             opt(v, t, "gumbel", 0, v_bool, &c->search.gumbel, NULL) &&
             opt(v, t, "iterative", 0, v_bool, &c->search.iterative, NULL) &&
             opt(v, t, "method", 0, v_enum, &method, cfg_method_names) &&
             opt(v, t, "order", 0, v_enum, &order, orders) &&
             opt(v, t, "early_stop", 0, v_bool, &c->search.early_stop, NULL) &&
             opt(v, t, "arch_reg", 0, v_num, &c->search.arch_reg, &N_NONNEG) &&
             opt(v, t, "checkpoint_every", 0, v_int64, &c->search.checkpoint_every, &R_NONNEG) &&
             opt(v, t, "snapshot_every", 0, v_int64, &c->search.snapshot_every, &R_POS) &&
             opt(v, t, "pin", 0, v_pins, c, NULL) &&
             opt(v, t, "retrain", 0, v_bool, &c->search.retrain, NULL) &&
             opt(v, t, "retrain_epochs", 0, v_int, &c->search.retrain_epochs, &ep_r) &&
             opt(v, t, "s3delta_beta", 0, v_num, &c->search.s3delta_beta, &N_POS) &&
             opt(v, t, "s3delta_rank", 0, v_int, &c->search.s3delta_rank, &rank_r) &&
             opt(v, t, "baseline", 0, v_enum, &baseline, baselines) &&
             opt(v, t, "sens_norm", 0, v_enum, &norm, cfg_sens_norm_names) &&
             opt(v, t, "weight_rank", 0, v_enum, &wrank, cfg_weight_rank_names) &&
             opt(v, t, "gate_grad", 0, v_enum, &ggrad, cfg_gate_grad_names) &&
             opt(v, t, "fill", 0, v_bool, &c->search.fill, NULL) &&
             opt(v, t, "stage_span", 0, v_num, &c->search.stage_span, &N_NONNEG);
    c->search.baseline_lora = baseline;
    c->search.sens_norm = (enum cfg_sens_norm)norm;
    c->search.weight_rank = (enum cfg_weight_rank)wrank;
    c->search.gate_grad_sampled = ggrad;
    c->search.method = (enum cfg_method)method;
    c->search.order = (enum cfg_order)order;
    if (ok)
        snprintf(c->search.criterion, sizeof c->search.criterion, "%s", crit[cr]);
    if (ok && c->search.hard_stages > c->search.stages) {
        size_t m = path_key(v, "hard_stages");
        ok = verr(v, "must not exceed search.stages (%d)", c->search.stages);
        path_pop(v, m);
    }
    return ok;
}

static int v_name(struct vctx *v, int idx, void *out, const void *arg) {
    char *name = out;
    if (!v_string(v, idx, name, arg))
        return 0;
    if (!name[0] || name[0] == '.' || strchr(name, '/') || strchr(name, '\\'))
        return verr(v, "expected a plain folder name (no '/', not hidden), got \"%s\"", name);
    return 1;
}

static int v_train(struct vctx *v, int t, void *out, const void *arg) {
    (void)arg;
    struct run_config *c = out;
    static const char *const keys[] = {"full", "head", "eval_every", "patience", "max_nan_skips",
                                       "skip_bad_rows", "max_steps", "log_every", "name", NULL};
    static const struct int_range pat_r = {0, 1000000}, nan_r = {1, 1000000},
                                  log_r = {1, 1000000};
    return is_table(v, t) && check_keys(v, t, keys) &&
           opt(v, t, "full", 0, v_bool, &c->train.full, NULL) &&
           opt(v, t, "head", 0, v_bool, &c->train.head, NULL) &&
           opt(v, t, "eval_every", 0, v_int64, &c->train.eval_every, &R_NONNEG) &&
           opt(v, t, "patience", 0, v_int, &c->train.patience, &pat_r) &&
           opt(v, t, "max_nan_skips", 0, v_int, &c->train.max_nan_skips, &nan_r) &&
           opt(v, t, "skip_bad_rows", 0, v_bool, &c->train.skip_bad_rows, NULL) &&
           opt(v, t, "max_steps", 0, v_int64, &c->train.max_steps, &R_NONNEG) &&
           opt(v, t, "log_every", 0, v_int, &c->train.log_every, &log_r) &&
           opt(v, t, "name", 0, v_name, c->train.name, STR(c->train.name));
}

static int v_device(struct vctx *v, int idx, void *out, const void *arg) {
    char *dev = out;
    if (!v_string(v, idx, dev, arg))
        return 0;
    int n = -1;
    if (!strcmp(dev, "cpu") || !strcmp(dev, "cuda") ||
        (sscanf(dev, "cuda:%d", &n) == 1 && n >= 0 && n < 64 && !strchr(dev, ' ')))
        return 1;
    return verr(v, "expected \"cpu\", \"cuda\" or \"cuda:N\", got \"%s\"", dev);
}

static int v_policy(struct vctx *v, int idx, void *out, const void *arg) {
    char *p = out;
    if (!v_string(v, idx, p, arg))
        return 0;
    size_t n = strlen(p);
    if (!strcmp(p, "default") || (n > 4 && !strcmp(p + n - 4, ".lua")))
        return 1;
    return verr(v, "expected \"default\" or a .lua file, got \"%s\"", p);
}

/* LoRA/BitFit on ffn_gate needs a gated FFN: only llama has one. */
static int check_family(struct vctx *v, struct run_config *c) {
    if (c->model.family == CFG_FAMILY_AUTO || c->model.family == CFG_FAMILY_LLAMA)
        return 1;
    for (int k = 0; k < CFG_KIND_COUNT; k++)
        if (c->space.group[k].enabled && (c->space.group[k].targets & TB(CFG_T_FFN_GATE))) {
            snprintf(v->path, sizeof v->path, "space.%s.targets", kind_names[k]);
            return verr(v, "ffn_gate exists only in llama models (model.family is \"%s\")",
                        c->model.family == CFG_FAMILY_BERT      ? "bert"
                        : c->model.family == CFG_FAMILY_ROBERTA ? "roberta"
                                                                : "gpt2");
        }
    return 1;
}

static int v_root(struct vctx *v, int t, struct run_config *c) {
    static const char *const keys[] = {"mode", "model", "task", "budget", "space", "optim",
                                       "schedule", "search", "train", "structure", "seed",
                                       "threads", "device", "session", "policy", NULL};
    static const char *const modes[] = {"search", "train", NULL};
    static const struct int_range thr_r = {0, 1024};
    int mode = 0;
    int64_t seed = (int64_t)c->seed;
    char tmp[64];
    if (lua_type(v->L, t) != LUA_TTABLE)
        return verr(v, "the config must return a table, got %s", desc(v, t, tmp, sizeof tmp));
    int ok = check_keys(v, t, keys) && opt(v, t, "mode", 0, v_enum, &mode, modes);
    c->mode = (enum cfg_mode)mode;
    ok = ok && opt(v, t, "model", 1, v_model, c, NULL) && opt(v, t, "task", 1, v_task, c, NULL) &&
         opt(v, t, "budget", c->mode == CFG_MODE_SEARCH, v_budget, c, NULL) &&
         opt(v, t, "train", 0, v_train, c, NULL) &&
         opt(v, t, "space", !c->train.full && !c->structure[0] && !has_key(v, t, "structure"),
             v_space, &c->space, NULL) &&
         opt(v, t, "optim", 0, v_optim, c, NULL) &&
         opt(v, t, "schedule", 0, v_schedules, c, NULL) &&
         opt(v, t, "search", 0, v_search, c, NULL) &&
         opt(v, t, "structure", 0, v_string, c->structure, STR(c->structure)) &&
         opt(v, t, "seed", 0, v_int64, &seed, &R_NONNEG) &&
         opt(v, t, "threads", 0, v_int, &c->threads, &thr_r) &&
         opt(v, t, "device", 0, v_device, c->device, STR(c->device)) &&
         opt(v, t, "session", 0, v_string, c->session, STR(c->session)) &&
         opt(v, t, "policy", 0, v_policy, c->policy, STR(c->policy));
    c->seed = (uint64_t)seed;
    if (ok && c->structure[0] && c->mode != CFG_MODE_TRAIN) {
        snprintf(v->path, sizeof v->path, "structure");
        ok = verr(v, "only used with mode = \"train\"");
    }
    if (ok && c->train.full && c->mode != CFG_MODE_TRAIN) {
        snprintf(v->path, sizeof v->path, "train.full");
        ok = verr(v, "full fine-tuning is a fixed structure: use it with mode = \"train\"");
    }
    return ok && check_family(v, c);
}

/* ---- entry points ---- */

struct validate_args {
    struct vctx *v;
    struct run_config *cfg;
    int ok;
};

/* Protected: reading the table may allocate (key strings), so it runs under lua_pcall. */
static int validate_protected(lua_State *L) {
    struct validate_args *a = lua_touserdata(L, 1);
    lua_pushvalue(L, 2);
    a->ok = v_root(a->v, lua_gettop(L), a->cfg);
    return 0;
}

pf_status script_config_from_lua(struct script *S, const char *file, struct run_config *cfg,
                                 struct pf_err *err) {
    lua_State *L = script_lua(S);
    struct vctx v = {L, file, script_sources_of(S), "", err};
    script_config_defaults(cfg);
    snprintf(cfg->file, sizeof cfg->file, "%s", file);
    struct validate_args a = {&v, cfg, 0};
    int top = lua_gettop(L);
    lua_pushcfunction(L, validate_protected);
    lua_pushlightuserdata(L, &a);
    lua_pushvalue(L, top);
    pf_status st = script_call(S, 2, 0, err);
    lua_settop(L, top);
    if (st != PF_OK)
        return st;
    return a.ok ? PF_OK : PF_ERR_SCRIPT;
}

pf_status script_config_load(const char *path, const struct script_limits *lim,
                             struct run_config *cfg, struct pf_err *err) {
    struct script *S = script_new(lim, err);
    if (!S)
        return err ? err->code : PF_ERR_NOMEM;
    struct script_sources src = {0};
    script_set_sources(S, &src);
    pf_status st = script_run_file(S, path, 0, 1, err);
    if (st == PF_OK)
        st = script_config_from_lua(S, path, cfg, err);
    script_free(S);
    script_sources_free(&src);
    return st;
}
