/* st_internal.h - helpers shared by the safetensors reader, writer and checkpoint code.
 * Not part of the public API. */
#ifndef PF_ST_INTERNAL_H
#define PF_ST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "util/err.h"

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). Returns 0 when
 * s[0..len) is valid, else -1 with *bad_at set to the offset of the first bad sequence. */
int st_utf8_check(const char *s, size_t len, size_t *bad_at);

/* s made safe for a one-line message: control characters, quote and backslash escaped as
 * \xNN, cut after about 48 bytes (at a character boundary) with "...". Returns buf. */
const char *st_q(const char *s, char *buf, size_t bufsz);
#define ST_QBUF 200

/* What the pre-parse scan of a JSON text found (see st_json_scan). */
struct st_scan {
    uint32_t *num_at;  /* header offset of every number token, in document order */
    size_t n_num;
    size_t root_members; /* members of the top-level object */
    size_t tokens;
};

/* Lexical checks run before cJSON sees the text, so that hostile input is refused before a
 * parse tree is allocated: UTF-8, raw control characters and \u0000 in strings, nesting
 * depth, number of top-level members and of tokens. Records where each number token starts
 * (cJSON keeps numbers only as doubles). what names the text in messages ("header"). On
 * error nothing stays allocated. len must be < 2^32. */
pf_status st_json_scan(const char *path, const char *what, const char *buf, size_t len,
                       int max_depth, size_t max_root_members, size_t max_tokens,
                       struct st_scan *sc, struct pf_err *err);
void st_scan_free(struct st_scan *sc);

enum st_num {
    ST_NUM_OK,       /* a JSON integer >= 0 that fits in u64 */
    ST_NUM_NEGATIVE, /* starts with '-' */
    ST_NUM_FRACTION, /* has '.', 'e' or 'E' (2.0 counts: an integer must be written as one) */
    ST_NUM_OVERFLOW, /* more than 2^64-1 */
    ST_NUM_BAD       /* leading zeros and other non-JSON spellings */
};

/* Classify the number token at s (a NUL-terminated text); *v is set for ST_NUM_OK. tok gets
 * the token text (cut to toksz-1) for messages. */
enum st_num st_parse_uint(const char *s, uint64_t *v, char *tok, size_t toksz);

/* pread len bytes at off, retrying on EINTR and partial reads. *got is what was read: less
 * than len only at end of file. PF_ERR_IO (errno set) on a read error. Nothing in err. */
pf_status st_pread(int fd, void *buf, size_t len, uint64_t off, size_t *got);

#endif
