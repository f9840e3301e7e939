/* ui_keys.c - dispatching a key through a screen's table (ui_keys.h). */
#include "ui_keys.h"

#include <stddef.h>

int ui_keys_run(const struct ui_key *t, void *screen, int ch) {
    for (; t->run; t++)
        for (int k = 0; k < UI_KEYS_MAX && t->keys[k]; k++)
            if (t->keys[k] == ch) {
                t->run(screen, ch);
                return 1;
            }
    return 0;
}
