/* matmul.c - linear layers on the CPU through cblas_sgemm (OpenBLAS), with bias and both
 * transposes, plus the single sgemm wrapper every CPU kernel uses.
 * Does not check shapes (core/ops_linear.c does) and keeps no state besides the optional
 * GEMM timer used by `make bench`. */
#include <cblas.h>
#include <omp.h>
#include <string.h>
#include <time.h>

#include "core/cpu/cpu_kernels.h"

/* ---- sgemm and its timer ---- */

static int gemm_timer_on;
static double gemm_timer_s;
static long gemm_timer_calls;

void cpu_gemm_timer_enable(int on) {
    gemm_timer_on = on;
}

void cpu_gemm_timer_reset(void) {
    gemm_timer_s = 0.0;
    gemm_timer_calls = 0;
}

void cpu_gemm_timer_read(double *seconds, long *calls) {
    if (seconds)
        *seconds = gemm_timer_s;
    if (calls)
        *calls = gemm_timer_calls;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cpu_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0)
        return;
    if (K == 0) { /* C = beta C; BLAS would do the same, but be explicit for beta == 0 */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    double t0 = gemm_timer_on ? now_s() : 0.0;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
    if (gemm_timer_on) {
        /* Inside a parallel region each thread runs its own sgemm: count wall time, not
         * thread time, by sharing the interval among the team. */
        double dt = (now_s() - t0) / (omp_in_parallel() ? omp_get_num_threads() : 1);
#pragma omp atomic
        gemm_timer_s += dt;
#pragma omp atomic
        gemm_timer_calls++;
    }
}

/* ---- linear layer ---- */

void cpu_matmul_forward(struct backend *be, float *out, const float *a, const float *b,
                        const float *bias, int M, int N, int K, int trans_a, int trans_b) {
    (void)be;
    float beta = 0.0f;
    if (bias) {
        /* out rows start as the bias, then sgemm adds op(a) op(b) */
#pragma omp parallel for schedule(static)
        for (int i = 0; i < M; i++)
            memcpy(out + (size_t)i * N, bias, (size_t)N * sizeof(float));
        beta = 1.0f;
    }
    cpu_sgemm(trans_a, trans_b, M, N, K, 1.0f, a, trans_a ? M : K, b, trans_b ? K : N, beta, out,
              N);
}

/* dbias(N) += sum over the M rows of dout(M,N). Columns are split among threads and each
 * column is summed in row order, so the result does not depend on the thread count. */
static void bias_grad(float *dbias, const float *dout, int M, int N) {
    enum { CHUNK = 64 };
    int nchunks = (N + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < nchunks; ch++) {
        int c0 = ch * CHUNK, c1 = c0 + CHUNK < N ? c0 + CHUNK : N;
        float acc[CHUNK];
        for (int j = c0; j < c1; j++)
            acc[j - c0] = 0.0f;
        for (int i = 0; i < M; i++) {
            const float *row = dout + (size_t)i * N;
#pragma omp simd
            for (int j = c0; j < c1; j++)
                acc[j - c0] += row[j];
        }
        for (int j = c0; j < c1; j++)
            dbias[j] += acc[j - c0];
    }
}

void cpu_matmul_backward(struct backend *be, float *da, float *db, float *dbias, const float *dout,
                         const float *a, const float *b, int M, int N, int K, int trans_a,
                         int trans_b, int accumulate) {
    (void)be;
    if (da) {
        float beta = accumulate ? 1.0f : 0.0f;
        if (!trans_a) /* da(M,K) = dout(M,N) op(b)^T(N,K) */
            cpu_sgemm(0, !trans_b, M, K, N, 1.0f, dout, N, b, trans_b ? K : N, beta, da, K);
        else          /* da(K,M) = op(b)(K,N) dout^T(N,M) */
            cpu_sgemm(trans_b, 1, K, M, N, 1.0f, b, trans_b ? K : N, dout, N, beta, da, M);
    }
    if (db) {
        if (!trans_b) /* db(K,N) += op(a)^T(K,M) dout(M,N) */
            cpu_sgemm(!trans_a, 0, K, N, M, 1.0f, a, trans_a ? M : K, dout, N, 1.0f, db, N);
        else          /* db(N,K) += dout^T(N,M) op(a)(M,K) */
            cpu_sgemm(1, trans_a, N, K, M, 1.0f, dout, N, a, trans_a ? M : K, 1.0f, db, K);
    }
    if (dbias)
        bias_grad(dbias, dout, M, N);
}
