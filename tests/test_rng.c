/* test_rng.c - Philox4x32-10 against the published known-answer vectors, and the derived
 * uniform and normal streams. */
#include <criterion/criterion.h>
#include <math.h>

#include "util/rng.h"

static void kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4]) {
    uint32_t got[4];
    rng_philox4x32_block(ctr, key, got);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(got[i], want[i], "word %d: got %08x want %08x", i, got[i], want[i]);
}

/* Known-answer vectors of Philox4x32-10 (Salmon et al., Random123 distribution). */
Test(rng, philox_known_answers) {
    const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    const uint32_t w0[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    kat(c0, k0, w0);
    const uint32_t c1[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t k1[2] = {0xffffffff, 0xffffffff};
    const uint32_t w1[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    kat(c1, k1, w1);
    const uint32_t c2[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t k2[2] = {0xa4093822, 0x299f31d0};
    const uint32_t w2[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    kat(c2, k2, w2);
}

Test(rng, uniform_stream_is_a_function_of_index) {
    uint32_t w[4];
    rng_philox4x32(42, 5, w);
    for (int lane = 0; lane < 4; lane++)
        cr_assert_eq(rng_uniform_at(42, 20 + (uint64_t)lane), rng_u32_to_unit(w[lane]));
    double sum = 0.0, sumsq = 0.0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform_at(7, (uint64_t)i);
        cr_assert(u >= 0.0f && u < 1.0f);
        sum += u;
        sumsq += (double)u * u;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    cr_assert(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / n), "mean %f", mean);
    cr_assert(fabs(var - 1.0 / 12) < 2e-3, "variance %f", var);
    cr_assert_neq(rng_uniform_at(7, 0), rng_uniform_at(8, 0));
}

Test(rng, normal_moments) {
    const int n = 200000;
    double sum = 0.0, sumsq = 0.0;
    for (int i = 0; i < n; i++) {
        double x = rng_normal_at(3, (uint64_t)i);
        cr_assert(isfinite(x));
        sum += x;
        sumsq += x * x;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    cr_assert(fabs(mean) < 5.0 / sqrt(n), "mean %f", mean);
    cr_assert(fabs(var - 1.0) < 0.02, "variance %f", var);
}
