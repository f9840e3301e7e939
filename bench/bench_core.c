/* bench_core.c - `make bench`: speed of the CPU compute core, measured against peers in the
 * same run (OpenBLAS sgemm for the layer GEMMs, a parallel memcpy of the same bytes for the
 * non-GEMM ops) and the share of a whole layer's forward+backward spent outside sgemm.
 *
 * Shapes: BERT-small (4 layers, hidden 256, FFN 1024, 32 x 128 = 4096 tokens, 4 heads) and a
 * BERT-base layer (hidden 768, FFN 3072, 16 x 128 = 2048 tokens, 12 heads); the whole-model
 * table runs all layers of each (4 and 12) with the embeddings, frozen, forward and the
 * backward to the input embeddings (what PEFT training needs). Every figure is
 * the median of --reps timed runs after one warm-up. Prints markdown tables on stdout.
 * Not a test: nothing here asserts, and timings are never used by `make test`. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/backend.h"
#include "core/cpu/cpu_kernels.h"
#include "core/ops.h"
#include "model/block.h"
#include "model/model.h"
#include "util/rng.h"

const struct bench_shape bench_shapes[2] = {
    {"BERT-small", 32, 128, 256, 4, 1024, 4},
    {"BERT-base", 16, 128, 768, 12, 3072, 12},
};

static int reps = 7;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_now(void) {
    return now_s();
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die_on(pf_status st, const struct pf_err *err) {
    if (st != PF_OK) {
        fprintf(stderr, "bench: %s\n", err->msg);
        exit(1);
    }
}

void bench_die_on(pf_status st, const struct pf_err *err) {
    die_on(st, err);
}

double bench_median(double *v, int n) {
    return median(v, n);
}

static float *fbuf(size_t n, uint64_t seed) {
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, n * sizeof(float) + 64) != 0) {
        fprintf(stderr, "bench: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = rng_uniform_at(seed, i) - 0.5f;
    return p;
}

/* ---- sgemm ---- */

struct gemm_case {
    const char *what;
    int ta, tb, M, N, K;
};

static double time_gemm(const struct gemm_case *g) {
    size_t na = (size_t)g->M * g->K, nb = (size_t)g->K * g->N, nc = (size_t)g->M * g->N;
    float *a = fbuf(na, 1), *b = fbuf(nb, 2), *c = fbuf(nc, 3);
    double t[64];
    for (int r = -1; r < reps; r++) {
        double t0 = now_s();
        cpu_sgemm(g->ta, g->tb, g->M, g->N, g->K, 1.0f, a, g->ta ? g->M : g->K, b,
                  g->tb ? g->K : g->N, 0.0f, c, g->N);
        if (r >= 0)
            t[r] = now_s() - t0;
    }
    free(a);
    free(b);
    free(c);
    return median(t, reps);
}

static void bench_gemm(const struct bench_shape *s) {
    int N = s->B * s->T, C = s->C, F = s->F;
    struct gemm_case cases[] = {
        {"qkv/o fwd  x W^T", 0, 1, N, C, C},  {"ffn up fwd x W^T", 0, 1, N, F, C},
        {"ffn down fwd", 0, 1, N, C, F},      {"dx = dy W (ffn up)", 0, 0, N, C, F},
        {"dW = dy^T x (ffn up)", 1, 0, F, C, N}, {"dW = dy^T x (qkv)", 1, 0, C, C, N},
    };
    printf("\n### sgemm, %s layer shapes (%d tokens)\n\n", s->name, N);
    printf("| GEMM | M x N x K | median ms | GFLOP/s |\n|---|---|---:|---:|\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct gemm_case *g = &cases[i];
        double t = time_gemm(g);
        printf("| %s | %d x %d x %d | %.2f | %.1f |\n", g->what, g->M, g->N, g->K, 1e3 * t,
               2.0 * g->M * g->N * (double)g->K / t * 1e-9);
    }
}

/* ---- non-GEMM ops against memcpy of the same bytes ---- */

