/* tok_buf.c - growable byte buffers, int vectors and piece lists used while encoding. */
#include <string.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"

static size_t grow_cap(size_t cap, size_t need) {
    size_t c = cap ? cap : 64;
    while (c < need)
        c *= 2;
    return c;
}

void tok_buf_put(struct tok_buf *b, const void *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = grow_cap(b->cap, b->n + n + 1);
        b->p = xrealloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void tok_buf_putc(struct tok_buf *b, char c) { tok_buf_put(b, &c, 1); }

void tok_buf_put_cp(struct tok_buf *b, int32_t cp) {
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    tok_buf_put(b, u, k);
}

void tok_buf_free(struct tok_buf *b) {
    xfree(b->p);
    memset(b, 0, sizeof *b);
}

void tok_ivec_push(struct tok_ivec *v, int32_t x) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 32;
        v->v = xrealloc(v->v, (size_t)v->cap * sizeof *v->v);
    }
    v->v[v->n++] = x;
}

void tok_ivec_free(struct tok_ivec *v) {
    xfree(v->v);
    memset(v, 0, sizeof *v);
}

void tok_pieces_add(struct tok_pieces *p, const char *s, size_t n, int first) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->off = xrealloc(p->off, (size_t)p->cap * sizeof *p->off);
        p->len = xrealloc(p->len, (size_t)p->cap * sizeof *p->len);
        p->first = xrealloc(p->first, (size_t)p->cap);
    }
    p->off[p->n] = p->text.n;
    p->len[p->n] = n;
    p->first[p->n] = (unsigned char)(first != 0);
    p->n++;
    tok_buf_put(&p->text, s, n);
}

void tok_pieces_clear(struct tok_pieces *p) {
    p->n = 0;
    p->text.n = 0;
}

void tok_pieces_free(struct tok_pieces *p) {
    tok_buf_free(&p->text);
    xfree(p->off);
    xfree(p->len);
    xfree(p->first);
    memset(p, 0, sizeof *p);
}
