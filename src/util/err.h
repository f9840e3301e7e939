/* err.h - status codes, the error record filled by the core, and the invariant assert.
 *
 * Three tiers (see docs/ARCHITECTURE.md):
 *   1. bugs and broken invariants: PF_ASSERT aborts with file:line;
 *   2. small host allocations: xmalloc (util/xalloc.h) dies on failure;
 *   3. run-time outcomes (bad argument, shape mismatch, out of memory, I/O, script error):
 *      functions return pf_status and fill a struct pf_err with a one-line message.
 * Nothing in src/core, src/model, src/peft or src/search longjmps or exits on tier 3. */
#ifndef PF_ERR_H
#define PF_ERR_H

#include <stdarg.h>

typedef enum {
    PF_OK = 0,
    PF_ERR_ARG,         /* invalid argument (NULL tensor, bad flag, out-of-range value) */
    PF_ERR_SHAPE,       /* tensor shapes do not agree */
    PF_ERR_NOMEM,       /* an allocation the caller sized could not be satisfied */
    PF_ERR_IO,          /* file system */
    PF_ERR_FORMAT,      /* malformed input file */
    PF_ERR_SCRIPT,      /* Lua policy or config error */
    PF_ERR_NUMERIC,     /* NaN/Inf where a finite value is required */
    PF_ERR_UNSUPPORTED  /* valid request this build cannot serve (e.g. no CUDA) */
} pf_status;

struct pf_err {
    pf_status code;
    char msg[512];
};

/* Record code and a printf-style message in err (err may be NULL). Returns code, so that
 * callers can write `return pf_err_set(err, PF_ERR_ARG, "...")`. */
pf_status pf_err_set(struct pf_err *err, pf_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with "where: " in front of the message (a file path, usually): the one-line form
 * every input-validation error takes ("m/config.json: hidden_size: ..."). */
pf_status pf_err_at(struct pf_err *err, pf_status code, const char *where, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
/* The va_list form, for modules that wrap it with their own context. */
pf_status pf_err_vat(struct pf_err *err, pf_status code, const char *where, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

/* Reset err to PF_OK with an empty message. err may be NULL. */
void pf_err_clear(struct pf_err *err);

/* Short stable name of a status ("ok", "invalid argument", ...). Never NULL. */
const char *pf_status_name(pf_status code);

/* Abort with "file:line: assertion failed: expr". For bugs only, never for user input. */
_Noreturn void pf_assert_fail(const char *file, int line, const char *expr);

/* Run a sequence of status-returning calls, stopping at the first failure:
 *     pf_status st = PF_OK;  PF_STEP(st, f(...));  PF_STEP(st, g(...));  return st; */
#define PF_STEP(st, call)                                                                   \
    do {                                                                                    \
        if ((st) == PF_OK)                                                                  \
            (st) = (call);                                                                  \
    } while (0)

#define PF_ASSERT(x) ((x) ? (void)0 : pf_assert_fail(__FILE__, __LINE__, #x))

#endif
