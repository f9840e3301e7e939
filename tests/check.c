/* check.c - shared helpers for the Criterion tests: random data, fp32-vs-fp64 comparison and
 * finite-difference gradients in double precision. */
#include "check.h"

#include "model/model.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "util/rng.h"
#include "util/rng.h"

void check_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform_at(seed, i);
}

void check_fill_d(double *x, size_t n, uint64_t seed, double lo, double hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (double)rng_uniform_at(seed, i);
}

void check_to_double(double *d, const float *f, size_t n) {
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
}

void check_to_float(float *f, const double *d, size_t n) {
    for (size_t i = 0; i < n; i++)
        f[i] = (float)d[i];
}

int check_close(const char *what, const float *got, const double *want, size_t n, double rtol,
                double atol) {
    size_t worst = 0;
    double worst_excess = -INFINITY, worst_err = 0.0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double allowed = atol + rtol * fabs(want[i]);
        if (!(err <= allowed)) /* also catches NaN */
            ok = 0;
        double excess = isnan(err) ? INFINITY : err - allowed;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
            worst_err = err;
        }
    }
    if (!ok)
        fprintf(stderr, "%s: element %zu: got %.9g, want %.9g (|err| %.3g > %.3g + %.3g*|want|)\n",
                what, worst, (double)got[worst], want[worst], worst_err, atol, rtol);
    return ok;
}

void check_numgrad(double *grad, double *x, size_t n, check_loss_fn loss, void *ctx,
                   double step) {
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        double h = step * (fabs(x0) > 1.0 ? fabs(x0) : 1.0);
        x[i] = x0 + h;
        double lp = loss(ctx);
        x[i] = x0 - h;
        double lm = loss(ctx);
        x[i] = x0;
        grad[i] = (lp - lm) / (2.0 * h);
    }
}

double check_dot(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

double check_maxabs(const double *x, size_t n) {
    double m = 1e-30;
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i]) > m)
            m = fabs(x[i]);
    return m;
}

void *check_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    cr_assert_not_null(p, "test buffer of %zu bytes", bytes);
    return p;
}

struct backend *check_cpu(int threads) {
    static struct backend *be;
    if (!be)
        be = backend_cpu_new(threads);
    backend_cpu_set_threads(be, threads);
    return be;
}

struct tensor check_tensor(struct backend *be, void *data, enum tensor_dtype dt, const char *name,
                           int ndim, const int64_t *shape) {
    struct tensor t;
    struct pf_err err = {0};
    pf_status st = tensor_wrap(&t, be, data, dt, name, ndim, shape, &err);
    cr_assert_eq(st, PF_OK, "tensor_wrap(%s): %s", name, err.msg);
    return t;
}

void check_ref_attention(double *out, const double *q, const double *k, const double *v,
                         const int32_t *mask, int B, int T, int H, int KVH, int D, int causal) {
    int HD = H * D, KV = KVH * D;
    double *s = check_alloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int kh = h / (H / KVH);
            for (int t = 0; t < T; t++) {
                double mx = -INFINITY, z = 0;
                for (int u = 0; u < T; u++) {
                    s[u] = -INFINITY;
                    if ((mask && !mask[b * T + u]) || (causal && u > t))
                        continue;
                    double dot = 0;
                    for (int e = 0; e < D; e++)
                        dot += q[(b * T + t) * HD + h * D + e] * k[(b * T + u) * KV + kh * D + e];
                    s[u] = dot / sqrt((double)D);
                    mx = fmax(mx, s[u]);
                }
                for (int u = 0; u < T; u++)
                    z += s[u] == -INFINITY ? 0 : exp(s[u] - mx);
                for (int e = 0; e < D; e++) {
                    double acc = 0;
                    for (int u = 0; u < T; u++)
                        if (s[u] != -INFINITY)
                            acc += exp(s[u] - mx) / z * v[(b * T + u) * KV + kh * D + e];
                    out[(b * T + t) * HD + h * D + e] = acc;
                }
            }
        }
    free(s);
}

const char *check_write_temp(const char *name, const char *text) {
    static char dir[64], path[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/bipeft_test_XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp, "%s", path);
    fputs(text, fp);
    fclose(fp);
    return path;
}

const char *check_temp_dir(void) {
    static char dir[512];
    const char *p = check_write_temp("probe.txt", "");
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    return dir;
}

static const char *const words_a[] = {"apple", "river", "green", "happy", "sun", "song"};
static const char *const words_b[] = {"stone", "cold", "dark", "sad", "iron", "rain"};
static const char *const words_n[] = {"the", "a", "was", "and", "very"};

