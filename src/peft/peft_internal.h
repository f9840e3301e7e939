/* peft_internal.h - helpers shared by the peft_*.c files: host loops over small tensors and
 * per-batch activation slots. Tensors live in host memory on the CPU backend; these loops are
 * the part a device backend must provide as kernels. */
#ifndef PF_PEFT_INTERNAL_H
#define PF_PEFT_INTERNAL_H

#include "peft/peft.h"

/* The pseudo hook point of the model's final norm (peft_point). */
#define PEFT_FINAL ((enum block_point)BPT_COUNT + 1)

/* Activation slots per kind (struct peft_module.a). */
enum { LA_U, LA_VS, LA_DV, LA_XD, LA_DXD };                       /* lora */
enum { AA_Z, AA_HPRE, AA_HM, AA_ACT, AA_GACT, AA_S };              /* serial / parallel */
enum { RA_Z, RA_T1, RA_T1M, RA_T2, RA_A, RA_U1, RA_U1M, RA_S1, RA_S2, RA_S3 }; /* lra */
enum { NA_XHAT, NA_RSTD };                                         /* ln */
enum { IA_YPRE };                                                  /* ia3 */
enum { PA_KV, PA_HPRE, PA_TH, PA_PROB, PA_POUT, PA_DKV, PA_DTH };  /* prefix */

/* Tensor indices per kind (struct peft_module.t). */
enum { LT_A, LT_B };
enum { AT_DOWN, AT_DOWN_B, AT_UP, AT_UP_B };
enum { RT_D1, RT_D2, RT_DB, RT_U1, RT_U2, RT_UB };
enum { VT_W };
enum { PT_E, PT_WE, PT_BE, PT_WP, PT_BP, PT_LAMBDA };

/* y[i, j] *= c * m[j] over rows x n */
void pu_scale_cols(float *y, int64_t rows, int n, const float *m, float c);
/* y[i, :] += c * b */
void pu_add_rows(float *y, int64_t rows, int n, const float *b, float c);
/* out[j] = sum_i y[i, j] (double) */
void pu_colsum(const float *y, int64_t rows, int n, double *out);
/* sum_i a[i] * b[i] (double) */
double pu_dot(const float *a, const float *b, int64_t n);
/* out[j] += sum_i a[i, j] * b[i, j] (double), over rows x n */
void pu_coldot(const float *a, const float *b, int64_t rows, int n, double *out);
/* dst = src (n floats) */
void pu_copy(float *dst, const float *src, int64_t n);

/* Host scratch of at least `bytes` (kept in p). NULL and err set on failure. */
void *pu_scratch(struct peft *p, size_t bytes, struct pf_err *err);

#endif
