/* rope.c - rotary position embedding on the CPU (HF rotate_half convention), forward and
 * backward, applied to every head of an (N, H*D) matrix.
 *
 * Row n uses the table rows cos[pos[n]], sin[pos[n]] (each D/2 floats, from op_rope_tables).
 * For i < D/2 the pair (x[i], x[i+D/2]) is rotated by the angle of frequency i:
 *   forward   y[i] = x[i] c - x[i+D/2] s,   y[i+D/2] = x[i+D/2] c + x[i] s
 *   backward  the transpose: dx[i] = g[i] c + g[i+D/2] s,  dx[i+D/2] = g[i+D/2] c - g[i] s.
 * Each iteration reads its pair before writing it, so out may equal inp (and dinp dout).
 * Rows are split among threads with a static schedule; no reductions. Does not check shapes
 * or positions (core/ops_attention.c does) and allocates nothing. */
#include "core/cpu/cpu_kernels.h"

/* sign = +1: forward rotation, sign = -1: its transpose (backward). */
static void rope_apply(float *out, const float *inp, const float *cos, const float *sin,
                       const int32_t *pos, int N, int H, int D, float sign) {
    const int half = D / 2;
    const size_t C = (size_t)H * D;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *cr = cos + (size_t)pos[n] * half; /* (D/2) */
        const float *sr = sin + (size_t)pos[n] * half; /* (D/2) */
        for (int h = 0; h < H; h++) {
            const float *x = inp + (size_t)n * C + (size_t)h * D; /* (D) */
            float *y = out + (size_t)n * C + (size_t)h * D;       /* (D), may be x */
#pragma omp simd
            for (int i = 0; i < half; i++) {
                float x1 = x[i], x2 = x[i + half];
                float c = cr[i], s = sign * sr[i];
                y[i] = x1 * c - x2 * s;
                y[i + half] = x2 * c + x1 * s;
            }
        }
    }
}

void cpu_rope_forward(struct backend *be, float *out, const float *inp, const float *cos,
                      const float *sin, const int32_t *pos, int N, int H, int D) {
    (void)be;
    rope_apply(out, inp, cos, sin, pos, N, H, D, 1.0f);
}

void cpu_rope_backward(struct backend *be, float *dinp, const float *dout, const float *cos,
                       const float *sin, const int32_t *pos, int N, int H, int D) {
    (void)be;
    rope_apply(dinp, dout, cos, sin, pos, N, H, D, -1.0f);
}
