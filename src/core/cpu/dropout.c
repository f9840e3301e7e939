/* dropout.c - inverted dropout on the CPU with a counter-based mask, forward and backward.
 *
 * Element i is kept iff rng_uniform_at(seed, offset + i) >= p (util/rng.h), i.e. the uniform
 * of stream index j = offset + i is lane j % 4 of the Philox block at counter j / 4; kept
 * values are multiplied by 1/(1-p) (dropped ones by 0, so a NaN still propagates, as in
 * torch). The mask is never stored: backward recomputes it from (seed, offset), so forward and
 * backward are the same operation. To go fast the Philox4x32-10 block function is written
 * again below as a branch-free lane loop that OpenMP simd turns into vector code for
 * GROUP blocks at a time; tests/test_dropout.c checks it against rng_uniform_at element by
 * element. Partial blocks at either end use rng_philox4x32 itself. Every element is a pure
 * function of (seed, offset + i, input), so results do not depend on the thread count.
 * Does not check arguments (core/ops_elementwise.c does) and allocates nothing. */
#include <string.h>

#include "core/cpu/cpu_kernels.h"
#include "util/rng.h"

/* Philox blocks computed together by one vector loop (4 * GROUP elements). */
enum { GROUP = 16 };
/* Below this many elements the work runs on the calling thread. */
#define PAR_MIN ((size_t)4096)
/* rng_uniform_at uses counter (j >> 2) of a 64-bit j: the counter lives in 62 bits. */
#define CTR_MASK ((UINT64_C(1) << 62) - 1)

/* words[4*l + k] = word k of the Philox4x32-10 block at counter ctr0 + l (l < GROUP), key
 * seed; the same function as rng_philox4x32. The 32-bit state words live in 64-bit lanes
 * (upper halves zero) so that each 32x32->64 product is one vpmuludq-style multiply. */
static void philox_group(uint32_t *words, uint64_t seed, uint64_t ctr0) {
    const uint64_t m32 = 0xFFFFFFFFu;
    uint64_t rk0[10], rk1[10]; /* round keys */
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        rk0[r] = k0;
        rk1[r] = k1;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    uint32_t w0[GROUP], w1[GROUP], w2[GROUP], w3[GROUP];
#pragma omp simd
    for (int l = 0; l < GROUP; l++) {
        uint64_t ctr = (ctr0 + (uint64_t)l) & CTR_MASK;
        uint64_t c0 = ctr & m32, c1 = ctr >> 32, c2 = 0, c3 = 0;
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (c0 & m32) * UINT64_C(0xD2511F53);
            uint64_t p1 = (c2 & m32) * UINT64_C(0xCD9E8D57);
            c0 = (p1 >> 32) ^ c1 ^ rk0[r];
            c2 = (p0 >> 32) ^ c3 ^ rk1[r];
            c1 = p1 & m32;
            c3 = p0 & m32;
        }
        w0[l] = (uint32_t)c0;
        w1[l] = (uint32_t)c1;
        w2[l] = (uint32_t)c2;
        w3[l] = (uint32_t)c3;
    }
    for (int l = 0; l < GROUP; l++) {
        words[4 * l + 0] = w0[l];
        words[4 * l + 1] = w1[l];
        words[4 * l + 2] = w2[l];
        words[4 * l + 3] = w3[l];
    }
}

/* out[k] = inp[k] * (unit(words[k]) >= p ? scale : 0) for k < cnt, with unit() exactly
 * rng_u32_to_unit. */
static void apply_mask(float *out, const float *inp, const uint32_t *words, size_t cnt,
                       float p, float scale) {
#pragma omp simd
    for (size_t k = 0; k < cnt; k++) {
        float u = (float)(words[k] >> 8) * (1.0f / 16777216.0f);
        out[k] = inp[k] * (u >= p ? scale : 0.0f);
    }
}

/* Elements [e0, e0 + cnt) with cnt < 4 lying in one Philox block. */
static void apply_partial(float *out, const float *inp, size_t e0, size_t cnt, float p,
                          float scale, uint64_t seed, uint64_t offset) {
    uint32_t blk[4], words[4];
    uint64_t j0 = offset + e0;
    rng_philox4x32(seed, j0 >> 2, blk);
    for (size_t k = 0; k < cnt; k++)
        words[k] = blk[(j0 + k) & 3];
    apply_mask(out + e0, inp + e0, words, cnt, p, scale);
}

static void dropout_apply(float *out, const float *inp, size_t n, float p, uint64_t seed,
                          uint64_t offset) {
    if (n == 0)
        return;
    if (p == 0.0f) {
        if (out != inp)
            memcpy(out, inp, n * sizeof(float));
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    /* head: elements before the first stream index that is a multiple of 4 */
    size_t head = (size_t)((4u - (unsigned)(offset & 3u)) & 3u);
    if (head > n)
        head = n;
    if (head)
        apply_partial(out, inp, 0, head, p, scale, seed, offset);
    size_t nblk = (n - head) / 4;
    size_t ngroups = (nblk + GROUP - 1) / GROUP;
    uint64_t ctr0 = (offset + head) >> 2;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t g = 0; g < ngroups; g++) {
        uint32_t words[4 * GROUP];
        size_t e0 = head + g * 4 * GROUP;
        size_t left = head + 4 * nblk - e0;
        philox_group(words, seed, ctr0 + (uint64_t)g * GROUP);
        apply_mask(out + e0, inp + e0, words, left < 4 * GROUP ? left : 4 * GROUP, p, scale);
    }
    size_t t0 = head + 4 * nblk;
    if (t0 < n)
        apply_partial(out, inp, t0, n - t0, p, scale, seed, offset);
}

void cpu_dropout_forward(struct backend *be, float *out, const float *inp, size_t n, float p,
                         uint64_t seed, uint64_t offset) {
    (void)be;
    dropout_apply(out, inp, n, p, seed, offset);
}

/* dinp = dout * mask / (1-p): the forward operation applied to dout with the same mask. */
void cpu_dropout_backward(struct backend *be, float *dinp, const float *dout, size_t n,
                          float p, uint64_t seed, uint64_t offset) {
    (void)be;
    if (!dinp)
        return;
    dropout_apply(dinp, dout, n, p, seed, offset);
}
