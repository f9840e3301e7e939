/* search_session.c - a session folder's set-up files: the resolved config as a loadable Lua
 * file (DIR/config.lua, every path absolute, checked to read back to the same config), its
 * JSON (DIR/config.json), and a copy of the policy source (DIR/policy.lua). `bipeft resume`
 * reads DIR/config.lua, so a session never depends on files that may change after it
 * started (other than the model and the data). */
#define _XOPEN_SOURCE 700 /* realpath */
#define _DEFAULT_SOURCE   /* flock */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "search/search_internal.h"
#include "search/search_session.h"
#include "util/atomic.h"
#include "util/xalloc.h"

struct sbuf {
    char *p;
    size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_quoted(struct sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char e[8];
        if (*c == '"' || *c == '\\') {
            e[0] = '\\';
            e[1] = (char)*c;
            sb_put(b, e, 2);
        } else if (*c < 32 || *c == 127) {
            snprintf(e, sizeof e, "\\%03u", *c);
            sb_str(b, e);
        } else {
            sb_put(b, (const char *)c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static void to_lua(struct sbuf *b, const cJSON *j, int depth) {
    char num[64];
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        int obj = cJSON_IsObject(j);
        sb_str(b, "{\n");
        for (const cJSON *c = j->child; c; c = c->next) {
            if (cJSON_IsNull(c) || (depth == 0 && c->string && !strcmp(c->string, "file")))
                continue;
            for (int i = 0; i <= depth; i++)
                sb_str(b, "  ");
            if (obj) {
                sb_str(b, "[");
                sb_quoted(b, c->string);
                sb_str(b, "] = ");
            }
            to_lua(b, c, depth + 1);
            sb_str(b, ",\n");
        }
        for (int i = 0; i < depth; i++)
            sb_str(b, "  ");
        sb_str(b, "}");
    } else if (cJSON_IsString(j)) {
        sb_quoted(b, j->valuestring);
    } else if (cJSON_IsBool(j)) {
        sb_str(b, cJSON_IsTrue(j) ? "true" : "false");
    } else if (cJSON_IsNumber(j)) {
        snprintf(num, sizeof num, "%.17g", j->valuedouble);
        sb_str(b, num);
    } else {
        sb_str(b, "nil");
    }
}

/* path made absolute in place (realpath when it exists, else the working folder in front). */
static pf_status absolute(char *path, size_t n, const char *field, struct pf_err *err) {
    if (!path[0] || path[0] == '/')
        return PF_OK;
    char buf[PATH_MAX], cwd[PATH_MAX], tmp[PATH_MAX + CFG_PATH_MAX + 2];
    const char *res = buf;
    if (!realpath(path, buf)) {
        if (!getcwd(cwd, sizeof cwd))
            return pf_err_set(err, PF_ERR_IO, "%s: cannot read the working folder: %s", field,
                              strerror(errno));
        if (snprintf(tmp, sizeof tmp, "%s/%s", cwd, path) >= (int)sizeof tmp)
            return pf_err_set(err, PF_ERR_ARG, "%s: path too long", field);
        res = tmp;
    }
    if (snprintf(path, n, "%s", res) >= (int)n)
        return pf_err_set(err, PF_ERR_ARG, "%s: the absolute path of '%s' is longer than %zu "
                          "bytes", field, path, n - 1);
    return PF_OK;
}

static pf_status read_all(const char *path, char **out, size_t *len, struct pf_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    struct sbuf b = {0};
    char chunk[8192];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_put(&b, chunk, k);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        xfree(b.p);
        return pf_err_set(err, PF_ERR_IO, "%s: read error", path);
    }
    *out = b.p ? b.p : xcalloc(1, 1);
    *len = b.n;
    return PF_OK;
}

pf_status search_session_dir(const struct run_config *cfg, const char *method,
                             const char *given, char *dir, size_t n, struct pf_err *err) {
    if (given && given[0]) {
        snprintf(dir, n, "%s", given);
        char probe[1100];
        snprintf(probe, sizeof probe, "%s/log.db", dir);
        if (access(probe, F_OK) == 0)
            return pf_err_set(err, PF_ERR_IO, "%s: a session is already there (continue it with "
                              "bipeft resume %s, or pick another folder)", dir, dir);
        return atomic_mkdirs(dir, err);
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    const char *root = cfg->session[0] ? cfg->session : "sessions";
    for (int k = 1; k < 1000; k++) {
        if (k == 1)
            snprintf(dir, n, "%s/%s-%s-%s", root, cfg->task.name, method, stamp);
        else
            snprintf(dir, n, "%s/%s-%s-%s-%d", root, cfg->task.name, method, stamp, k);
        if (access(dir, F_OK) != 0)
            return atomic_mkdirs(dir, err);
    }
    return pf_err_set(err, PF_ERR_IO, "%s: too many sessions started this second", root);
}

/* The policy file a config names, resolved like script_policy_load does: relative to the
 * config's folder. */
static void policy_path(const struct run_config *cfg, char *out, size_t n) {
    if (cfg->policy[0] == '/') {
        snprintf(out, n, "%s", cfg->policy);
        return;
    }
    const char *slash = strrchr(cfg->file, '/');
    if (slash)
        snprintf(out, n, "%.*s/%s", (int)(slash - cfg->file), cfg->file, cfg->policy);
    else
        snprintf(out, n, "%s", cfg->policy);
}

pf_status search_session_policy_source(const struct run_config *cfg, char *out, size_t n,
                                       struct pf_err *err) {
    if (!strcmp(cfg->policy, "default")) {
        snprintf(out, n, "default");
        return PF_OK;
    }
    char p[PATH_MAX];
    policy_path(cfg, p, sizeof p);
    pf_status st = absolute(p, sizeof p, "policy", err);
    if (st == PF_OK && snprintf(out, n, "%s", p) >= (int)n)
        st = pf_err_set(err, PF_ERR_ARG, "%s: policy: the path '%s' is longer than %zu bytes",
                        cfg->file, p, n - 1);
    return st;
}

/* Refuse schedules a session cannot store (Lua functions) and make every path of cfg (the
 * copy of in) absolute. */
static pf_status session_paths(const struct run_config *in, struct run_config *cfg,
                               struct pf_err *err) {
    const struct cfg_schedule *sc[3] = {&cfg->schedule.lr, &cfg->schedule.arch_lr,
                                        &cfg->schedule.tau};
    const char *sn[3] = {"lr", "arch_lr", "tau"};
    for (int i = 0; i < 3; i++)
        if (sc[i]->kind == CFG_SCHED_CUSTOM)
            return pf_err_set(err, PF_ERR_UNSUPPORTED, "%s: schedule.%s: a Lua function "
                              "schedule cannot be stored in a session for resuming; use "
                              "constant, linear, cosine or step, or a policy's %s hook", in->file,
                              sn[i], i == 2 ? "tau" : "lr");
    pf_status st = PF_OK;
    PF_STEP(st, absolute(cfg->model.path, sizeof cfg->model.path, "model.path", err));
    PF_STEP(st, absolute(cfg->task.train, sizeof cfg->task.train, "task.train", err));
    PF_STEP(st, absolute(cfg->task.dev, sizeof cfg->task.dev, "task.dev", err));
    PF_STEP(st, absolute(cfg->task.test, sizeof cfg->task.test, "task.test", err));
    PF_STEP(st, absolute(cfg->structure, sizeof cfg->structure, "structure", err));
    PF_STEP(st, absolute(cfg->session, sizeof cfg->session, "session", err));
    return st;
}

/* Copy a non-default policy's source to DIR/policy.lua and point cfg->policy at the copy. */
static pf_status session_policy_copy(const struct run_config *in, struct run_config *cfg,
                                     const char *dir, struct pf_err *err) {
    if (strcmp(cfg->policy, "default") == 0)
        return PF_OK;
    char p[1200];
    char src[1200];
    policy_path(in, src, sizeof src);
    char *txt = NULL;
    size_t len = 0;
    pf_status st = read_all(src, &txt, &len, err);
    snprintf(p, sizeof p, "%s/policy.lua", dir);
    if (st == PF_OK)
        st = atomic_write(p, txt, len, err);
    xfree(txt);
    if (st != PF_OK)
        return st;
    PF_STEP(st, absolute(p, sizeof p, "policy", err));
    if (st == PF_OK && snprintf(cfg->policy, sizeof cfg->policy, "%s", p) >=
                           (int)sizeof cfg->policy)
        st = pf_err_set(err, PF_ERR_ARG, "%s: session path too long for the policy copy",
                        dir);
    return st;
}

/* DIR/config.lua must load and give back json (the config's JSON) but for its "file". */
static pf_status session_read_back(const char *dir, const char *json, struct pf_err *err) {
    char p[1200];
    struct run_config back;
    snprintf(p, sizeof p, "%s/config.lua", dir);
    struct pf_err e2 = {0};
    pf_status st = script_config_load(p, NULL, &back, &e2);
    if (st == PF_OK) {
        char *j2 = script_config_to_json(&back);
        /* the "file" fields differ by design */
        const char *a = json ? strchr(json, '\n') : NULL, *c = j2 ? strchr(j2, '\n') : NULL;
        a = a ? strchr(a + 1, '\n') : NULL;
        c = c ? strchr(c + 1, '\n') : NULL;
        if (!a || !c || strcmp(a, c) != 0)
            st = pf_err_set(err, PF_ERR_SCRIPT, "%s: the resolved config does not read back "
                            "to the same values (a bug; please report it)", p);
        free(j2);
    } else {
        st = pf_err_set(err, st, "%s: the resolved config does not load: %s", p, e2.msg);
    }
    return st;
}

pf_status search_session_write_config(const struct run_config *in, const char *dir,
                                      struct pf_err *err) {
    struct run_config cfg = *in;
    pf_status st = session_paths(in, &cfg, err);
    PF_STEP(st, session_policy_copy(in, &cfg, dir, err));
    if (st != PF_OK)
        return st;
    char p[1200];
    char *json = script_config_to_json(&cfg);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (!j) {
        free(json);
        return pf_err_set(err, PF_ERR_NOMEM, "out of memory");
    }
    struct sbuf b = {0};
    sb_str(&b, "-- The resolved config of this session (written by bipeft search; bipeft resume "
               "reads it).\nreturn ");
    to_lua(&b, j, 0);
    sb_str(&b, "\n");
    cJSON_Delete(j);
    snprintf(p, sizeof p, "%s/config.lua", dir);
    st = atomic_write(p, b.p, b.n, err);
    xfree(b.p);
    if (st == PF_OK) {
        snprintf(p, sizeof p, "%s/config.json", dir);
        st = atomic_write(p, json, strlen(json), err);
    }
    /* it must read back to the same config */
    if (st == PF_OK)
        st = session_read_back(dir, json, err);
    free(json);
    return st;
}

pf_status search_session_lock(const char *dir, int *fd, struct pf_err *err) {
    *fd = -1;
    char p[1100];
    if (snprintf(p, sizeof p, "%s/lock", dir) >= (int)sizeof p)
        return pf_err_set(err, PF_ERR_ARG, "%s: session path too long", dir);
    int f = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open the session's lock file: %s", p,
                          strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t k = pread(f, pid, sizeof pid - 1, 0);
        close(f);
        pid[k > 0 ? k : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            return pf_err_set(err, PF_ERR_IO, "session %s is in use by process %s (wait for it "
                              "to end, or stop it: it writes a checkpoint on SIGINT/SIGTERM)",
                              dir, pid[0] ? pid : "(unknown)");
        return pf_err_set(err, PF_ERR_IO, "%s: cannot lock: %s", p, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
        int e = errno;
        close(f);
        return pf_err_set(err, PF_ERR_IO, "%s: cannot write the owner's pid: %s", p, strerror(e));
    }
    *fd = f;
    return PF_OK;
}
