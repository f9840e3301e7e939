/* rng.h - counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 *
 * A draw is a pure function of (seed, counter): no hidden state, so any element of any
 * stream can be recomputed in any order, on any thread, after a resume. Dropout masks,
 * Gumbel noise and initialisation all use it; the CUDA backend implements the same
 * function so both devices draw the same numbers. */
#ifndef PF_RNG_H
#define PF_RNG_H

#include <stdint.h>

/* The raw block function: 128-bit counter, 64-bit key (tested against the published
 * known-answer vectors). */
void rng_philox4x32_block(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Four 32-bit words for (seed, counter). Deterministic, thread-safe. */
void rng_philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]);

/* Uniform in [0, 1) with 24 bits of resolution from word `lane` (0..3) of the block at
 * `counter`: element i of a stream uses counter i/4, lane i%4 (see rng_uniform_at). */
float rng_u32_to_unit(uint32_t x);

/* The i-th uniform of the stream `seed`, in [0, 1). */
float rng_uniform_at(uint64_t seed, uint64_t i);

/* The i-th standard normal of the stream `seed` (Box-Muller on one Philox block). */
float rng_normal_at(uint64_t seed, uint64_t i);

#endif
