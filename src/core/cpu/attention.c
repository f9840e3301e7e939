/* attention.c - multi-head scaled dot-product attention on the CPU, forward and backward,
 * with grouped key/value heads (GQA), a key padding mask and an optional causal mask.
 *
 * Layout (HF, heads packed in the channel dim): q (B,T,H*D), k and v (B,T,KVH*D); query head
 * h reads kv head h / (H/KVH). Every GEMM goes through cpu_sgemm on strided views of q, k, v,
 * out and the gradients (leading dimension H*D or KVH*D), so nothing is copied or transposed.
 * Forward, per (b,h): att = softmax(scale Q K^T + masks) stored (B,H,T,T), out = att V; with
 * the causal mask both GEMMs run on blocks of query rows and skip the keys after the block.
 * Backward, per (b, kv head): for each query head of the group in order, dv += att^T dout,
 * datt = dout V^T, dS = att * (datt - rowsum(datt * att)), dq = scale dS K,
 * dk += scale dS^T Q (the first head of a group writes with beta = 0, the others add). With
 * the causal mask the same blocks skip the upper triangle: datt, dS and dq by query block
 * (keys up to the block's end), dv and dk by key block (queries from the block's start), so
 * only those datt entries are written and read, and each dk/dv row is still written once.
 * Parallel loops are static over (b,h) resp. (b, kv head); inside them OpenBLAS (OpenMP
 * build) runs single-threaded. Row sums use a fixed lane order, so results are bitwise
 * reproducible for a given thread count. Masked keys and query rows without a visible key get
 * exact zeros in att, out and every gradient.
 * Does not check shapes or mask values (core/ops_attention.c does; any nonzero mask entry
 * means "attend") and allocates nothing: datt is the caller's scratch. */
#include <math.h>
#include <string.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/reduce.h"
#include "core/cpu/vmath.h"

enum { CAUSAL_BLOCK = 64 }; /* query rows per GEMM block with a causal mask */

/* In place: row (T) holds the scaled scores of one query; keys j < jend are allowed by the
 * causal mask, and among them those with mask[j] != 0 (all when mask is NULL). Leaves the
 * probabilities, exact zeros elsewhere, and an all-zero row when no key is visible. */
static void softmax_row(float *row, int T, int jend, const int32_t *mask) {
    int nvis = jend;
    float mx = mask ? reduce_max_masked(row, mask, jend, &nvis) : reduce_max(row, jend);
    if (nvis == 0) {
        memset(row, 0, (size_t)T * sizeof(float));
        return;
    }
    if (mask) {
#pragma omp simd
        for (int j = 0; j < jend; j++)
            row[j] = mask[j] ? vm_expf(row[j] - mx) : 0.0f;
    } else {
#pragma omp simd
        for (int j = 0; j < jend; j++)
            row[j] = vm_expf(row[j] - mx);
    }
    float inv = 1.0f / reduce_sum(row, jend);
#pragma omp simd
    for (int j = 0; j < jend; j++)
        row[j] *= inv;
    if (jend < T)
        memset(row + jend, 0, (size_t)(T - jend) * sizeof(float));
}

void cpu_attention_forward(struct backend *be, float *out, float *att, const float *q,
                           const float *k, const float *v, const int32_t *key_mask, int B, int T,
                           int H, int KVH, int D, int causal, float scale) {
    (void)be;
    const int C = H * D, KC = KVH * D, R = H / KVH;
    const size_t TT = (size_t)T * T;
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H, g = h / R;
        const float *qb = q + (size_t)b * T * C + (size_t)h * D;  /* (T,D), ld C */
        const float *kb = k + (size_t)b * T * KC + (size_t)g * D; /* (T,D), ld KC */
        const float *vb = v + (size_t)b * T * KC + (size_t)g * D; /* (T,D), ld KC */
        float *ob = out + (size_t)b * T * C + (size_t)h * D;      /* (T,D), ld C */
        float *ab = att + (size_t)bh * TT;                        /* (T,T) */
        const int32_t *mb = key_mask ? key_mask + (size_t)b * T : NULL; /* (T) */
        /* Causal: in blocks of query rows [r0,r1), which see keys [0,r1) only, so the GEMMs
         * skip most of the masked upper triangle; softmax_row zeroes the rest of each row. */
        const int bs = causal ? CAUSAL_BLOCK : (T > 0 ? T : 1);
        for (int r0 = 0; r0 < T; r0 += bs) {
            const int r1 = r0 + bs < T ? r0 + bs : T, kend = causal ? r1 : T;
            float *ar = ab + (size_t)r0 * T; /* (r1-r0, T) */
            /* S (r1-r0, kend) = scale Q[r0:r1] K[0:kend]^T */
            cpu_sgemm(0, 1, r1 - r0, kend, D, scale, qb + (size_t)r0 * C, C, kb, KC, 0.0f, ar,
                      T);
            for (int t = r0; t < r1; t++)
                softmax_row(ab + (size_t)t * T, T, causal ? t + 1 : T, mb);
            /* out[r0:r1] (r1-r0, D) = P[r0:r1, 0:kend] V[0:kend] */
            cpu_sgemm(0, 0, r1 - r0, D, kend, 1.0f, ar, T, vb, KC, 0.0f, ob + (size_t)r0 * C, C);
        }
    }
}

