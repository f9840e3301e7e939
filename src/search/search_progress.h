/* search_progress.h - the headless progress sink on stderr (search_progress.c). */
#ifndef PF_SEARCH_PROGRESS_H
#define PF_SEARCH_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "search/search_event.h"

struct search_progress {
    FILE *f;
    int tty, verbose, drawn, decile, stages;
    double last_draw;
    char name[16];
};

void search_progress_init(struct search_progress *p, FILE *f, const char *name, int verbose);
void search_progress_sink(struct search_progress *p, struct search_sink *out);
/* The line for a SEV_STEP event (pure, for tests). */
int search_progress_format(const struct search_event *ev, char *buf, size_t n);

#endif
