/* cuda_stub.c - what a build without the CUDA backend links instead of src/core/cuda/.
 * Opening "cuda" then fails with a clear message; everything else runs on the CPU. */
#include "core/backend.h"

int backend_have_cuda(void) {
    return 0;
}

struct backend *backend_cuda_new(int device, struct pf_err *err) {
    pf_err_set(err, PF_ERR_UNSUPPORTED, "device 'cuda:%d': this bipeft was built without the "
               "CUDA backend (see 'make' output: CUDA ✗)", device);
    return NULL;
}
