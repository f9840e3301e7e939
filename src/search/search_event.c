/* search_event.c - the stable names of event types (search_event.h), both ways. */
#include "search/search_event.h"

#include <stdio.h>
#include <string.h>

static const char *const names[SEV_COUNT] = {
    [SEV_START] = "start",       [SEV_STEP] = "step",   [SEV_SENSITIVITY] = "sensitivity",
    [SEV_TRIGGER] = "trigger",   [SEV_STAGE] = "stage", [SEV_PRUNE] = "prune",
    [SEV_FIX] = "fix",           [SEV_PIN] = "pin",     [SEV_UNPIN] = "unpin",
    [SEV_BUDGET] = "budget",     [SEV_REFUSED] = "refused", [SEV_PAUSE] = "pause",
    [SEV_CHECKPOINT] = "checkpoint", [SEV_EVAL] = "eval", [SEV_PHASE] = "phase",
    [SEV_LOG] = "log",           [SEV_ERROR] = "error", [SEV_DONE] = "done",
    [SEV_TRAIN] = "train",       [SEV_RESTORE] = "restore",
    [SEV_FALLBACK] = "fallback",
};

const char *search_event_name(enum search_event_type t) {
    return (unsigned)t < SEV_COUNT ? names[t] : "unknown";
}

int search_event_type_from_name(const char *name) {
    if (!name)
        return -1;
    for (int i = 0; i < SEV_COUNT; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

void search_event_module_name(const struct search_event *ev, char *buf, size_t n) {
    if (n == 0)
        return;
    size_t len = 0;
    while (len < sizeof ev->text && ev->text[len] && ev->text[len] != '\t')
        len++;
    snprintf(buf, n, "%.*s", (int)len, ev->text);
}