static double time_memcpy(size_t bytes) {
    char *src = (char *)fbuf(bytes / 4 + 1, 4), *dst = (char *)fbuf(bytes / 4 + 1, 5);
    double t[64];
    for (int r = -1; r < reps; r++) {
        double t0 = now_s();
#pragma omp parallel
        {
            int nt = omp_get_num_threads(), id = omp_get_thread_num();
            size_t chunk = (bytes + (size_t)nt - 1) / (size_t)nt;
            size_t lo = chunk * (size_t)id, hi = lo + chunk > bytes ? bytes : lo + chunk;
            if (lo < hi)
                memcpy(dst + lo, src + lo, hi - lo);
        }
        if (r >= 0)
            t[r] = now_s() - t0;
    }
    free(src);
    free(dst);
    return median(t, reps);
}

/* Bytes read+written by an op; memcpy moves `bytes/2` each way for the same total. */
static void report(const char *what, double t, size_t bytes_moved) {
    double tm = time_memcpy(bytes_moved / 2);
    printf("| %s | %.3f | %.1f | %.3f | %.0f%% |\n", what, 1e3 * t, bytes_moved / t * 1e-9,
           1e3 * tm, 100.0 * tm / t);
}

typedef void (*op_fn)(void *ctx);

static double time_op(op_fn f, void *ctx) {
    double t[64];
    for (int r = -1; r < reps; r++) {
        double t0 = now_s();
        f(ctx);
        if (r >= 0)
            t[r] = now_s() - t0;
    }
    return median(t, reps);
}

struct op_ctx {
    struct backend *be;
    float *x, *y, *dy, *dx, *w, *b, *dw, *db, *mean, *rstd, *att, *q, *k, *v, *o, *datt;
    int N, C, B, T, H, D;
};

static void ln_fwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->layernorm_forward(c->be, c->y, c->mean, c->rstd, c->x, c->w, c->b, c->N, c->C,
                                  1e-12f);
}

static void ln_bwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->layernorm_backward(c->be, c->dx, c->dw, c->db, c->dy, c->x, c->w, c->mean,
                                   c->rstd, c->N, c->C);
}

static void gelu_fwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->gelu_forward(c->be, c->y, c->x, (size_t)c->N * c->C, GELU_ERF);
}

static void gelu_bwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->gelu_backward(c->be, c->dx, c->dy, c->x, (size_t)c->N * c->C, GELU_ERF);
}

static void softmax_fwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->softmax_forward(c->be, c->y, c->x, c->N, c->C);
}

static void attn_fwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->attention_forward(c->be, c->o, c->att, c->q, c->k, c->v, NULL, c->B, c->T, c->H,
                                  c->H, c->D, 0, 0.125f);
}

static void attn_bwd(void *p) {
    struct op_ctx *c = p;
    c->be->ops->attention_backward(c->be, c->dx, c->dw, c->db, c->datt, c->dy, c->q, c->k, c->v,
                                   c->att, c->B, c->T, c->H, c->H, c->D, 0, 0.125f);
}

