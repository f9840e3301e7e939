/* test_embedding.c - embedding lookup forward (plain and accumulating) against an fp64
 * reference, the scatter-add backward (repeated ids, accumulation into a prefilled dtable)
 * against central finite differences, bitwise independence of the thread count, and the
 * wrapper's argument errors (out-of-range ids, shapes, dtypes). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/rng.h"

/* ---- fp64 reference: out = [out0 +] table[ids] ---- */

struct emb_case {
    int N, V, C, accumulate;
};

struct emb_ctx {
    const struct emb_case *c;
    const int32_t *ids;
    double *table, *out0, *g, *out;
};

static void emb_ref(struct emb_ctx *x) {
    const struct emb_case *c = x->c;
    for (int i = 0; i < c->N; i++)
        for (int j = 0; j < c->C; j++) {
            size_t o = (size_t)i * c->C + j;
            double row = x->table[(size_t)x->ids[i] * c->C + j];
            x->out[o] = (c->accumulate ? x->out0[o] : 0.0) + row;
        }
}

static double emb_loss(void *ctx) {
    struct emb_ctx *x = ctx;
    emb_ref(x);
    return check_dot(x->g, x->out, (size_t)x->c->N * x->c->C);
}

/* ids in [0, V) from the Philox stream `seed`; with N > V some ids repeat. */
static void fill_ids(int32_t *ids, int N, int V, uint64_t seed) {
    for (int i = 0; i < N; i++) {
        int id = (int)(rng_uniform_at(seed, (uint64_t)i) * (float)V);
        ids[i] = id < V ? id : V - 1;
    }
}

static struct emb_case cases[] = {
    {21, 13, 12, 0}, /* repeated ids, plain lookup */
    {21, 13, 12, 1}, /* accumulate onto out (token + position embeddings) */
    {9, 4, 37, 1},   /* C not a multiple of the vector width, heavy repetition */
    {1, 1, 1, 0},    /* degenerate */
};

ParameterizedTestParameters(embedding, grad) {
    return cr_make_param_array(struct emb_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct emb_case *c, embedding, grad) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    size_t nt = (size_t)c->V * c->C, no = (size_t)c->N * c->C;
    int32_t *ids = malloc((size_t)c->N * sizeof *ids);
    float *table = malloc(nt * 4), *out = malloc(no * 4), *g = malloc(no * 4);
    float *dtable = malloc(nt * 4);
    double *tabled = malloc(nt * 8), *out0d = malloc(no * 8), *gd = malloc(no * 8);
    double *outd = malloc(no * 8), *ndt = malloc(nt * 8), *want = malloc(nt * 8);
    fill_ids(ids, c->N, c->V, 11);
    check_fill(table, nt, 12, -1, 1);
    check_fill(out, no, 13, -1, 1); /* out0: read only when accumulating */
    check_fill(g, no, 14, -1, 1);
    check_to_double(tabled, table, nt);
    check_to_double(out0d, out, no);
    check_to_double(gd, g, no);

    int64_t st[2] = {c->V, c->C}, so[2] = {c->N, c->C}, si[1] = {c->N};
    struct tensor tt = check_tensor(be, table, TENSOR_F32, "wte", 2, st);
    struct tensor tdt = check_tensor(be, dtable, TENSOR_F32, "dwte", 2, st);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 2, so);
    struct tensor tg = check_tensor(be, g, TENSOR_F32, "dout", 2, so);
    struct tensor ti = check_tensor(be, ids, TENSOR_I32, "ids", 1, si);

    CHECK_OK(op_embedding_forward(be, &to, &ti, &tt, c->accumulate, &err), &err);
    struct emb_ctx x = {c, ids, tabled, out0d, gd, outd};
    emb_ref(&x);
    CHECK_CLOSE("embedding out", out, outd, no, 1e-6, 1e-7);

    /* dtable is a parameter gradient: it accumulates onto the prefilled values */
    check_fill(dtable, nt, 15, -0.5f, 0.5f);
    for (size_t i = 0; i < nt; i++)
        want[i] = dtable[i];
    CHECK_OK(op_embedding_backward(be, &tdt, &tg, &ti, &err), &err);
    check_numgrad(ndt, tabled, nt, emb_loss, &x, 1e-6);
    for (size_t i = 0; i < nt; i++)
        want[i] += ndt[i];
    CHECK_CLOSE("embedding dtable", dtable, want, nt, 1e-4, 1e-6);

    /* a frozen table (NULL dtable) is accepted and does nothing */
    CHECK_OK(op_embedding_backward(be, NULL, &tg, &ti, &err), &err);

    free(ids); free(table); free(out); free(g); free(dtable);
    free(tabled); free(out0d); free(gd); free(outd); free(ndt); free(want);
}

