/* atomic.h - write a file so that readers see either the old or the complete new contents:
 * "<path>.tmp.XXXXXX" next to it, fsync, rename over path, fsync of the directory. On failure
 * the temporary file is removed and an existing file at path is untouched. */
#ifndef PF_ATOMIC_H
#define PF_ATOMIC_H

#include <stddef.h>

#include "util/err.h"

/* Write n bytes of data to path atomically (PF_ERR_IO "PATH: write failed: ..."). */
pf_status atomic_write(const char *path, const void *data, size_t n, struct pf_err *err);

/* fsync the directory holding path, making a rename into it durable. */
pf_status atomic_sync_dir(const char *path, struct pf_err *err);

/* mkdir -p for a folder path (mode 0755); PF_ERR_IO naming the part that failed. */
pf_status atomic_mkdirs(const char *dir, struct pf_err *err);

#endif
