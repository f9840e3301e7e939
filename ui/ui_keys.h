/* ui_keys.h - a screen's keys as a table, in the manner of htop's ScreenManager: each row
 * names the keys of one action and the function that does it, so that a screen's keys are read
 * in one place and dispatched by one loop (ui_keys_run). What a screen does before its table
 * (a prompt that takes the keys, the help overlay that any key closes) stays in its on_key. */
#ifndef PF_UI_KEYS_H
#define PF_UI_KEYS_H

#define UI_KEYS_MAX 4

struct ui_key {
    int keys[UI_KEYS_MAX];          /* the keys of the action; a 0 ends the list early */
    void (*run)(void *screen, int ch); /* the action, with the screen and the key pressed */
};

/* Runs the action of the first row of t that lists ch (t ends with a row whose run is NULL);
 * 1 when one ran, 0 when ch is not in the table. */
int ui_keys_run(const struct ui_key *t, void *screen, int ch);

#endif