static void bench_ops(struct backend *be, const struct bench_shape *s) {
    int N = s->B * s->T, C = s->C, F = s->F;
    size_t big = (size_t)N * (F > C ? F : C);
    size_t attn = (size_t)s->B * s->H * s->T * s->T;
    size_t maxn = big > attn ? big : attn;
    struct op_ctx c = {.be = be, .x = fbuf(maxn, 1), .y = fbuf(maxn, 2), .dy = fbuf(maxn, 3),
                       .dx = fbuf(maxn, 4), .w = fbuf((size_t)F, 5), .b = fbuf((size_t)F, 6),
                       .dw = fbuf(maxn, 7), .db = fbuf(maxn, 8), .mean = fbuf((size_t)N, 9),
                       .rstd = fbuf((size_t)N, 10), .att = fbuf(attn, 11), .q = fbuf(big, 12),
                       .k = fbuf(big, 13), .v = fbuf(big, 14), .o = fbuf(big, 15),
                       .datt = fbuf(attn, 16)};
    size_t fl = sizeof(float);
    printf("\n### non-GEMM ops, %s shapes, against a %d-thread memcpy of the same bytes\n\n",
           s->name, be->threads);
    printf("| op | median ms | GB/s | memcpy ms | %% of memcpy speed |\n"
           "|---|---:|---:|---:|---:|\n");
    c.N = N;
    c.C = C;
    report("LayerNorm fwd (N x C)", time_op(ln_fwd, &c), 2 * (size_t)N * C * fl);
    report("LayerNorm bwd (N x C)", time_op(ln_bwd, &c), 3 * (size_t)N * C * fl);
    c.C = F;
    report("GELU erf fwd (N x F)", time_op(gelu_fwd, &c), 2 * (size_t)N * F * fl);
    report("GELU erf bwd (N x F)", time_op(gelu_bwd, &c), 3 * (size_t)N * F * fl);
    c.N = s->B * s->H * s->T;
    c.C = s->T;
    report("softmax fwd (B*H*T x T)", time_op(softmax_fwd, &c), 2 * attn * fl);
    c.B = s->B;
    c.T = s->T;
    c.H = s->H;
    c.D = C / s->H;
    double ta = time_op(attn_fwd, &c), tb = time_op(attn_bwd, &c);
    double flops = 4.0 * s->B * s->H * (double)s->T * s->T * c.D;
    printf("| attention fwd, seq %d (incl. its GEMMs) | %.3f | - | - | %.1f GFLOP/s |\n", s->T,
           1e3 * ta, flops / ta * 1e-9);
    printf("| attention bwd, seq %d (incl. its GEMMs) | %.3f | - | - | %.1f GFLOP/s |\n", s->T,
           1e3 * tb, 2 * flops / tb * 1e-9);
    float *bufs[] = {c.x, c.y, c.dy, c.dx, c.w, c.b, c.dw, c.db, c.mean, c.rstd, c.att, c.q, c.k,
                     c.v, c.o, c.datt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
}

/* ---- a whole layer: forward + backward, time inside and outside sgemm ---- */

static void bench_layer(struct backend *be, const struct bench_shape *s, int train_weights) {
    struct pf_err err = {0};
    struct arena ar;
    struct arena_allocator al = backend_arena_allocator(be);
    arena_init(&ar, "bench", &al, 0);
    struct block blk;
    struct block_dims d = {.B = s->B, .T = s->T, .C = s->C, .H = s->H, .KVH = s->H, .F = s->F,
                           .ln_eps = 1e-12f, .act = GELU_ERF};
    die_on(block_init(&blk, &ar, be, &d, &err), &err);
    block_init_params(&blk, 7);
    for (int i = 0; i < BP_COUNT; i++)
        blk.trainable[i] = train_weights;
    struct tensor x, dy, dx;
    int64_t sh[3] = {s->B, s->T, s->C};
    die_on(tensor_alloc(&x, &ar, be, TENSOR_F32, "x", 3, sh, &err), &err);
    die_on(tensor_alloc(&dy, &ar, be, TENSOR_F32, "dy", 3, sh, &err), &err);
    die_on(tensor_alloc(&dx, &ar, be, TENSOR_F32, "dx", 3, sh, &err), &err);
    for (int64_t i = 0; i < x.numel; i++) {
        tensor_f32(&x)[i] = rng_normal_at(1, (uint64_t)i);
        tensor_f32(&dy)[i] = 1e-3f * rng_normal_at(2, (uint64_t)i);
    }
    double tf[64], tb[64], gf[64], gb[64];
    for (int r = -1; r < reps; r++) {
        double gemm1, gemm2;
        cpu_gemm_timer_reset();
        cpu_gemm_timer_enable(1);
        double t0 = now_s();
        die_on(block_forward(&blk, &x, NULL, &err), &err);
        double t1 = now_s();
        cpu_gemm_timer_read(&gemm1, NULL);
        die_on(block_backward(&blk, &dy, &dx, &err), &err);
        double t2 = now_s();
        cpu_gemm_timer_read(&gemm2, NULL);
        cpu_gemm_timer_enable(0);
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t2 - t1;
            gf[r] = gemm1;
            gb[r] = gemm2 - gemm1;
        }
    }
    double mf = median(tf, reps), mb = median(tb, reps), mgf = median(gf, reps),
           mgb = median(gb, reps);
    int N = s->B * s->T;
    printf("| %s, %s | %.1f | %.1f | %.1f | %.0f%% | %.0f |\n", s->name,
           train_weights ? "all weights trained" : "frozen weights (activation grads only)",
           1e3 * mf, 1e3 * mb, 1e3 * (mf + mb),
           100.0 * (mf + mb - mgf - mgb) / (mf + mb), N / (mf + mb));
    arena_free(&ar);
}

/* ---- a whole BERT model: frozen backbone, forward + backward to the input embeddings ---- */

