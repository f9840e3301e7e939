/* half.c - F16/BF16 <-> F32 by bit manipulation (see half.h for the rounding contract). */
#include "io/half.h"

#include <string.h>

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round r (an integer whose low `shift` bits are to be dropped) to nearest, ties to even. */
static uint32_t round_shift(uint32_t r, unsigned shift) {
    uint32_t q = r >> shift;
    uint32_t rem = r & ((UINT32_C(1) << shift) - 1);
    uint32_t halfway = UINT32_C(1) << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1)))
        q++;
    return q;
}

float half_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ff;
    if (e == 0x1f) /* inf or NaN: all-ones exponent, mantissa (payload) moved up */
        return bits_f32(sign | 0x7f800000u | (m << 13));
    if (e != 0) /* normal: rebias 15 -> 127 */
        return bits_f32(sign | ((e + 112) << 23) | (m << 13));
    if (m == 0)
        return bits_f32(sign);
    /* subnormal m * 2^-24: shift the leading one up to the implicit-bit position */
    uint32_t ee = 113; /* biased exponent of 2^-14 */
    while (!(m & 0x400)) {
        m <<= 1;
        ee--;
    }
    return bits_f32(sign | (ee << 23) | ((m & 0x3ff) << 13));
}

float half_bf16_to_f32(uint16_t h) {
    /* bf16 is the top half of a float */
    return bits_f32((uint32_t)h << 16);
}

uint16_t half_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: quiet bit set so a zero top payload cannot become inf */
        return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    if (ax >= 0x477ff000u) /* >= 65520 (halfway from 65504 to 2^16, odd below): inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax >= 0x38800000u) /* >= 2^-14: normal; rebias 127 -> 15, a carry may bump the exponent */
        return (uint16_t)(sign | round_shift(ax - 0x38000000u, 13));
    if (ax <= 0x33000000u) /* <= 2^-25: the tie at 2^-25 goes to the even value, zero */
        return sign;
    /* subnormal result: value = m * 2^(e-150); in units of 2^-24 that is m >> (126 - e).
     * Rounding up to 0x400 yields the smallest normal, which is the right encoding. */
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    return (uint16_t)(sign | round_shift(m, 126 - e));
}

uint16_t half_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: keep sign and top payload, force quiet */
        return (uint16_t)((x >> 16) | 0x40);
    /* Round to nearest even on the low 16 bits; a carry into the exponent rounds the largest
     * values to inf, as it should. Cannot wrap: x < 0xff800001 here. */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

void half_f16_to_f32_n(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = half_f16_to_f32(src[i]);
}

void half_bf16_to_f32_n(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = half_bf16_to_f32(src[i]);
}

void half_f32_to_f16_n(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = half_f32_to_f16(src[i]);
}

void half_f32_to_bf16_n(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = half_f32_to_bf16(src[i]);
}
