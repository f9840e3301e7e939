/* atomic.c - atomic file writes and folder creation (atomic.h). */
#include "util/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "util/file.h"

pf_status atomic_sync_dir(const char *path, struct pf_err *err) {
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    pf_status st = PF_OK;
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        st = pf_err_set(err, PF_ERR_IO, "%s: written, but syncing directory %s failed: %s", path,
                        d, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    xfree(dir);
    return st;
}

pf_status atomic_write(const char *path, const void *data, size_t n, struct pf_err *err) {
    if (!path || !path[0])
        return pf_err_set(err, PF_ERR_ARG, "atomic_write: empty path");
    size_t tlen = strlen(path) + 16;
    char *tmp = xmalloc(tlen);
    snprintf(tmp, tlen, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        pf_status st = pf_err_set(err, PF_ERR_IO, "%s: cannot create a temporary file next to "
                                  "it: %s", path, strerror(errno));
        xfree(tmp);
        return st;
    }
    const char *what = NULL;
    int e = 0;
    const char *p = data;
    if (fchmod(fd, (mode_t)file_mode_for_file()) != 0)
        what = "chmod", e = errno;
    while (!what && n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            what = "write", e = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    if (!what && fsync(fd) != 0)
        what = "fsync", e = errno;
    if (close(fd) != 0 && !what)
        what = "close", e = errno;
    if (!what && rename(tmp, path) != 0)
        what = "rename", e = errno;
    pf_status st;
    if (what) {
        st = pf_err_set(err, PF_ERR_IO, "%s: %s failed: %s", path, what, strerror(e));
        unlink(tmp);
    } else {
        st = atomic_sync_dir(path, err);
    }
    xfree(tmp);
    return st;
}

pf_status atomic_mkdirs(const char *dir, struct pf_err *err) {
    if (!dir || !dir[0])
        return pf_err_set(err, PF_ERR_ARG, "mkdir: empty path");
    char *p = xstrdup(dir);
    pf_status st = PF_OK;
    for (char *s = p + 1;; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) { /* less the umask, as mkdir -p */
            st = pf_err_set(err, PF_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
            break;
        }
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            st = pf_err_set(err, PF_ERR_IO, "%s: exists and is not a folder", p);
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    xfree(p);
    return st;
}
