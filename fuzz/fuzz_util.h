/* fuzz_util.h - the parsers under fuzzing read files; give them the fuzzer's bytes as one.
 * A memfd holds the data and /proc/self/fd/N names it: no disk writes, no leftover files. */
#ifndef PF_FUZZ_UTIL_H
#define PF_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* The entry point libFuzzer calls (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Returns the fd (close it after use) and the path in buf, or -1. */
static inline int fuzz_file(const unsigned char *data, size_t size, char *buf, size_t n) {
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(buf, n, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
