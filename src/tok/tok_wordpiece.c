/* tok_wordpiece.c - the WordPiece model (HF semantics): greedy longest match first from the
 * start of the word, later pieces looked up with the continuing-subword prefix ("##"); a word
 * longer than max_input_chars_per_word characters, or one with a part that matches nothing,
 * becomes the single unk token. */
#include <string.h>

#include "tok/tok_internal.h"

void tok_wordpiece(const struct tok_model *m, const struct tok_vocab *v, const char *s, size_t n,
                   struct tok_ivec *out) {
    size_t nchars = 0;
    for (size_t i = 0; i < n; i++)
        nchars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (nchars > (size_t)m->max_chars) {
        tok_ivec_push(out, m->unk_id);
        return;
    }
    size_t plen = strlen(m->prefix);
    struct tok_buf key = {0};
    int mark = out->n;
    size_t start = 0;
    while (start < n) {
        size_t end = n;
        int32_t found = -1;
        while (start < end) {
            key.n = 0;
            if (start > 0)
                tok_buf_put(&key, m->prefix, plen);
            tok_buf_put(&key, s + start, end - start);
            found = tok_vocab_get(v, key.p, key.n);
            if (found >= 0)
                break;
            end--;
            while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80)
                end--;
        }
        if (found < 0) {
            out->n = mark;
            tok_ivec_push(out, m->unk_id);
            break;
        }
        tok_ivec_push(out, found);
        start = end;
    }
    tok_buf_free(&key);
}
