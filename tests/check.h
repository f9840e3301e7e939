/* check.h - numerical test helpers shared by the tests/test_<module>.c files.
 *
 * The pattern every op test follows:
 *   1. draw random fp32 inputs (check_fill), copy them to double (check_to_double);
 *   2. run an independent fp64 reference forward, written naively in the test file;
 *   3. run the fp32 op through the public API (core/ops.h) and compare its output with the
 *      reference (CHECK_CLOSE);
 *   4. pick a random upstream gradient g, run the fp32 backward with dout = g, and compare
 *      every gradient with central finite differences of L(x) = sum(g * ref(x)) computed in
 *      double precision (check_numgrad).
 * The comparisons return a verdict so that tests/test_check.c can show they do fail when a
 * gradient is wrong (a check that cannot fail is a defect). */
#ifndef PF_TEST_CHECK_H
#define PF_TEST_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "model/hf_config.h"

/* Uniform values in [lo, hi) from the Philox stream `seed` (deterministic). */
void check_fill(float *x, size_t n, uint64_t seed, float lo, float hi);
void check_fill_d(double *x, size_t n, uint64_t seed, double lo, double hi);
void check_to_double(double *d, const float *f, size_t n);
void check_to_float(float *f, const double *d, size_t n);

/* Compare got (fp32) with want (fp64): every element must satisfy
 * |got - want| <= atol + rtol * |want|. Returns 1 when all do; otherwise prints the worst
 * element (index, values, error) to stderr under `what` and returns 0. */
int check_close(const char *what, const float *got, const double *want, size_t n, double rtol,
                double atol);

/* Asserting form for tests. */
#define CHECK_CLOSE(what, got, want, n, rtol, atol)                                          \
    cr_assert(check_close((what), (got), (want), (n), (rtol), (atol)),                      \
              "%s: fp32 result differs from the fp64 reference (see stderr)", (what))

/* A scalar function of the double inputs held in ctx: L = sum(g * f(x)). */
typedef double (*check_loss_fn)(void *ctx);

/* grad[i] = (L(x + h e_i) - L(x - h e_i)) / (2h) with h = step * max(1, |x_i|), restoring x.
 * x must be the array the loss function reads through ctx. */
void check_numgrad(double *grad, double *x, size_t n, check_loss_fn loss, void *ctx,
                   double step);

/* sum(a[i] * b[i]) in double. */
double check_dot(const double *a, const double *b, size_t n);

/* Largest |x[i]|, at least 1e-30. */
double check_maxabs(const double *x, size_t n);

/* A CPU backend with the given thread count, opened once per test process. */
struct backend *check_cpu(int threads);

/* Wrap host memory as a tensor on be (asserts success). */
struct tensor check_tensor(struct backend *be, void *data, enum tensor_dtype dt, const char *name,
                           int ndim, const int64_t *shape);

/* malloc that fails the test instead of returning NULL (never NULL, even for 0 bytes). */
void *check_alloc(size_t bytes);

/* fp64 multi-head attention reference, HF layout: q (B*T, H*D), k and v (B*T, KVH*D), query
 * head h reads kv head h / (H / KVH); mask (B*T) of 0/1 for keys (NULL: all real); causal
 * hides keys after the query. Writes out (B*T, H*D). */
void check_ref_attention(double *out, const double *q, const double *k, const double *v,
                         const int32_t *mask, int B, int T, int H, int KVH, int D, int causal);

/* Read tensor `name` of a safetensors file as floats (asserting it exists and, when
 * want_numel >= 0, that it has that many elements); *numel (if not NULL) gets the count.
 * The caller frees the result. */
struct st_file;
float *check_st_f32(const struct st_file *f, const char *name, int64_t want_numel,
                    int64_t *numel);
/* The same for an I32/I64 tensor, read as int32; NULL (and *numel 0) when absent. */
int32_t *check_st_i32(const struct st_file *f, const char *name, int64_t *numel);

/* Write text to `name` in a temporary folder made once per test process; returns the path
 * (a static buffer, valid until the next call). */
const char *check_write_temp(const char *name, const char *text);

/* The temporary folder of check_write_temp (made on first use). */
const char *check_temp_dir(void);

/* A synthetic two-class task in the temp folder ("sentence\tlabel" TSV, n rows, labels
 * alternating 0/1): each sentence draws its content words from one of two word sets, so a
 * model that learns which words go with which label solves it. */
void check_write_words(const char *name, int n, uint64_t seed);

/* Run "$BIPEFT_BIN args" through the shell (args may use globs); capture stdout
 * (capture = "stdout"), stderr ("stderr") or both ("both") into out. Returns the exit code. */
int check_run_shell(const char *args, const char *capture, char *out, size_t outsz);

/* Run $BIPEFT_BIN with the NULL-terminated args (no shell: texts pass unchanged); stdout
 * and stderr go to their buffers. Returns the exit code. */
int check_run_argv(const char *const *args, char *out, size_t outsz, char *errb, size_t errsz);

/* Start $BIPEFT_BIN with the args in a child process whose stdout and stderr go to ofd and efd
 * (-1: /dev/null); returns its pid (the caller waits for it). */
#include <sys/types.h>
pid_t check_spawn_argv(const char *const *args, int ofd, int efd);

/* The whole file (NUL-terminated; *len gets its size when not NULL); asserts it can be read.
 * The caller frees it. */
char *check_read_file(const char *path, size_t *len);

/* Assert that st == PF_OK, printing err.msg otherwise. */
/* Criterion timeout for the long tests: a hang guard only, never a speed check (speed is
 * measured in bench/). It must hold under ASan with two jobs sharing two cores, where a
 * test that takes 33 s alone took over 120 s in CI. */
#define CHECK_HANG_TIMEOUT 900

#define CHECK_OK(st, err) cr_assert_eq((st), PF_OK, "unexpected error: %s", (err)->msg)

/* A randomly initialised model of family fam without a head: hidden 8, 2 heads of 4 (LLaMA:
 * 1 kv head, SwiGLU), FFN 12, vocab 20, `layers` layers (asserts success). */
struct model;
void check_tiny_model(struct model *m, enum model_family fam, int layers);

#endif
