/* test_ui_keys.c - a screen's key table (ui/ui_keys.h): the row that lists the key runs, with
 * the screen and the key; the first such row wins; a key in no row runs nothing. */
#include <criterion/criterion.h>

#include "ui_keys.h"

struct screen {
    int a, b, last;
};

static void act_a(void *p, int ch) {
    struct screen *s = p;
    s->a++;
    s->last = ch;
}

static void act_b(void *p, int ch) {
    struct screen *s = p;
    s->b++;
    s->last = ch;
}

Test(ui_keys, the_row_listing_the_key_runs) {
    static const struct ui_key t[] = {
        {{'x', 'y', 'z', 'w'}, act_a}, {{'y', 'b'}, act_b}, {{0}, NULL}};
    struct screen s = {0};
    cr_assert_eq(ui_keys_run(t, &s, 'w'), 1); /* the fourth key of a full row */
    cr_assert_eq(s.a, 1);
    cr_assert_eq(s.last, 'w');
    cr_assert_eq(ui_keys_run(t, &s, 'y'), 1); /* in two rows: the first wins */
    cr_assert_eq(s.a, 2);
    cr_assert_eq(s.b, 0);
    cr_assert_eq(ui_keys_run(t, &s, 'b'), 1);
    cr_assert_eq(s.b, 1);
    cr_assert_eq(s.last, 'b');
    cr_assert_eq(ui_keys_run(t, &s, 'q'), 0); /* in no row */
    cr_assert_eq(ui_keys_run(t, &s, 0), 0);   /* 0 ends a row's keys, it is no key */
    cr_assert_eq(s.a + s.b, 3);
}