/* Token + position embeddings summed into one buffer: two lookups, the second accumulating. */
Test(embedding, token_plus_position) {
    struct backend *be = check_cpu(2);
    struct pf_err err = {0};
    enum { T = 5, V = 7, C = 3 };
    float wte[V * C], wpe[T * C], out[T * C];
    int32_t tok[T] = {6, 0, 6, 3, 1}, pos[T] = {0, 1, 2, 3, 4};
    check_fill(wte, V * C, 21, -1, 1);
    check_fill(wpe, T * C, 22, -1, 1);
    int64_t sv[2] = {V, C}, sp[2] = {T, C}, so[3] = {1, T, C}, si[2] = {1, T};
    struct tensor twte = check_tensor(be, wte, TENSOR_F32, "wte", 2, sv);
    struct tensor twpe = check_tensor(be, wpe, TENSOR_F32, "wpe", 2, sp);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "x", 3, so);
    struct tensor ttok = check_tensor(be, tok, TENSOR_I32, "tok", 2, si);
    struct tensor tpos = check_tensor(be, pos, TENSOR_I32, "pos", 2, si);
    memset(out, 0xff, sizeof out); /* NaN: the first lookup must overwrite */
    CHECK_OK(op_embedding_forward(be, &to, &ttok, &twte, 0, &err), &err);
    CHECK_OK(op_embedding_forward(be, &to, &tpos, &twpe, 1, &err), &err);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < C; j++)
            cr_assert_eq(out[t * C + j], wte[tok[t] * C + j] + wpe[pos[t] * C + j],
                         "x[0,%d,%d]", t, j);
}

/* The scatter-add must give the same bits whatever the thread count, with many repeats. */
Test(embedding, backward_bitwise_across_threads) {
    enum { N = 4096, V = 50, C = 100 };
    int32_t *ids = malloc(N * sizeof *ids);
    float *dout = malloc((size_t)N * C * 4), *d[3];
    fill_ids(ids, N, V, 31);
    check_fill(dout, (size_t)N * C, 32, -1, 1);
    int64_t st[2] = {V, C}, so[2] = {N, C}, si[1] = {N};
    for (int k = 0; k < 3; k++) {
        struct backend *be = check_cpu(k + 1);
        struct pf_err err = {0};
        d[k] = malloc((size_t)V * C * 4);
        check_fill(d[k], (size_t)V * C, 33, -1, 1);
        struct tensor tdt = check_tensor(be, d[k], TENSOR_F32, "dwte", 2, st);
        struct tensor tg = check_tensor(be, dout, TENSOR_F32, "dout", 2, so);
        struct tensor ti = check_tensor(be, ids, TENSOR_I32, "ids", 1, si);
        CHECK_OK(op_embedding_backward(be, &tdt, &tg, &ti, &err), &err);
    }
    cr_assert(memcmp(d[0], d[1], (size_t)V * C * 4) == 0, "1 vs 2 threads differ");
    cr_assert(memcmp(d[0], d[2], (size_t)V * C * 4) == 0, "1 vs 3 threads differ");
    free(ids); free(dout); free(d[0]); free(d[1]); free(d[2]);
}

Test(embedding, out_of_range_id_is_named) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float table[30 * 8] = {0}, out[6 * 8];
    int32_t ids[6] = {0, 29, 3, 3, 37, -1};
    int64_t st[2] = {30, 8}, so[2] = {6, 8}, si[1] = {6};
    struct tensor tt = check_tensor(be, table, TENSOR_F32, "wte", 2, st);
    struct tensor to = check_tensor(be, out, TENSOR_F32, "out", 2, so);
    struct tensor ti = check_tensor(be, ids, TENSOR_I32, "ids", 1, si);
    for (int i = 0; i < 6 * 8; i++)
        out[i] = 42.0f;
    pf_status st_ = op_embedding_forward(be, &to, &ti, &tt, 0, &err);
    cr_assert_eq(st_, PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "embedding_forward: ids[4] = 37 is out of range for table "
                     "wte[30,8] (vocab 30)");
    cr_assert_eq(out[0], 42.0f, "no work is done on error");

    ids[4] = 5; /* now the negative one is first */
    st_ = op_embedding_backward(be, &tt, &to, &ti, &err);
    cr_assert_eq(st_, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "embedding_backward: ids[5] = -1 is out of range"), "message: %s",
              err.msg);
}

