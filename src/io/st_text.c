/* st_text.c - text checks for safetensors headers and index files: UTF-8, the pre-parse
 * JSON scan, number tokens, and quoting names for messages. */
#include "io/st_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"

int st_utf8_check(const char *s, size_t len, size_t *bad_at) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            goto bad; /* continuation byte, 0xc0/0xc1 overlong lead, or 0xf5.. */
        }
        if (len - i < n)
            goto bad;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += n;
    }
    return 0;
bad:
    if (bad_at)
        *bad_at = i;
    return -1;
}

const char *st_q(const char *s, char *buf, size_t bufsz) {
    const size_t keep = 48; /* bytes of the name shown before "..." */
    size_t o = 0, i = 0;
    if (bufsz < 8) {
        if (bufsz)
            buf[0] = '\0';
        return buf;
    }
    while (s[i] && o + 8 < bufsz) {
        unsigned char c = (unsigned char)s[i];
        if (i >= keep && (c & 0xc0) != 0x80) { /* cut only at a character boundary */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            o += (size_t)snprintf(buf + o, bufsz - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
        i++;
    }
    buf[o] = '\0';
    return buf;
}

static void num_push(struct st_scan *sc, size_t *cap, size_t at) {
    if (sc->n_num == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        sc->num_at = xrealloc(sc->num_at, *cap * sizeof *sc->num_at);
    }
    sc->num_at[sc->n_num++] = (uint32_t)at;
}

static int is_num_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Skip the JSON string that opens at buf[*i] (*i then past its closing quote); control
 * characters and \u0000 in it are refused. */
static pf_status scan_string(const char *path, const char *what, const char *buf, size_t len,
                             size_t *ip, struct pf_err *err) {
    size_t i = *ip;
    i++;
    while (i < len && buf[i] != '"') {
        unsigned char u = (unsigned char)buf[i];
        if (u < 0x20)
            return pf_err_set(err, PF_ERR_FORMAT,
                              "%s: control character 0x%02x in a string at %s byte %zu",
                              path, u, what, i);
        if (u == '\\' && i + 1 < len) {
            if (buf[i + 1] == 'u' && len - i >= 6 && memcmp(buf + i + 2, "0000", 4) == 0)
                return pf_err_set(err, PF_ERR_FORMAT,
                                  "%s: \\u0000 in a string at %s byte %zu (names are C "
                                  "strings)", path, what, i);
            i++; /* skip the escaped character ("\"" must not end the string) */
        }
        i++;
    }
    i++; /* closing quote (or past the end: cJSON reports the unterminated string) */
    *ip = i;
    return PF_OK;
}

pf_status st_json_scan(const char *path, const char *what, const char *buf, size_t len,
                       int max_depth, size_t max_root_members, size_t max_tokens,
                       struct st_scan *sc, struct pf_err *err) {
    memset(sc, 0, sizeof *sc);
    size_t bad;
    if (st_utf8_check(buf, len, &bad) != 0)
        return pf_err_set(err, PF_ERR_FORMAT, "%s: %s is not valid UTF-8 at %s byte %zu", path,
                          what, what, bad);
    size_t cap = 0, i = 0;
    int depth = 0;
    pf_status st = PF_OK;
    /* Counting goes on to the end of the text (one linear pass) so that the limit messages
     * give the real totals; numbers stop being recorded once the token limit is passed. */
    while (i < len) {
        char c = buf[i];
        if (c == '"') {
            sc->tokens++;
            st = scan_string(path, what, buf, len, &i, err);
            if (st != PF_OK)
                goto fail;
            continue;
        }
        if (c == '{' || c == '[') {
            sc->tokens++;
            if (++depth > max_depth) {
                st = pf_err_set(err, PF_ERR_FORMAT,
                                "%s: %s JSON nested deeper than %d levels at %s byte %zu", path,
                                what, max_depth, what, i);
                goto fail;
            }
        } else if (c == '}' || c == ']') {
            if (depth > 0)
                depth--;
        } else if (c == ':' && depth == 1) {
            sc->root_members++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            sc->tokens++;
            if (sc->tokens <= max_tokens)
                num_push(sc, &cap, i);
            while (i + 1 < len && is_num_char(buf[i + 1]))
                i++;
        } else if (c == 't' || c == 'f' || c == 'n') {
            sc->tokens++; /* true, false, null (cJSON checks the spelling) */
            while (i + 1 < len && buf[i + 1] >= 'a' && buf[i + 1] <= 'z')
                i++;
        }
        i++;
    }
    if (sc->root_members > max_root_members) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: %s has %zu entries, limit %zu", path, what,
                        sc->root_members, max_root_members);
        goto fail;
    }
    if (sc->tokens > max_tokens) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: %s has %zu JSON tokens, limit %zu", path, what,
                        sc->tokens, max_tokens);
        goto fail;
    }
    return PF_OK;
fail:
    st_scan_free(sc);
    return st;
}

void st_scan_free(struct st_scan *sc) {
    xfree(sc->num_at);
    memset(sc, 0, sizeof *sc);
}

enum st_num st_parse_uint(const char *s, uint64_t *v, char *tok, size_t toksz) {
    size_t n = 0;
    while (is_num_char(s[n]))
        n++;
    if (toksz) {
        size_t k = n < toksz - 1 ? n : toksz - 1;
        memcpy(tok, s, k);
        tok[k] = '\0';
    }
    if (n == 0)
        return ST_NUM_BAD;
    if (s[0] == '-')
        return ST_NUM_NEGATIVE;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
            return ST_NUM_FRACTION;
    if (s[0] == '0' && n > 1)
        return ST_NUM_BAD;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ST_NUM_BAD;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return ST_NUM_OVERFLOW;
        x = x * 10 + d;
    }
    *v = x;
    return ST_NUM_OK;
}
