/* embedding.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_embedding_forward(struct backend *be, float *out, const int32_t *ids, const float *table,
                           int N, int C, int accumulate) {
    (void)be;
    (void)out;
    (void)ids;
    (void)table;
    (void)N;
    (void)C;
    (void)accumulate;
    PF_ASSERT(!"cpu_embedding_forward not implemented");
}

void cpu_embedding_backward(struct backend *be, float *dtable, const float *dout,
                            const int32_t *ids, int N, int C) {
    (void)be;
    (void)dtable;
    (void)dout;
    (void)ids;
    (void)N;
    (void)C;
    PF_ASSERT(!"cpu_embedding_backward not implemented");
}
