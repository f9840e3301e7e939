/* test_half.c - F16/BF16 <-> F32 conversions against references computed another way
 * (ldexp/frexp/rint in double instead of bit manipulation). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "io/half.h"

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Value of a binary16 pattern from its fields (NaN returned as NaN). */
static double ref_f16(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0x1f)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, -24);
    else
        v = ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static double ref_bf16(uint16_t h) {
    int s = h >> 15, e = (h >> 7) & 0xff, m = h & 0x7f;
    double v;
    if (e == 0xff)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, -133);
    else
        v = ldexp(128 + m, e - 134);
    return s ? -v : v;
}

/* Encode |x| rounded to nearest even in a format with `mbits` mantissa bits, exponent bias
 * `bias` and all-ones exponent `emax_field`. Uses rint (the default rounding mode is nearest
 * even) on a scaled double; x must not be NaN. */
static uint16_t ref_encode(float xf, int mbits, int bias, int emax_field) {
    double x = xf;
    uint16_t sign = (uint16_t)(signbit(x) ? 1u << (mbits + (emax_field == 0x1f ? 5 : 8)) : 0);
    double a = fabs(x);
    uint16_t inf = (uint16_t)(emax_field << mbits);
    if (isinf(a))
        return sign | inf;
    int emin = 1 - bias; /* exponent of the smallest normal */
    if (a < ldexp(1.0, emin)) {
        double q = rint(ldexp(a, mbits - emin)); /* units of the subnormal step */
        return sign | (uint16_t)q;               /* q == 2^mbits is the smallest normal */
    }
    int ex;
    frexp(a, &ex);
    int E = ex - 1;
    double q = rint(ldexp(a, mbits - E));
    if (q == ldexp(1.0, mbits + 1)) {
        q /= 2;
        E++;
    }
    if (E + bias >= emax_field)
        return sign | inf;
    return sign | (uint16_t)(((E + bias) << mbits) | ((int)q - (1 << mbits)));
}

Test(half, f16_to_f32_all_patterns) {
    for (uint32_t h = 0; h < 65536; h++) {
        float got = half_f16_to_f32((uint16_t)h);
        double want = ref_f16((uint16_t)h);
        if (isnan(want)) {
            cr_assert(isnan(got), "0x%04x must be NaN", h);
            cr_assert_eq(!!signbit(got), h >> 15, "0x%04x NaN sign", h);
            cr_assert_eq((bits(got) >> 13) & 0x3ff, h & 0x3ff, "0x%04x NaN payload", h);
        } else {
            cr_assert((double)got == want && !!signbit(got) == !!signbit(want),
                      "0x%04x: got %a want %a", h, (double)got, want);
        }
    }
}

Test(half, bf16_to_f32_all_patterns) {
    for (uint32_t h = 0; h < 65536; h++) {
        float got = half_bf16_to_f32((uint16_t)h);
        double want = ref_bf16((uint16_t)h);
        if (isnan(want))
            cr_assert(isnan(got) && !!signbit(got) == (h >> 15), "0x%04x must be NaN", h);
        else
            cr_assert((double)got == want && !!signbit(got) == !!signbit(want),
                      "0x%04x: got %a want %a", h, (double)got, want);
    }
}

Test(half, round_trip_every_pattern) {
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t a = half_f32_to_f16(half_f16_to_f32((uint16_t)h));
        uint16_t b = half_f32_to_bf16(half_bf16_to_f32((uint16_t)h));
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) /* F16 NaN stays NaN (may become quiet) */
            cr_assert((a & 0x7c00) == 0x7c00 && (a & 0x3ff) && (a >> 15) == (h >> 15));
        else
            cr_assert_eq(a, h, "f16 0x%04x -> 0x%04x", h, a);
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f))
            cr_assert((b & 0x7f80) == 0x7f80 && (b & 0x7f) && (b >> 15) == (h >> 15));
        else
            cr_assert_eq(b, h, "bf16 0x%04x -> 0x%04x", h, b);
    }
}

