/* fuzz_safetensors.c - libFuzzer target: any bytes as a safetensors file. st_open must accept
 * or reject with a status (never crash, leak or read out of bounds); every tensor it accepts
 * must read back (bounded to 1 M elements per tensor to keep iterations fast). */
#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    struct st_file f;
    struct pf_err err = {0};
    if (st_open(&f, path, &err) == PF_OK) {
        for (int i = 0; i < f.n; i++) {
            const struct st_info *t = &f.t[i];
            if (t->numel > (1 << 20))
                continue;
            float *buf = malloc((size_t)t->numel * sizeof(float) + 1);
            if (buf) {
                st_read_f32(&f, t, buf, t->numel, &err); /* may refuse the dtype: fine */
                free(buf);
            }
        }
        st_close(&f);
    }
    close(fd);
    return 0;
}
