/* half.h - exact conversions between IEEE binary16 (F16), bfloat16 (BF16) and float.
 *
 * Widening (F16/BF16 -> F32) is exact for every bit pattern: subnormals become normal floats,
 * infinities stay infinities, NaNs stay NaNs with sign and payload kept.
 * Narrowing (F32 -> F16/BF16) rounds to nearest, ties to even, like a hardware cast:
 * values beyond the largest finite half round to +-inf (F16: |x| >= 65520), tiny values to
 * subnormals or signed zero, and a NaN stays a NaN (quiet bit set, sign and top payload bits
 * kept) so that it can never turn into an infinity. Bit manipulation only: the result does
 * not depend on the FPU rounding mode or on -ffast-math style flags. */
#ifndef PF_HALF_H
#define PF_HALF_H

#include <stddef.h>
#include <stdint.h>

float half_f16_to_f32(uint16_t h);
float half_bf16_to_f32(uint16_t h);
uint16_t half_f32_to_f16(float f);
uint16_t half_f32_to_bf16(float f);

/* Array forms; dst and src must not overlap. */
void half_f16_to_f32_n(float *dst, const uint16_t *src, size_t n);
void half_bf16_to_f32_n(float *dst, const uint16_t *src, size_t n);
void half_f32_to_f16_n(uint16_t *dst, const float *src, size_t n);
void half_f32_to_bf16_n(uint16_t *dst, const float *src, size_t n);

#endif
