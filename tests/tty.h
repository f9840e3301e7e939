/* tty.h - the test side of a pseudo-terminal: $BIPEFT_BIN started on a new pty (its stdin,
 * stdout and stderr), everything it writes collected, keys sent, the window resized, and the
 * terminal's state checked after it ended (modes of a shell again, the alternate screen left,
 * the cursor shown). The waits are hang guards only (300 s), never speed checks. Failures are
 * Criterion assertions. */
#ifndef PF_TEST_TTY_H
#define PF_TEST_TTY_H

#include <stddef.h>
#include <sys/types.h>

struct tty_run {
    int master;
    pid_t pid;
    char *out; /* everything the program wrote (the newest 8 MiB), NUL-terminated */
    size_t len;
};

/* Start $BIPEFT_BIN args (NULL-terminated, at most 14) on a new pty of cols x rows with TERM
 * (NULL: inherited), LC_ALL=C.UTF-8, NO_COLOR unset, and BIPEFT_UI_DEBUG=1 when debug. */
void tty_start(struct tty_run *t, const char *const *args, const char *term, int debug,
               int cols, int rows);
/* Resize the pty (the program gets SIGWINCH). */
void tty_set_size(int fd, int cols, int rows);
/* Read what is there (waiting up to ms); 0 at the end of the output. */
int tty_pump(struct tty_run *t, int ms);
/* Where s last occurs in the output (bytes: the output may hold NULs), or NULL. */
const char *tty_last_of(const struct tty_run *t, const char *s);
/* Pump until s shows up after the first `from` bytes of the output (0: anywhere). */
void tty_wait_for_after(struct tty_run *t, const char *s, size_t from);
/* Pump until s shows up. */
void tty_wait_for(struct tty_run *t, const char *s);
/* Send bytes (keys) to the program. */
void tty_send(struct tty_run *t, const char *keys);
/* Pump to the end and reap the child: its wait status. */
int tty_finish(struct tty_run *t);
/* The pty's modes have echo, icanon and isig again, and the last entry into the alternate
 * screen was followed by its exit and a visible cursor. */
void tty_check_restored(const struct tty_run *t);
void tty_cleanup(struct tty_run *t);

#endif