/* On a device whose memory the host cannot read, the ids are downloaded before the scan
 * (ops_find_out_of_range); a CPU backend that pretends otherwise exercises that path. */
static int downloads;
static void counting_download(struct backend *be, void *dst, const void *src, size_t n) {
    (void)be;
    downloads++;
    memcpy(dst, src, n);
}

Test(embedding, ids_on_a_device_are_downloaded_for_the_check) {
    struct backend dev = *check_cpu(1);
    dev.host_visible = 0;
    dev.download = counting_download;
    struct pf_err err = {0};
    float table[30 * 8] = {0}, out[6 * 8];
    int32_t ids[6] = {0, 29, 3, 3, 37, -1};
    int64_t st[2] = {30, 8}, so[2] = {6, 8}, si[1] = {6};
    struct tensor tt = check_tensor(&dev, table, TENSOR_F32, "wte", 2, st);
    struct tensor to = check_tensor(&dev, out, TENSOR_F32, "out", 2, so);
    struct tensor ti = check_tensor(&dev, ids, TENSOR_I32, "ids", 1, si);
    cr_assert_eq(op_embedding_forward(&dev, &to, &ti, &tt, 0, &err), PF_ERR_ARG);
    cr_assert_str_eq(err.msg, "embedding_forward: ids[4] = 37 is out of range for table "
                     "wte[30,8] (vocab 30)");
    cr_assert_eq(downloads, 1);
    ids[4] = 1;
    ids[5] = 2;
    cr_assert_eq(op_embedding_forward(&dev, &to, &ti, &tt, 0, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(downloads, 2);
}

Test(embedding, shape_and_dtype_errors) {
    struct backend *be = check_cpu(1);
    struct pf_err err = {0};
    float buf[256] = {0};
    int32_t ids[8] = {0};
    int64_t st[2] = {30, 8}, so[3] = {2, 3, 7}, si[2] = {2, 3}, si4[1] = {4}, s3[3] = {2, 3, 8};
    struct tensor tt = check_tensor(be, buf, TENSOR_F32, "wte", 2, st);
    struct tensor to = check_tensor(be, buf, TENSOR_F32, "h", 3, so);
    struct tensor ti = check_tensor(be, ids, TENSOR_I32, "ids", 2, si);
    pf_status st_ = op_embedding_forward(be, &to, &ti, &tt, 0, &err);
    cr_assert_eq(st_, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "embedding_forward") && strstr(err.msg, "h[2,3,7]") &&
              strstr(err.msg, "wte[30,8]"), "message: %s", err.msg);

    struct tensor to8 = check_tensor(be, buf, TENSOR_F32, "h", 3, s3);
    struct tensor ti4 = check_tensor(be, ids, TENSOR_I32, "ids", 1, si4);
    st_ = op_embedding_forward(be, &to8, &ti4, &tt, 0, &err);
    cr_assert_eq(st_, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "ids[4]") && strstr(err.msg, "6 rows"), "message: %s",
              err.msg);

    struct tensor tif = check_tensor(be, buf, TENSOR_F32, "ids", 2, si);
    st_ = op_embedding_forward(be, &to8, &tif, &tt, 0, &err);
    cr_assert_eq(st_, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "embedding_forward: ids[2,3] has dtype f32, expected i32"),
              "message: %s", err.msg);

    struct tensor t3 = check_tensor(be, buf, TENSOR_F32, "wte", 3, s3);
    st_ = op_embedding_backward(be, &t3, &to8, &ti, &err);
    cr_assert_eq(st_, PF_ERR_SHAPE);
    cr_assert(strstr(err.msg, "embedding_backward: dtable wte[2,3,8] must be 2-D"),
              "message: %s", err.msg);

    st_ = op_embedding_forward(be, NULL, &ti, &tt, 0, &err);
    cr_assert_eq(st_, PF_ERR_ARG);
    cr_assert(strstr(err.msg, "embedding_forward: out is NULL"), "message: %s", err.msg);
}
