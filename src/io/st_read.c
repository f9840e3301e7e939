/* st_read.c - reading tensor data: pread in bounded chunks straight into the caller's buffer,
 * converting F16/BF16 to float and I64 to int32 on the way. No mmap: a file truncated under
 * us gives a short read (a status), not SIGBUS, and data at odd file offsets is copied into
 * the aligned destination instead of being read through a misaligned pointer. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/half.h"
#include "io/safetensors.h"
#include "io/st_internal.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian; this reader copies it unswapped");

#define CHUNK_BYTES 32768 /* staging buffer for converted dtypes (on the stack) */
#define MAX_PREAD (1u << 30) /* Linux caps one read near 2 GiB; stay well below */

pf_status st_pread(int fd, void *buf, size_t len, uint64_t off, size_t *got) {
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < MAX_PREAD ? len - done : MAX_PREAD;
        ssize_t r = pread(fd, (char *)buf + done, want, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *got = done;
            return PF_ERR_IO;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return PF_OK;
}

/* Read len bytes of t starting at byte `at` of the tensor. */
static pf_status read_span(const struct st_file *f, const struct st_info *t, void *buf,
                           size_t len, uint64_t at, struct pf_err *err) {
    uint64_t off = f->data_start + t->begin + at;
    size_t got = 0;
    char q[ST_QBUF];
    if (st_pread(f->fd, buf, len, off, &got) != PF_OK)
        return pf_err_set(err, PF_ERR_IO, "%s: tensor '%s': read failed at offset %" PRIu64 ": %s",
                          f->path, st_q(t->name, q, sizeof q), off + got, strerror(errno));
    if (got < len)
        return pf_err_set(err, PF_ERR_IO,
                          "%s: file changed while loading: tensor '%s' short read at offset %" PRIu64,
                          f->path, st_q(t->name, q, sizeof q), off + got);
    return PF_OK;
}

/* After a read: the file must still be the one validated at open (size and mtime). */
static pf_status check_unchanged(const struct st_file *f, const struct st_info *t,
                                 struct pf_err *err) {
    struct stat sb;
    char q[ST_QBUF];
    if (fstat(f->fd, &sb) != 0)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", f->path, strerror(errno));
    if ((uint64_t)sb.st_size != f->size)
        return pf_err_set(err, PF_ERR_IO,
                          "%s: file changed while loading: size was %" PRIu64 ", now %" PRIu64
                          " (reading tensor '%s')",
                          f->path, f->size, (uint64_t)sb.st_size, st_q(t->name, q, sizeof q));
    if ((int64_t)sb.st_mtim.tv_sec != f->mtime_sec || sb.st_mtim.tv_nsec != f->mtime_nsec)
        return pf_err_set(err, PF_ERR_IO,
                          "%s: file changed while loading: modified since it was opened "
                          "(reading tensor '%s')",
                          f->path, st_q(t->name, q, sizeof q));
    return PF_OK;
}

static pf_status check_count(const struct st_file *f, const struct st_info *t, int64_t n,
                             struct pf_err *err) {
    char q[ST_QBUF];
    if (!f || f->fd < 0 || !t)
        return pf_err_set(err, PF_ERR_ARG, "st_read: file not open or tensor NULL");
    if (n != t->numel)
        return pf_err_set(err, PF_ERR_ARG,
                          "%s: tensor '%s' has %" PRId64 " elements, destination has %" PRId64,
                          f->path, st_q(t->name, q, sizeof q), t->numel, n);
    return PF_OK;
}

pf_status st_read_raw(const struct st_file *f, const struct st_info *t, void *dst,
                      uint64_t nbytes, struct pf_err *err) {
    char q[ST_QBUF];
    pf_status st = check_count(f, t, t ? t->numel : 0, err);
    if (st == PF_OK && nbytes != t->nbytes)
        return pf_err_set(err, PF_ERR_ARG,
                          "%s: tensor '%s' has %" PRIu64 " bytes, destination has %" PRIu64,
                          f->path, st_q(t->name, q, sizeof q), t->nbytes, nbytes);
    PF_STEP(st, read_span(f, t, dst, (size_t)nbytes, 0, err));
    PF_STEP(st, check_unchanged(f, t, err));
    return st;
}

pf_status st_read_f32(const struct st_file *f, const struct st_info *t, float *dst, int64_t n,
                      struct pf_err *err) {
    pf_status st = check_count(f, t, n, err);
    if (st != PF_OK)
        return st;
    char q[ST_QBUF];
    if (t->dtype == ST_F32) {
        st = read_span(f, t, dst, (size_t)t->nbytes, 0, err);
    } else if (t->dtype == ST_F16 || t->dtype == ST_BF16) {
        uint16_t buf[CHUNK_BYTES / sizeof(uint16_t)];
        const size_t per = sizeof buf / sizeof buf[0];
        for (size_t i = 0; i < (size_t)n && st == PF_OK; i += per) {
            size_t k = (size_t)n - i < per ? (size_t)n - i : per;
            st = read_span(f, t, buf, k * sizeof buf[0], i * sizeof buf[0], err);
            if (st == PF_OK && t->dtype == ST_F16)
                half_f16_to_f32_n(dst + i, buf, k);
            else if (st == PF_OK)
                half_bf16_to_f32_n(dst + i, buf, k);
        }
    } else {
        return pf_err_set(err, PF_ERR_UNSUPPORTED,
                          "%s: unsupported dtype %s for tensor '%s' (expected F32, F16 or BF16)",
                          f->path, st_dtype_name(t->dtype), st_q(t->name, q, sizeof q));
    }
    PF_STEP(st, check_unchanged(f, t, err));
    return st;
}

pf_status st_read_i32(const struct st_file *f, const struct st_info *t, int32_t *dst, int64_t n,
                      struct pf_err *err) {
    pf_status st = check_count(f, t, n, err);
    if (st != PF_OK)
        return st;
    char q[ST_QBUF];
    if (t->dtype == ST_I32) {
        st = read_span(f, t, dst, (size_t)t->nbytes, 0, err);
    } else if (t->dtype == ST_I64) {
        int64_t buf[CHUNK_BYTES / sizeof(int64_t)];
        const size_t per = sizeof buf / sizeof buf[0];
        for (size_t i = 0; i < (size_t)n && st == PF_OK; i += per) {
            size_t k = (size_t)n - i < per ? (size_t)n - i : per;
            st = read_span(f, t, buf, k * sizeof buf[0], i * sizeof buf[0], err);
            for (size_t j = 0; j < k && st == PF_OK; j++) {
                if (buf[j] < INT32_MIN || buf[j] > INT32_MAX)
                    return pf_err_set(err, PF_ERR_FORMAT,
                                      "%s: tensor '%s': element %zu = %" PRId64
                                      " does not fit in int32",
                                      f->path, st_q(t->name, q, sizeof q), i + j, buf[j]);
                dst[i + j] = (int32_t)buf[j];
            }
        }
    } else {
        return pf_err_set(err, PF_ERR_UNSUPPORTED,
                          "%s: unsupported dtype %s for tensor '%s' (expected I32 or I64)",
                          f->path, st_dtype_name(t->dtype), st_q(t->name, q, sizeof q));
    }
    PF_STEP(st, check_unchanged(f, t, err));
    return st;
}
