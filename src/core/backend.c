/* backend.c - open a backend by name and adapt it to arenas. Knows no kernels. */
#include "core/backend.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static void *arena_dev_alloc(void *ctx, size_t bytes) {
    struct backend *be = ctx;
    return be->alloc(be, bytes);
}

static void arena_dev_release(void *ctx, void *p) {
    struct backend *be = ctx;
    be->release(be, p);
}

struct arena_allocator backend_arena_allocator(struct backend *be) {
    struct arena_allocator a = {arena_dev_alloc, arena_dev_release, be};
    return a;
}

struct backend *backend_open(const char *name, int threads, struct pf_err *err) {
    if (!name || strcmp(name, "cpu") == 0)
        return backend_cpu_new(threads);
    if (strncmp(name, "cuda", 4) == 0 && (name[4] == '\0' || name[4] == ':')) {
        int dev = 0;
        if (name[4] == ':') {
            const char *d = name + 5;
            char *end = NULL;
            long v = (*d >= '0' && *d <= '9') ? strtol(d, &end, 10) : -1;
            if (v < 0 || v > 1023 || !end || *end) {
                pf_err_set(err, PF_ERR_ARG, "device '%s': the GPU index after 'cuda:' must be a "
                           "number from 0 (cuda, cuda:0, cuda:1, ...)", name);
                return NULL;
            }
            dev = (int)v;
        }
        return backend_cuda_new(dev, err);
    }
    pf_err_set(err, PF_ERR_ARG, "device '%s': unknown, expected 'cpu' or 'cuda[:N]'", name);
    return NULL;
}

void backend_close(struct backend *be) {
    if (!be)
        return;
    xfree(be);
}