static void bench_model(struct backend *be, const struct bench_shape *s) {
    struct pf_err err = {0};
    struct model_config c = {.family = FAM_BERT, .head = HEAD_NONE, .vocab = 30522,
                             .hidden = s->C, .layers = s->layers, .heads = s->H,
                             .kv_heads = s->H, .head_dim = s->C / s->H, .ffn = s->F,
                             .max_pos = 512, .type_vocab = 2, .norm_eps = 1e-12f,
                             .act = ACT_GELU_ERF, .pad_id = 0, .bos_id = -1, .eos_id = -1,
                             .num_labels = 2, .tie_word_embeddings = 1};
    snprintf(c.model_type, sizeof c.model_type, "bert");
    struct model m;
    die_on(model_create(&m, &c, be, -1, 0, &err), &err);
    model_init_params(&m, 7, 0); /* every parameter frozen: no gradients exist */
    size_t n = (size_t)s->B * (size_t)s->T;
    int32_t *ids = malloc(n * sizeof(int32_t)), *mask = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        ids[i] = 1000 + (int32_t)(rng_uniform_at(3, i) * 20000.0f);
        mask[i] = 1;
    }
    struct model_batch b = {.B = s->B, .T = s->T, .ids = ids, .mask = mask};
    struct tensor dh;
    struct arena ar;
    struct arena_allocator al = backend_arena_allocator(be);
    arena_init(&ar, "bench", &al, 0);
    int64_t sh[3] = {s->B, s->T, s->C};
    die_on(tensor_alloc(&dh, &ar, be, TENSOR_F32, "dh", 3, sh, &err), &err);
    for (int64_t i = 0; i < dh.numel; i++)
        tensor_f32(&dh)[i] = 1e-3f * rng_normal_at(2, (uint64_t)i);
    double tf[64], tb[64];
    for (int r = -1; r < reps; r++) {
        double t0 = now_s();
        die_on(model_forward(&m, &b, &err), &err);
        double t1 = now_s();
        die_on(model_backward(&m, &dh, NULL, &err), &err);
        double t2 = now_s();
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t2 - t1;
        }
    }
    double mf = median(tf, reps), mb = median(tb, reps);
    printf("| %s model, %d layers | %.1f | %.1f | %.1f | %.0f |\n", s->name, s->layers,
           1e3 * mf, 1e3 * mb, 1e3 * (mf + mb), (double)n / (mf + mb));
    free(ids);
    free(mask);
    arena_free(&ar);
    model_free(&m);
}

int main(int argc, char **argv) {
    int threads = 0;
    const char *only = NULL, *section = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--section") && i + 1 < argc)
            section = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bipeft-bench [--threads N] [--reps R] [--shape NAME] "
                    "[--section gemm|ops|layer|model|lora]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 64)
        reps = 7;
    struct backend *be = backend_cpu_new(threads);
    char buf[512];
    printf("## bipeft core benchmark\n\n%s; median of %d runs\n",
           backend_cpu_describe(be, buf, sizeof buf), reps);
#define SHAPES_FOR(i) \
    for (size_t i = 0; i < sizeof bench_shapes / sizeof bench_shapes[0]; i++) \
        if (!only || strstr(bench_shapes[i].name, only))
#define SECTION(name) (!section || !strcmp(section, name))
    SHAPES_FOR(i) {
        if (SECTION("gemm"))
            bench_gemm(&bench_shapes[i]);
        if (SECTION("ops"))
            bench_ops(be, &bench_shapes[i]);
    }
    if (SECTION("layer")) {
        printf("\n### one encoder layer, forward + backward\n\n");
        printf("| shape | fwd ms | bwd ms | total ms | outside sgemm | tokens/s |\n"
               "|---|---:|---:|---:|---:|---:|\n");
        SHAPES_FOR(i) {
            bench_layer(be, &bench_shapes[i], 1);
            bench_layer(be, &bench_shapes[i], 0);
        }
    }
    if (SECTION("model")) {
        printf("\n### whole BERT model (vocab 30522), frozen backbone: forward + backward to "
               "the input embeddings\n\n");
        printf("| shape | fwd ms | bwd ms | total ms | tokens/s |\n|---|---:|---:|---:|---:|\n");
        SHAPES_FOR(i)
            bench_model(be, &bench_shapes[i]);
    }
    /* the LoRA step is a separate section (and, in `make bench`, a separate process per
     * shape, so that its peak RSS is its own): it runs only when asked for */
    if (section && !strcmp(section, "lora"))
        bench_lora(be, only, reps);
    backend_close(be);
    return 0;
}
