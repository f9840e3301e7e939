/* vmath.h - scalar math written so that GCC vectorises the loops that call it.
 *
 * glibc's expf/erff are correct but are library calls that stop loop vectorisation (without
 * -ffast-math). These inline versions use only +, *, polynomials, comparisons and bit
 * casts, so `#pragma omp simd` loops over them become AVX2/AVX-512 code. Accuracy, measured
 * over every float in the range against double libm (tests/test_vmath.c checks the bounds):
 *   vm_expf      relative error 9.7e-8 on [-87, 88.72283]; x <= -87 (and -inf) returns
 *                e^-87 = 1.6458e-38, not 0 (callers that mask must write the zero themselves);
 *                x >= 88.72283 (and +inf) returns 3.4027985e38, finite
 *   vm_erfcf_pos relative error 5.1e-7 on [0,1], 1.7e-6 on [0,4], 7.8e-6 on [0,9]
 *                (fp32 rounding of z*z inside exp; the fitted form itself is good to 1.2e-7)
 *   vm_normcdf   absolute error 2.6e-7; relative 4.5e-6 on [-6,6]
 *   vm_tanhf     absolute error 1.2e-7 (relative error is poor near 0: meant for 1 + tanh)
 *   vm_sigmoidf  absolute error 8.9e-8
 * No function here reports errors; NaN propagates. */
#ifndef PF_VMATH_H
#define PF_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float vm_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t vm_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* e^x: x = n*ln2 + r with |r| <= ln2/2, e^r by a degree-7 Taylor polynomial (remainder
 * < 6e-9), 2^n built in the exponent bits in two halves so n = 128 does not overflow. */
static inline float vm_expf(float x) {
    const float lo = -87.0f, hi = 88.72283f;
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    int32_t ni = (int32_t)(vm_float_to_bits(t) - vm_float_to_bits(magic));
    float r = x - n * 0.693145751953125f;   /* ln2 high part (exact product) */
    r = r - n * 1.428606765330187045e-06f;  /* ln2 low part */
    float p = 1.0f / 5040.0f + r * (1.0f / 40320.0f);
    p = 1.0f / 720.0f + r * p;
    p = 1.0f / 120.0f + r * p;
    p = 1.0f / 24.0f + r * p;
    p = 1.0f / 6.0f + r * p;
    p = 0.5f + r * p;
    p = 1.0f + r * p;
    p = 1.0f + r * p;
    int32_t h = ni >> 1;                    /* 2^n = 2^h * 2^(n-h) */
    float s1 = vm_bits_to_float((uint32_t)(h + 127) << 23);
    float s2 = vm_bits_to_float((uint32_t)(ni - h + 127) << 23);
    return p * s1 * s2;
}

/* erfc(z) for z >= 0 with relative error ~1.2e-7 (Chebyshev-fitted form of Numerical
 * Recipes' erfcc; the fitted coefficients are published constants). */
static inline float vm_erfcf_pos(float z) {
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = -0.82215223f + t * 0.17087277f;
    p = 1.48851587f + t * p;
    p = -1.13520398f + t * p;
    p = 0.27886807f + t * p;
    p = -0.18628806f + t * p;
    p = 0.09678418f + t * p;
    p = 0.37409196f + t * p;
    p = 1.00002368f + t * p;
    p = -1.26551223f + t * p;
    return t * vm_expf(-z * z + p);
}

/* Standard normal CDF Phi(x) = 0.5 * erfc(-x / sqrt(2)), without cancellation for x < 0. */
static inline float vm_normcdf(float x) {
    float z = x * -0.70710678118654752f;
    float az = z < 0.0f ? -z : z;
    float e = 0.5f * vm_erfcf_pos(az);
    return z >= 0.0f ? e : 1.0f - e;
}

/* tanh(x) = sign(x) * (1 - 2 / (e^{2|x|} + 1)). */
static inline float vm_tanhf(float x) {
    float ax = x < 0.0f ? -x : x;
    float e = vm_expf(2.0f * ax);
    float r = 1.0f - 2.0f / (e + 1.0f);
    return x < 0.0f ? -r : r;
}

/* 1 / (1 + e^{-x}). */
static inline float vm_sigmoidf(float x) {
    return 1.0f / (1.0f + vm_expf(-x));
}

#endif
