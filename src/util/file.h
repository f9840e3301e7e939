/* file.h - opening an input file so that a wrong kind of file cannot hang a run: a FIFO (which
 * blocks in open until a writer comes), a device such as /dev/zero (which never ends), a
 * socket or a folder is refused with a message saying what it is, before anything is read. */
#ifndef PF_FILE_H
#define PF_FILE_H

#include <stdio.h>

/* open(path, O_RDONLY | O_CLOEXEC) of a regular file: opened with O_NONBLOCK (so that a FIFO
 * cannot block), checked with fstat, then set back to blocking. -1 on failure with *why the
 * reason (strerror(errno) for open's errors, errno kept; "not a regular file (it is a FIFO)"
 * and so on, errno EINVAL). */
int file_open_regular(const char *path, const char **why);

/* The same as a stdio stream ("rb"); NULL on failure with *why as above. */
FILE *file_fopen_regular(const char *path, const char **why);

/* The permissions an output gets, as other tools give them: 0666 (files) or 0777 (folders)
 * less the process's umask (read once). mkstemp and mkdtemp make 0600 / 0700; the files and
 * folders bipeft writes are set to these before they are renamed into place. */
unsigned file_mode_for_file(void);
unsigned file_mode_for_dir(void);

#endif
