/* activation.c - elementwise activations on the CPU: GELU (erf and tanh forms), ReLU, SiLU, tanh,
 * SwiGLU and the residual add, forward and backward.
 *
 * Every loop is an OpenMP `parallel for simd` over the elements (run on the calling thread
 * below PAR_MIN elements) and calls only the inline functions of vmath.h, so GCC vectorises
 * it. Each element is a pure function of its own inputs (and the build does not contract to
 * FMA under -std=c11), so results are bitwise independent of the thread count. out may alias
 * an input. Does not check arguments (core/ops_elementwise.c does) and allocates nothing. */
#include <math.h>
#include <stddef.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/vmath.h"

/* Below this many elements the work runs on the calling thread (team start-up costs more). */
#define PAR_MIN ((size_t)16384)

#define INV_SQRT_2PI 0.3989422804014327f  /* 1/sqrt(2 pi) */
#define SQRT_2_OVER_PI 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f

/* ---- scalar forms (inlined into the vector loops) ---- */

/* erf form: x * Phi(x). */
static inline float gelu_erf(float x) {
    return x * vm_normcdf(x);
}

/* d/dx x Phi(x) = Phi(x) + x phi(x). */
static inline float gelu_erf_grad(float x) {
    return vm_normcdf(x) + x * (INV_SQRT_2PI * vm_expf(-0.5f * x * x));
}

/* tanh form 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed through the
 * identity 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + e^{-2u}), which does not cancel for
 * negative x. */
static inline float gelu_tanh(float x) {
    float u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
    return x / (1.0f + vm_expf(-2.0f * u));
}

/* d/dx = s + 2 x u' s (1 - s) with s = sigmoid(2u), 1 - s = e s, e = e^{-2u},
 * u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2). Equal to the derivative of the tanh expression. */
static inline float gelu_tanh_grad(float x) {
    float x2 = x * x;
    float u = SQRT_2_OVER_PI * (x + GELU_C * x2 * x);
    float du = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_C * x2);
    float e = vm_expf(-2.0f * u);
    float s = 1.0f / (1.0f + e);
    return s + 2.0f * x * du * ((e * s) * s);
}

/* silu(x) = x sigmoid(x). */
static inline float silu(float x) {
    return x / (1.0f + vm_expf(-x));
}

/* d/dx = s (1 + x (1 - s)) with 1 - s = e s, e = e^{-x}. */
static inline float silu_grad(float x) {
    float e = vm_expf(-x);
    float s = 1.0f / (1.0f + e);
    return s * (1.0f + x * (e * s));
}

/* ---- GELU ---- */

void cpu_gelu_forward(struct backend *be, float *out, const float *inp, size_t n,
                      enum gelu_kind kind) {
    (void)be;
    if (kind == GELU_TANH) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            out[i] = gelu_tanh(inp[i]);
    } else {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            out[i] = gelu_erf(inp[i]);
    }
}

void cpu_gelu_backward(struct backend *be, float *dinp, const float *dout, const float *inp,
                       size_t n, enum gelu_kind kind) {
    (void)be;
    if (!dinp)
        return;
    if (kind == GELU_TANH) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            dinp[i] = dout[i] * gelu_tanh_grad(inp[i]);
    } else {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            dinp[i] = dout[i] * gelu_erf_grad(inp[i]);
    }
}

/* ---- ReLU ---- */

void cpu_relu_forward(struct backend *be, float *out, const float *inp, size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

/* Gradient 0 where x <= 0 (torch's convention at 0). */
void cpu_relu_backward(struct backend *be, float *dinp, const float *dout, const float *inp,
                       size_t n) {
    (void)be;
    if (!dinp)
        return;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dinp[i] = inp[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- SiLU ---- */

void cpu_silu_forward(struct backend *be, float *out, const float *inp, size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = silu(inp[i]);
}

void cpu_silu_backward(struct backend *be, float *dinp, const float *dout, const float *inp,
                       size_t n) {
    (void)be;
    if (!dinp)
        return;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dinp[i] = dout[i] * silu_grad(inp[i]);
}

/* ---- SwiGLU: out = silu(gate) * up ---- */

void cpu_swiglu_forward(struct backend *be, float *out, const float *gate, const float *up,
                        size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = silu(gate[i]) * up[i];
}

/* dgate = dout * up * silu'(gate), dup = dout * silu(gate); either may be NULL. Each output
 * element reads only its own inputs, so dgate or dup may alias dout. */
void cpu_swiglu_backward(struct backend *be, float *dgate, float *dup, const float *dout,
                         const float *gate, const float *up, size_t n) {
    (void)be;
    if (dgate && dup) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            float g = dout[i], x = gate[i], u = up[i];
            dgate[i] = g * u * silu_grad(x);
            dup[i] = g * silu(x);
        }
    } else if (dgate) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            dgate[i] = dout[i] * up[i] * silu_grad(gate[i]);
    } else if (dup) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            dup[i] = dout[i] * silu(gate[i]);
    }
}

/* ---- residual: out = a + b ---- */

void cpu_residual_forward(struct backend *be, float *out, const float *a, const float *b,
                          size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* da += dout, db += dout; separate passes so that da == db (adds twice) is also right. */
void cpu_residual_backward(struct backend *be, float *da, float *db, const float *dout,
                           size_t n) {
    (void)be;
    if (da) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    }
    if (db) {
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
    }
}

/* ---- tanh: libm's tanhf (correctly rounded to ~1 ulp); used on (B, C) pooler rows only,
 * where vm_tanhf's absolute-error bound would cost relative accuracy near 0. ---- */

void cpu_tanh_forward(struct backend *be, float *out, const float *inp, size_t n) {
    (void)be;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(inp[i]);
}

void cpu_tanh_backward(struct backend *be, float *dinp, const float *dout, const float *out,
                       size_t n) {
    (void)be;
    if (!dinp)
        return;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}