void check_write_words(const char *name, int n, uint64_t seed) {
    size_t cap = (size_t)n * 96 + 64, k = 0;
    char *buf = check_alloc(cap);
    k += (size_t)snprintf(buf, cap, "sentence\tlabel\n");
    for (int i = 0; i < n; i++) {
        int y = i % 2, len = 3 + (int)(rng_uniform_at(seed, (uint64_t)i * 16) * 4);
        for (int w = 0; w < len; w++) {
            float u = rng_uniform_at(seed, (uint64_t)i * 16 + 1 + (uint64_t)w);
            int j = (int)(u * 6) % 6;
            const char *word = w % 3 == 1 ? words_n[j % 5] : (y ? words_b[j] : words_a[j]);
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", w ? " " : "", word);
        }
        k += (size_t)snprintf(buf + k, cap - k, "\t%d\n", y);
    }
    check_write_temp(name, buf);
    free(buf);
}

static const char *bipeft_bin(void) {
    const char *bin = getenv("BIPEFT_BIN");
    cr_assert_not_null(bin, "BIPEFT_BIN is not set (run through make test)");
    return bin;
}

int check_run_shell(const char *args, const char *capture, char *out, size_t outsz) {
    char cmd[2048];
    const char *redir = !strcmp(capture, "both")     ? "2>&1"
                        : !strcmp(capture, "stderr") ? "2>&1 >/dev/null"
                                                     : "2>/dev/null";
    snprintf(cmd, sizeof cmd, "%s %s %s", bipeft_bin(), args, redir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, outsz - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t check_spawn_argv(const char *const *args, int ofd, int efd) {
    const char *bin = bipeft_bin();
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(ofd >= 0 ? ofd : nul, 1);
        dup2(efd >= 0 ? efd : nul, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

char *check_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = check_alloc((size_t)n + 1);
    cr_assert(fread(p, 1, (size_t)n, f) == (size_t)n, "%s: short read", path);
    p[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return p;
}

int check_run_argv(const char *const *args, char *out, size_t outsz, char *errb, size_t errsz) {
    char opath[] = "/tmp/bipeft-out-XXXXXX", epath[] = "/tmp/bipeft-err-XXXXXX";
    int ofd = mkstemp(opath), efd = mkstemp(epath);
    cr_assert(ofd >= 0 && efd >= 0);
    pid_t pid = check_spawn_argv(args, ofd, efd);
    int st;
    waitpid(pid, &st, 0);
    char *bufs[2] = {out, errb};
    size_t sizes[2] = {outsz, errsz};
    int fds[2] = {ofd, efd};
    for (int k = 0; k < 2; k++) {
        lseek(fds[k], 0, SEEK_SET);
        ssize_t got = read(fds[k], bufs[k], sizes[k] - 1);
        bufs[k][got > 0 ? got : 0] = '\0';
        close(fds[k]);
    }
    unlink(opath);
    unlink(epath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

float *check_st_f32(const struct st_file *f, const char *name, int64_t want_numel,
                    int64_t *numel) {
    const struct st_info *t = st_find(f, name);
    cr_assert_not_null(t, "%s: no tensor '%s'", f->path, name);
    cr_assert(want_numel < 0 || t->numel == want_numel, "%s: '%s' has %lld elements, expected "
              "%lld", f->path, name, (long long)t->numel, (long long)want_numel);
    float *d = check_alloc((size_t)t->numel * sizeof(float));
    struct pf_err err = {0};
    CHECK_OK(st_read_f32(f, t, d, t->numel, &err), &err);
    if (numel)
        *numel = t->numel;
    return d;
}

int32_t *check_st_i32(const struct st_file *f, const char *name, int64_t *numel) {
    const struct st_info *t = st_find(f, name);
    *numel = 0;
    if (!t)
        return NULL;
    int32_t *d = check_alloc((size_t)t->numel * sizeof(int32_t));
    struct pf_err err = {0};
    CHECK_OK(st_read_i32(f, t, d, t->numel, &err), &err);
    *numel = t->numel;
    return d;
}

void check_tiny_model(struct model *m, enum model_family fam, int layers) {
    struct model_config c;
    memset(&c, 0, sizeof c);
    c.family = fam;
    c.vocab = 20;
    c.hidden = 8;
    c.layers = layers;
    c.heads = 2;
    c.kv_heads = fam == FAM_LLAMA ? 1 : 2;
    c.head_dim = 4;
    c.ffn = 12;
    c.max_pos = 16;
    c.type_vocab = fam == FAM_BERT ? 2 : 0;
    c.norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.act = fam == FAM_GPT2 ? ACT_GELU_TANH : fam == FAM_LLAMA ? ACT_SILU : ACT_GELU_ERF;
    c.pad_id = 0;
    c.bos_id = c.eos_id = -1;
    c.num_labels = 2;
    struct pf_err err = {0};
    cr_assert_eq(model_create(m, &c, check_cpu(1), HEAD_NONE, 0, &err), PF_OK, "%s", err.msg);
    model_init_params(m, 7, 0);
}