void cpu_attention_backward(struct backend *be, float *dq, float *dk, float *dv, float *datt,
                            const float *dout, const float *q, const float *k, const float *v,
                            const float *att, int B, int T, int H, int KVH, int D, int causal,
                            float scale) {
    (void)be;
    const int C = H * D, KC = KVH * D, R = H / KVH;
    const size_t TT = (size_t)T * T;
    const int want_ds = dq || dk; /* dS is only needed for dq and dk */
    /* Causal: blocks of CAUSAL_BLOCK rows, as in the forward. Query block [r0,r1) sees keys
     * [0,r1); key block [c0,c1) is seen by queries [c0,T). Without the mask, one block. */
    const int bs = causal ? CAUSAL_BLOCK : (T > 0 ? T : 1);
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * KVH; bg++) {
        const int b = bg / KVH, g = bg % KVH;
        const size_t koff = (size_t)b * T * KC + (size_t)g * D;
        const float *kb = k + koff;               /* (T,D), ld KC */
        const float *vb = v + koff;               /* (T,D), ld KC */
        float *dkb = dk ? dk + koff : NULL;       /* (T,D), ld KC */
        float *dvb = dv ? dv + koff : NULL;       /* (T,D), ld KC */
        for (int r = 0; r < R; r++) {
            const int h = g * R + r;
            const float beta = r == 0 ? 0.0f : 1.0f; /* first head of the group writes */
            const size_t qoff = (size_t)b * T * C + (size_t)h * D;
            const float *qb = q + qoff;                        /* (T,D), ld C */
            const float *dob = dout + qoff;                    /* (T,D), ld C */
            const float *ab = att + ((size_t)b * H + h) * TT;  /* (T,T) */
            /* dv[c0:c1] (+)= att[q0:T, c0:c1]^T dout[q0:T], q0 the first query that sees the
             * key block: every row of dv is written once per head */
            for (int c0 = 0; dvb && c0 < T; c0 += bs) {
                const int c1 = c0 + bs < T ? c0 + bs : T, q0 = causal ? c0 : 0;
                cpu_sgemm(1, 0, c1 - c0, D, T - q0, 1.0f, ab + (size_t)q0 * T + c0, T,
                          dob + (size_t)q0 * C, C, beta, dvb + (size_t)c0 * KC, KC);
            }
            if (!want_ds)
                continue;
            float *db = datt + ((size_t)b * H + h) * TT; /* (T,T) */
            /* Query blocks: only columns [0,kend) of datt rows [r0,r1) are computed and read
             * (the rest of datt stays as the caller left it). */
            for (int r0 = 0; r0 < T; r0 += bs) {
                const int r1 = r0 + bs < T ? r0 + bs : T, kend = causal ? r1 : T;
                float *dr = db + (size_t)r0 * T; /* (r1-r0, T) */
                /* datt[r0:r1, 0:kend] = dout[r0:r1] V[0:kend]^T */
                cpu_sgemm(0, 1, r1 - r0, kend, D, 1.0f, dob + (size_t)r0 * C, C, vb, KC, 0.0f,
                          dr, T);
                for (int t = r0; t < r1; t++) { /* dS = att * (datt - rowsum(datt * att)) */
                    const float *a = ab + (size_t)t * T;
                    float *d = db + (size_t)t * T;
                    float dot = reduce_dot(d, a, kend);
#pragma omp simd
                    for (int j = 0; j < kend; j++)
                        d[j] = a[j] * (d[j] - dot);
                }
                if (dq) /* dq[r0:r1] = scale dS[r0:r1, 0:kend] K[0:kend] */
                    cpu_sgemm(0, 0, r1 - r0, D, kend, scale, dr, T, kb, KC, 0.0f,
                              dq + qoff + (size_t)r0 * C, C);
            }
            /* dk[c0:c1] (+)= scale dS[q0:T, c0:c1]^T Q[q0:T]; with the mask these dS entries
             * lie in query blocks from c0 on, whose computed columns reach at least c1 */
            for (int c0 = 0; dkb && c0 < T; c0 += bs) {
                const int c1 = c0 + bs < T ? c0 + bs : T, q0 = causal ? c0 : 0;
                cpu_sgemm(1, 0, c1 - c0, D, T - q0, scale, db + (size_t)q0 * T + c0, T,
                          qb + (size_t)q0 * C, C, beta, dkb + (size_t)c0 * KC, KC);
            }
        }
    }
}