/* Midpoints between neighbouring halves go to the even one; one float ulp either side goes
 * to the nearer one. Covers subnormals, the normal range and 65504 -> inf. */
Test(half, f16_ties_to_even) {
    for (uint32_t h = 0; h < 0x7bff; h++) { /* 0x7bff -> inf: checked below */
        double lo = ref_f16((uint16_t)h), hi = ref_f16((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2); /* 12 significant bits: exact in float */
        cr_assert_eq((double)mid, (lo + hi) / 2);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        cr_assert_eq(half_f32_to_f16(mid), even, "tie after 0x%04x", h);
        cr_assert_eq(half_f32_to_f16(-mid), even | 0x8000, "negative tie after 0x%04x", h);
        cr_assert_eq(half_f32_to_f16(nextafterf(mid, 0)), h);
        cr_assert_eq(half_f32_to_f16(nextafterf(mid, INFINITY)), h + 1);
    }
    cr_assert_eq(half_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(half_f32_to_f16(65519.996f), 0x7bff);
    cr_assert_eq(half_f32_to_f16(65520.0f), 0x7c00); /* tie, 0x7bff is odd: overflow to inf */
    cr_assert_eq(half_f32_to_f16(1e10f), 0x7c00);
    cr_assert_eq(half_f32_to_f16(-INFINITY), 0xfc00);
    cr_assert_eq(half_f32_to_f16(ldexpf(1, -25)), 0x0000); /* tie between 0 and 2^-24 */
    cr_assert_eq(half_f32_to_f16(nextafterf(ldexpf(1, -25), 1)), 0x0001);
    cr_assert_eq(half_f32_to_f16(-1e-30f), 0x8000);
}

Test(half, nan_stays_nan) {
    uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7f801000u, 0x7fffffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        float f = from_bits(nans[i]);
        uint16_t h = half_f32_to_f16(f), b = half_f32_to_bf16(f);
        cr_assert(isnan(half_f16_to_f32(h)), "f16 of NaN 0x%08x", nans[i]);
        cr_assert(isnan(half_bf16_to_f32(b)), "bf16 of NaN 0x%08x", nans[i]);
        cr_assert_eq(h >> 15, nans[i] >> 31);
        cr_assert_eq(b >> 15, nans[i] >> 31);
    }
}

Test(half, bf16_rounding_and_overflow) {
    cr_assert_eq(half_f32_to_bf16(from_bits(0x3f808000u)), 0x3f80); /* tie, even below */
    cr_assert_eq(half_f32_to_bf16(from_bits(0x3f818000u)), 0x3f82); /* tie, even above */
    cr_assert_eq(half_f32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
    cr_assert_eq(half_f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80); /* FLT_MAX -> inf */
    cr_assert_eq(half_f32_to_bf16(from_bits(0x7f7f7fffu)), 0x7f7f);
    cr_assert_eq(half_f32_to_bf16(-INFINITY), 0xff80);
    cr_assert_eq(half_f32_to_bf16(from_bits(0x00008000u)), 0x0000); /* subnormal tie */
    cr_assert_eq(half_f32_to_bf16(from_bits(0x00018000u)), 0x0002);
}

/* 2^22 float bit patterns spread over the whole space, against the rint reference. */
Test(half, f32_narrowing_matches_reference) {
    const uint32_t stride = 1021; /* prime: visits every exponent and mantissa mix */
    for (uint64_t k = 0; k < (UINT64_C(1) << 22); k++) {
        uint32_t u = (uint32_t)(k * stride * 1024 + (k % 1024) * 7);
        float f = from_bits(u);
        if (isnan(f))
            continue;
        uint16_t want16 = ref_encode(f, 10, 15, 0x1f);
        uint16_t want_b = ref_encode(f, 7, 127, 0xff);
        cr_assert_eq(half_f32_to_f16(f), want16, "f16 of %a (0x%08x)", (double)f, u);
        cr_assert_eq(half_f32_to_bf16(f), want_b, "bf16 of %a (0x%08x)", (double)f, u);
    }
}
