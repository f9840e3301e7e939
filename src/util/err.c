/* err.c - the error record and the assert handler. Does no I/O except in pf_assert_fail. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

pf_status pf_err_vat(struct pf_err *err, pf_status code, const char *where, const char *fmt,
                     va_list ap) {
    if (err) {
        int n = snprintf(err->msg, sizeof err->msg, "%s: ", where ? where : "?");
        if (n < 0 || (size_t)n >= sizeof err->msg)
            n = 0;
        vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
        err->code = code;
    }
    return code;
}

pf_status pf_err_at(struct pf_err *err, pf_status code, const char *where, const char *fmt,
                    ...) {
    va_list ap;
    va_start(ap, fmt);
    pf_err_vat(err, code, where, fmt, ap);
    va_end(ap);
    return code;
}

pf_status pf_err_set(struct pf_err *err, pf_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void pf_err_clear(struct pf_err *err) {
    if (err) {
        err->code = PF_OK;
        err->msg[0] = '\0';
    }
}

const char *pf_status_name(pf_status code) {
    switch (code) {
    case PF_OK: return "ok";
    case PF_ERR_ARG: return "invalid argument";
    case PF_ERR_SHAPE: return "shape mismatch";
    case PF_ERR_NOMEM: return "out of memory";
    case PF_ERR_IO: return "I/O error";
    case PF_ERR_FORMAT: return "format error";
    case PF_ERR_SCRIPT: return "script error";
    case PF_ERR_NUMERIC: return "non-finite value";
    case PF_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

_Noreturn void pf_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}
