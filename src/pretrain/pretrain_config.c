/* pretrain_config.c - a pretraining config (a Lua chunk returning a table) validated into
 * struct pretrain_config (pretrain.h). The chunk runs in the run configs' sandbox
 * (script/script.h: same limits, `include`, the peft stdlib); the table is read with raw
 * accesses only and every error names the file and the field. A separate small table rather
 * than a section of struct run_config: that one describes fine-tuning a given checkpoint on a
 * task (model.path and task are required there) and shares no field with pretraining. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lua.h>

#include "pretrain/pretrain.h"
#include "script/script.h"

void pretrain_config_defaults(struct pretrain_config *c) {
    memset(c, 0, sizeof *c);
    c->model.layers = 2;
    c->model.hidden = 128;
    c->model.heads = 2;
    c->model.intermediate = 512;
    c->model.max_positions = 512;
    c->model.type_vocab = 2;
    c->eval_fraction = 0.05;
    c->max_len = 128;
    c->batch_size = 32;
    c->steps = 1000;
    c->lr = 5e-4;
    c->warmup = -1; /* resolved to steps / 10 */
    c->schedule = PRETRAIN_SCHED_LINEAR;
    c->weight_decay = 0.01;
    c->betas[0] = 0.9;
    c->betas[1] = 0.999;
    c->eps = 1e-8;
    c->clip = 1.0;
    c->mask_prob = 0.15;
    c->seed = 42;
    c->log_every = 10;
    c->eval_max = 512;
}

struct pctx {
    lua_State *L;
    const char *file;
    struct pf_err *err;
};

static const char *type_of(lua_State *L, int idx, char *buf, size_t n) {
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING)
        snprintf(buf, n, "\"%.40s\"", lua_tostring(L, idx));
    else if (t == LUA_TNUMBER)
        snprintf(buf, n, "%.17g", lua_tonumber(L, idx));
    else
        snprintf(buf, n, "%s", lua_typename(L, t));
    return buf;
}

static pf_status bad(struct pctx *x, const char *field, const char *what, int idx) {
    char got[64];
    return pf_err_set(x->err, PF_ERR_SCRIPT, "%s: %s: expected %s, got %s", x->file, field, what,
                      type_of(x->L, idx, got, sizeof got));
}

