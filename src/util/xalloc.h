/* xalloc.h - small host allocations that cannot reasonably fail (tier 2 of util/err.h).
 * On failure they print "bipeft: out of memory (N bytes)" and exit(1). Buffers whose size
 * comes from user input (models, datasets, activations) go through an arena instead, which
 * reports failure as a status. xfree(NULL) is a no-op. */
#ifndef PF_XALLOC_H
#define PF_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void xfree(void *p);

#endif
