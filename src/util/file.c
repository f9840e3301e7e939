/* file.c - input files that cannot hang a run (file.h). */
#include "util/file.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t umask_value;

static void read_umask(void) {
    umask_value = umask(022); /* umask can only be read by setting it: put it back at once */
    umask(umask_value);
}

unsigned file_mode_for_file(void) {
    pthread_once(&umask_once, read_umask);
    return 0666u & ~(unsigned)umask_value;
}

unsigned file_mode_for_dir(void) {
    pthread_once(&umask_once, read_umask);
    return 0777u & ~(unsigned)umask_value;
}

static const char *kind_of(mode_t m) {
    return S_ISDIR(m)    ? "not a regular file (it is a folder)"
           : S_ISFIFO(m) ? "not a regular file (it is a FIFO): refusing to wait for a writer"
           : S_ISCHR(m)  ? "not a regular file (it is a character device)"
           : S_ISBLK(m)  ? "not a regular file (it is a block device)"
           : S_ISSOCK(m) ? "not a regular file (it is a socket)"
                         : "not a regular file";
}

int file_open_regular(const char *path, const char **why) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        *why = strerror(e);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        *why = kind_of(sb.st_mode);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        *why = strerror(e);
        return -1;
    }
    return fd;
}

FILE *file_fopen_regular(const char *path, const char **why) {
    int fd = file_open_regular(path, why);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
        *why = strerror(e);
    }
    return f;
}
