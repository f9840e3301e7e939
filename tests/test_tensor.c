/* test_tensor.c - tensor shapes, overflow and allocation errors, descriptions. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

Test(tensor, alloc_shape_and_rows) {
    struct backend *be = check_cpu(1);
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "t", NULL, 0);
    struct tensor t;
    int64_t s[3] = {3, 7, 12};
    CHECK_OK(tensor_alloc(&t, &ar, be, TENSOR_F32, "x", 3, s, &err), &err);
    cr_assert_eq(t.numel, 252);
    cr_assert_eq(tensor_rows(&t), 21);
    cr_assert_eq(tensor_cols(&t), 12);
    cr_assert_eq(tensor_nbytes(&t), 252 * 4);
    char buf[64];
    cr_assert_str_eq(tensor_describe(&t, buf, sizeof buf), "x[3,7,12]");
    int64_t z[2] = {2, 0};
    CHECK_OK(tensor_alloc(&t, &ar, be, TENSOR_I32, "empty", 2, z, &err), &err);
    cr_assert_eq(t.numel, 0);
    cr_assert_str_eq(tensor_describe(&t, buf, sizeof buf), "empty[2,0]");
    arena_free(&ar);
}

Test(tensor, bad_shapes_are_errors) {
    struct backend *be = check_cpu(1);
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "t", NULL, 0);
    struct tensor t;
    int64_t neg[2] = {3, -1};
    cr_assert_eq(tensor_alloc(&t, &ar, be, TENSOR_F32, "w", 2, neg, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "tensor 'w': dimension 1 is -1"), "message: %s", err.msg);
    int64_t huge[3] = {2, INT64_C(1) << 62, 4};
    cr_assert_eq(tensor_alloc(&t, &ar, be, TENSOR_F32, "w", 3, huge, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "overflows"), "message: %s", err.msg);
    cr_assert_eq(ar.reserved, 0, "nothing may be allocated for a rejected shape");
    int64_t s5[5] = {1, 1, 1, 1, 1};
    cr_assert_eq(tensor_alloc(&t, &ar, be, TENSOR_F32, "w", 5, s5, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "5 dimensions"), "message: %s", err.msg);
    arena_free(&ar);
}

Test(tensor, allocation_failure_is_reported) {
    struct backend *be = check_cpu(1);
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "run", NULL, (size_t)64 << 20);
    struct tensor t;
    int64_t s[2] = {100000, 100000}; /* 40 GB of fp32 */
    cr_assert_eq(tensor_alloc(&t, &ar, be, TENSOR_F32, "activations", 2, s, &err), PF_ERR_NOMEM);
    cr_assert(strstr(err.msg, "'activations'") && strstr(err.msg, "37.3 GiB"), "message: %s",
              err.msg);
    cr_assert_null(t.data);
    arena_free(&ar);
}
