/* fault_shim.c - an LD_PRELOAD library for reliability case 22 (disk faults during writes).
 *
 * BIPEFT_FAULT="FUNC:N[:ERRNO]" makes the N-th call (1-based, counted in this process) of FUNC
 * fail with ERRNO (default ENOSPC; "EIO" is accepted) instead of doing its work. FUNC is one
 * of write, pwrite, fsync, fdatasync, rename, mkdir, open (opening a file for writing).
 * Writes to stdout and stderr are neither counted nor failed (the error message must get out).
 * Every other call goes to the real function (dlsym RTLD_NEXT). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

enum { F_NONE, F_WRITE, F_PWRITE, F_FSYNC, F_FDATASYNC, F_RENAME, F_MKDIR, F_OPEN };

static int target = -1;
static long nth, count;
static int fail_errno = ENOSPC;

static void setup(void) {
    if (target >= 0)
        return;
    target = F_NONE;
    const char *s = getenv("BIPEFT_FAULT");
    if (!s)
        return;
    static const char *const names[] = {"", "write", "pwrite", "fsync", "fdatasync", "rename",
                                        "mkdir", "open"};
    const char *colon = strchr(s, ':');
    if (!colon)
        return;
    for (int i = 1; i < (int)(sizeof names / sizeof names[0]); i++)
        if ((size_t)(colon - s) == strlen(names[i]) && !strncmp(s, names[i], strlen(names[i])))
            target = i;
    nth = strtol(colon + 1, NULL, 10);
    const char *e = strchr(colon + 1, ':');
    if (e && !strcmp(e + 1, "EIO"))
        fail_errno = EIO;
}

static int fail_now(int f) {
    setup();
    if (f != target)
        return 0;
    return ++count == nth;
}

ssize_t write(int fd, const void *buf, size_t n) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (fd > 2 && fail_now(F_WRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    if (fail_now(F_PWRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
    if (fail_now(F_PWRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real(fd, buf, n, off);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (fail_now(F_FSYNC)) {
        errno = fail_errno;
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (fail_now(F_FDATASYNC)) {
        errno = fail_errno;
        return -1;
    }
    return real(fd);
}

int rename(const char *a, const char *b) {
    static int (*real)(const char *, const char *);
    if (!real)
        real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    if (fail_now(F_RENAME)) {
        errno = fail_errno;
        return -1;
    }
    return real(a, b);
}

int mkdir(const char *p, mode_t m) {
    static int (*real)(const char *, mode_t);
    if (!real)
        real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
    if (fail_now(F_MKDIR)) {
        errno = fail_errno;
        return -1;
    }
    return real(p, m);
}
