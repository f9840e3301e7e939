/* ui_queue.h - the thread-safe event queue between the search engine's thread and the UI.
 *
 * The engine calls the queue's sink (search_sink) on its own thread for every event; the sink
 * copies the event under a mutex and returns at once. The UI thread drains the queue in
 * order. Nothing but SEV_STEP events is ever dropped: when the UI lags (UI_QUEUE_THIN_AT
 * events or more waiting) a new STEP replaces a STEP at the tail of the queue instead of
 * being appended, so the queue keeps every decision and the latest progress. When the ring
 * is full it grows (xrealloc: dies only when the host is out of memory). */
#ifndef UI_QUEUE_H
#define UI_QUEUE_H

#include <stdint.h>

#include "search/search_event.h"

#define UI_QUEUE_THIN_AT 512

struct ui_queue;

/* A new empty queue (never NULL; xmalloc). Free with ui_queue_free (NULL: no-op). */
struct ui_queue *ui_queue_new(void);
void ui_queue_free(struct ui_queue *q);

/* Copy ev into the queue (thread-safe, any thread; never blocks for long). */
void ui_queue_push(struct ui_queue *q, const struct search_event *ev);

/* Move up to max events, oldest first, into out; returns how many (thread-safe). */
int ui_queue_drain(struct ui_queue *q, struct search_event *out, int max);

/* Events waiting now, and STEP events thinned away so far (thread-safe). */
int ui_queue_count(struct ui_queue *q);
int64_t ui_queue_thinned(struct ui_queue *q);

/* A sink that pushes into q (for search_add_sink); q must outlive the search's emits. */
void ui_queue_sink(struct ui_queue *q, struct search_sink *out);

#endif