/* Every key of the table at t must be one of `allowed` (NULL-terminated). */
static pf_status check_keys(struct pctx *x, int t, const char *section,
                            const char *const *allowed) {
    lua_pushnil(x->L);
    while (lua_next(x->L, t)) {
        lua_pop(x->L, 1);
        const char *k = lua_type(x->L, -1) == LUA_TSTRING ? lua_tostring(x->L, -1) : NULL;
        int ok = 0;
        for (int i = 0; k && allowed[i]; i++)
            ok |= !strcmp(k, allowed[i]);
        if (!ok) {
            char list[512] = "", got[64];
            for (int i = 0; allowed[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         allowed[i]);
            pf_status st = pf_err_set(x->err, PF_ERR_SCRIPT, "%s: %s%s%s: unknown key "
                                      "(expected one of: %s)", x->file, section,
                                      section[0] ? "." : "",
                                      k ? k : type_of(x->L, -1, got, sizeof got), list);
            lua_pop(x->L, 1);
            return st;
        }
    }
    return PF_OK;
}

/* Push t[key] raw; returns 1 when present (left on the stack), 0 when nil (popped). */
static int get(struct pctx *x, int t, const char *key) {
    lua_pushstring(x->L, key);
    if (lua_rawget(x->L, t) == LUA_TNIL) {
        lua_pop(x->L, 1);
        return 0;
    }
    return 1;
}

static pf_status get_int(struct pctx *x, int t, const char *key, const char *field, int64_t lo,
                         int64_t hi, int64_t *out) {
    if (!get(x, t, key))
        return PF_OK;
    pf_status st = PF_OK;
    double d = lua_type(x->L, -1) == LUA_TNUMBER ? lua_tonumber(x->L, -1) : NAN;
    if (!(d == floor(d)) || d < (double)lo || d > (double)hi) {
        char what[96];
        snprintf(what, sizeof what, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
        st = bad(x, field, what, -1);
    } else {
        *out = (int64_t)d;
    }
    lua_pop(x->L, 1);
    return st;
}

static pf_status get_i(struct pctx *x, int t, const char *key, const char *field, int lo, int hi,
                       int *out) {
    int64_t v = *out;
    pf_status st = get_int(x, t, key, field, lo, hi, &v);
    *out = (int)v;
    return st;
}

/* A number in [lo, hi] (lo excluded when lo_open). */
static pf_status get_num(struct pctx *x, int t, const char *key, const char *field, double lo,
                         int lo_open, double hi, double *out) {
    if (!get(x, t, key))
        return PF_OK;
    pf_status st = PF_OK;
    double d = lua_type(x->L, -1) == LUA_TNUMBER ? lua_tonumber(x->L, -1) : NAN;
    if (!(d == d) || (lo_open ? d <= lo : d < lo) || d > hi) {
        char what[96];
        snprintf(what, sizeof what, "a number in %c%g, %g]", lo_open ? '(' : '[', lo, hi);
        st = bad(x, field, what, -1);
    } else {
        *out = d;
    }
    lua_pop(x->L, 1);
    return st;
}

static pf_status str_at(struct pctx *x, int idx, const char *field, char *out, size_t cap) {
    size_t n = 0;
    const char *s = lua_type(x->L, idx) == LUA_TSTRING ? lua_tolstring(x->L, idx, &n) : NULL;
    if (!s || n == 0 || n >= cap || strlen(s) != n)
        return bad(x, field, "a non-empty string (a path)", idx);
    memcpy(out, s, n + 1);
    return PF_OK;
}

static pf_status get_str(struct pctx *x, int t, const char *key, char *out, size_t cap) {
    if (!get(x, t, key))
        return PF_OK;
    pf_status st = str_at(x, -1, key, out, cap);
    lua_pop(x->L, 1);
    return st;
}

static pf_status get_corpus(struct pctx *x, int t, struct pretrain_config *c) {
    if (!get(x, t, "corpus"))
        return PF_OK;
    pf_status st = PF_OK;
    int top = lua_gettop(x->L);
    if (lua_type(x->L, top) == LUA_TSTRING) {
        st = str_at(x, top, "corpus", c->corpus[0], sizeof c->corpus[0]);
        c->n_corpus = st == PF_OK;
    } else if (lua_type(x->L, top) == LUA_TTABLE) {
        int n = (int)lua_rawlen(x->L, top);
        if (n < 1 || n > PRETRAIN_MAX_FILES) {
            char what[64];
            snprintf(what, sizeof what, "a list of 1 to %d files", PRETRAIN_MAX_FILES);
            st = bad(x, "corpus", what, top);
        }
        for (int i = 0; st == PF_OK && i < n; i++) {
            char field[32];
            snprintf(field, sizeof field, "corpus[%d]", i + 1);
            lua_rawgeti(x->L, top, i + 1);
            st = str_at(x, -1, field, c->corpus[i], sizeof c->corpus[i]);
            lua_pop(x->L, 1);
        }
        c->n_corpus = st == PF_OK ? n : 0;
    } else {
        st = bad(x, "corpus", "a file name or a list of them", top);
    }
    lua_pop(x->L, 1);
    return st;
}

static pf_status get_model(struct pctx *x, int t, struct pretrain_config *c) {
    static const char *const keys[] = {"layers", "hidden", "heads", "intermediate",
                                       "max_positions", "type_vocab", NULL};
    if (!get(x, t, "model"))
        return PF_OK;
    int m = lua_gettop(x->L);
    pf_status st = lua_type(x->L, m) == LUA_TTABLE ? PF_OK : bad(x, "model", "a table", m);
    PF_STEP(st, check_keys(x, m, "model", keys));
    PF_STEP(st, get_i(x, m, "layers", "model.layers", 1, HF_MAX_LAYERS, &c->model.layers));
    PF_STEP(st, get_i(x, m, "hidden", "model.hidden", 1, HF_MAX_HIDDEN, &c->model.hidden));
    PF_STEP(st, get_i(x, m, "heads", "model.heads", 1, HF_MAX_HEADS, &c->model.heads));
    PF_STEP(st, get_i(x, m, "intermediate", "model.intermediate", 1, HF_MAX_FFN,
                      &c->model.intermediate));
    PF_STEP(st, get_i(x, m, "max_positions", "model.max_positions", 1, HF_MAX_POSITIONS,
                      &c->model.max_positions));
    PF_STEP(st, get_i(x, m, "type_vocab", "model.type_vocab", 1, 1024, &c->model.type_vocab));
    lua_pop(x->L, 1);
    if (st == PF_OK && c->model.hidden % c->model.heads)
        st = pf_err_set(x->err, PF_ERR_SCRIPT, "%s: model.heads: %d does not divide "
                        "model.hidden %d", x->file, c->model.heads, c->model.hidden);
    return st;
}

static pf_status get_schedule(struct pctx *x, int t, struct pretrain_config *c) {
    static const char *const names[] = {"linear", "cosine", "constant"};
    if (!get(x, t, "schedule"))
        return PF_OK;
    int found = -1;
    for (int i = 0; i < 3; i++)
        if (lua_type(x->L, -1) == LUA_TSTRING && !strcmp(lua_tostring(x->L, -1), names[i]))
            found = i;
    pf_status st = PF_OK;
    if (found < 0)
        st = bad(x, "schedule", "\"linear\", \"cosine\" or \"constant\"", -1);
    else
        c->schedule = (enum pretrain_sched)found;
    lua_pop(x->L, 1);
    return st;
}

static pf_status validate(struct pctx *x, struct pretrain_config *c) {
    static const char *const keys[] = {
        "model", "tokenizer", "corpus", "out", "eval_fraction", "max_len", "batch_size", "steps",
        "lr", "warmup", "schedule", "weight_decay", "betas", "eps", "clip", "mask_prob", "seed",
        "threads", "eval_every", "log_every", "eval_max", "init_from", NULL};
    int t = lua_gettop(x->L);
    if (lua_type(x->L, t) != LUA_TTABLE)
        return bad(x, "(the returned value)", "a table", t);
    int64_t seed = (int64_t)c->seed, warmup = c->warmup;
    pf_status st = check_keys(x, t, "", keys);
    PF_STEP(st, get_model(x, t, c));
    PF_STEP(st, get_str(x, t, "tokenizer", c->tokenizer, sizeof c->tokenizer));
    PF_STEP(st, get_corpus(x, t, c));
    PF_STEP(st, get_str(x, t, "out", c->out, sizeof c->out));
    PF_STEP(st, get_str(x, t, "init_from", c->init_from, sizeof c->init_from));
    PF_STEP(st, get_num(x, t, "eval_fraction", "eval_fraction", 0, 0, 0.5, &c->eval_fraction));
    PF_STEP(st, get_i(x, t, "max_len", "max_len", 8, HF_MAX_POSITIONS, &c->max_len));
    PF_STEP(st, get_i(x, t, "batch_size", "batch_size", 1, 1 << 16, &c->batch_size));
    PF_STEP(st, get_int(x, t, "steps", "steps", 1, (int64_t)1 << 40, &c->steps));
    PF_STEP(st, get_num(x, t, "lr", "lr", 0, 1, 1.0, &c->lr));
    PF_STEP(st, get_int(x, t, "warmup", "warmup", 0, (int64_t)1 << 40, &warmup));
    PF_STEP(st, get_schedule(x, t, c));
    PF_STEP(st, get_num(x, t, "weight_decay", "weight_decay", 0, 0, 1.0, &c->weight_decay));
    PF_STEP(st, get_num(x, t, "eps", "eps", 0, 1, 1.0, &c->eps));
    PF_STEP(st, get_num(x, t, "clip", "clip", 0, 0, 1e9, &c->clip));
    PF_STEP(st, get_num(x, t, "mask_prob", "mask_prob", 0, 1, 0.9, &c->mask_prob));
    PF_STEP(st, get_int(x, t, "seed", "seed", 0, (int64_t)1 << 53, &seed));
    PF_STEP(st, get_i(x, t, "threads", "threads", 0, 4096, &c->threads));
    PF_STEP(st, get_int(x, t, "eval_every", "eval_every", 0, (int64_t)1 << 40, &c->eval_every));
    PF_STEP(st, get_i(x, t, "log_every", "log_every", 1, 1 << 30, &c->log_every));
    PF_STEP(st, get_i(x, t, "eval_max", "eval_max", 1, 1 << 30, &c->eval_max));
    if (st == PF_OK && get(x, t, "betas")) {
        int b = lua_gettop(x->L);
        int ok = lua_type(x->L, b) == LUA_TTABLE && lua_rawlen(x->L, b) == 2;
        for (int i = 0; ok && i < 2; i++) {
            lua_rawgeti(x->L, b, i + 1);
            double d = lua_type(x->L, -1) == LUA_TNUMBER ? lua_tonumber(x->L, -1) : NAN;
            ok = d >= 0 && d < 1;
            c->betas[i] = d;
            lua_pop(x->L, 1);
        }
        if (!ok)
            st = bad(x, "betas", "two numbers in [0, 1)", b);
        lua_pop(x->L, 1);
    }
    if (st != PF_OK)
        return st;
    c->seed = (uint64_t)seed;
    c->warmup = warmup >= 0 ? warmup : c->steps / 10;
    const char *missing = !c->tokenizer[0] ? "tokenizer" : !c->n_corpus ? "corpus"
                          : !c->out[0]     ? "out" : NULL;
    if (missing)
        return pf_err_set(x->err, PF_ERR_SCRIPT, "%s: %s: missing (required)", x->file, missing);
    if (c->max_len > c->model.max_positions)
        return pf_err_set(x->err, PF_ERR_SCRIPT, "%s: max_len: %d exceeds model.max_positions %d",
                          x->file, c->max_len, c->model.max_positions);
    if (c->warmup > c->steps)
        return pf_err_set(x->err, PF_ERR_SCRIPT, "%s: warmup: %lld exceeds steps %lld", x->file,
                          (long long)c->warmup, (long long)c->steps);
    return PF_OK;
}

pf_status pretrain_config_load(const char *path, struct pretrain_config *c, struct pf_err *err) {
    pretrain_config_defaults(c);
    if (strlen(path) >= sizeof c->file)
        return pf_err_set(err, PF_ERR_ARG, "config path too long");
    snprintf(c->file, sizeof c->file, "%s", path);
    struct script *S = script_new(NULL, err);
    if (!S)
        return err ? err->code : PF_ERR_NOMEM;
    struct script_sources src = {0};
    script_set_sources(S, &src);
    pf_status st = script_run_file(S, path, 0, 1, err);
    if (st == PF_OK) {
        struct pctx x = {script_lua(S), path, err};
        st = validate(&x, c);
        lua_settop(x.L, 0);
    }
    script_free(S);
    script_sources_free(&src);
    return st;
}
