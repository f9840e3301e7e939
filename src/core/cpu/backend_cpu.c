/* backend_cpu.c - the CPU backend: host memory, OpenMP worker threads, OpenBLAS, and the
 * table of CPU kernels. Owns no tensors. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "core/cpu/cpu_kernels.h"
#include "util/xalloc.h"

static const struct backend_ops cpu_ops = {
    .matmul_forward = cpu_matmul_forward,
    .matmul_backward = cpu_matmul_backward,
    .layernorm_forward = cpu_layernorm_forward,
    .layernorm_backward = cpu_layernorm_backward,
    .rmsnorm_forward = cpu_rmsnorm_forward,
    .rmsnorm_backward = cpu_rmsnorm_backward,
    .gelu_forward = cpu_gelu_forward,
    .gelu_backward = cpu_gelu_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .silu_forward = cpu_silu_forward,
    .silu_backward = cpu_silu_backward,
    .tanh_forward = cpu_tanh_forward,
    .tanh_backward = cpu_tanh_backward,
    .swiglu_forward = cpu_swiglu_forward,
    .swiglu_backward = cpu_swiglu_backward,
    .residual_forward = cpu_residual_forward,
    .residual_backward = cpu_residual_backward,
    .softmax_forward = cpu_softmax_forward,
    .softmax_backward = cpu_softmax_backward,
    .attention_forward = cpu_attention_forward,
    .attention_backward = cpu_attention_backward,
    .rope_forward = cpu_rope_forward,
    .rope_backward = cpu_rope_backward,
    .embedding_forward = cpu_embedding_forward,
    .embedding_backward = cpu_embedding_backward,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .crossentropy_forward = cpu_crossentropy_forward,
    .crossentropy_backward = cpu_crossentropy_backward,
    .mse_forward = cpu_mse_forward,
    .mse_backward = cpu_mse_backward,
    .adamw_update = cpu_adamw_update,
    .sumsq = cpu_sumsq,
    .scale = cpu_scale,
    .zero = cpu_zero,
};

static void *cpu_alloc(struct backend *be, size_t bytes) {
    (void)be;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    return p;
}

static void cpu_release(struct backend *be, void *p) {
    (void)be;
    free(p);
}

static void cpu_copy(struct backend *be, void *dst, const void *src, size_t n) {
    (void)be;
    if (n)
        memcpy(dst, src, n);
}

static void cpu_sync(struct backend *be) {
    (void)be;
}

void backend_cpu_set_threads(struct backend *be, int n) {
    if (n < 1)
        n = 1;
    /* One OpenMP runtime serves both our kernels and OpenBLAS (the openmp build of OpenBLAS
     * is what the Makefile links), so the two counts cannot drift apart. */
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    if (be)
        be->threads = n;
}

const char *backend_cpu_describe(struct backend *be, char *buf, size_t bufsz) {
    const char *cfg = openblas_get_config();
    int par = openblas_get_parallel();
    /* Report what the two runtimes actually use, so a mismatch would be visible. */
    snprintf(buf, bufsz, "%s; threading %s; kernels %d thread%s, OpenBLAS %d thread%s",
             cfg ? cfg : "OpenBLAS", par == 2 ? "openmp" : par == 1 ? "pthreads" : "none",
             omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s",
             openblas_get_num_threads(), openblas_get_num_threads() == 1 ? "" : "s");
    (void)be;
    return buf;
}

struct backend *backend_cpu_new(int threads) {
    struct backend *be = xcalloc(1, sizeof *be);
    be->name = "cpu";
    be->host_visible = 1;
    be->alloc = cpu_alloc;
    be->release = cpu_release;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->sync = cpu_sync;
    be->ops = &cpu_ops;
    backend_cpu_set_threads(be, threads > 0 ? threads : omp_get_num_procs());
    return be;
}
