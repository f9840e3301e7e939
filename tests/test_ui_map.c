/* test_ui_map.c - ui/ui_map.c, the module map's columns: the abbreviations and the legend,
 * column widths from the labels and the cells' content, and the fit: the S1 space of a
 * 4-layer BERT (bitfit, ln, lora, lra on q k v o ffn_up ffn_down attn ffn attn_ln ffn_ln:
 * 18 columns) shows whole at 120 columns once the map takes its width from the detail panel
 * (ui_layout_fit_map), and scrolls sideways at 80 with the cursor's column kept in view. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ui_layout.h"
#include "ui_map.h"
#include "ui_model.h"

/* The S1 candidates of a 4-layer BERT, each with a step-0 snapshot (ranks 1, 4, 8 for lora
 * and lra). */
static struct ui_model *s1_model(void) {
    static const char *const kinds[][9] = {
        {"lora", "q", "k", "v", "o", "ffn_up", "ffn_down", NULL},
        {"lra", "attn", "ffn", NULL},
        {"bitfit", "q", "k", "v", "o", "ffn_up", "ffn_down", "attn_ln", "ffn_ln"},
        {"ln", "attn_ln", "ffn_ln", NULL},
    };
    struct ui_model *m = ui_model_new();
    for (int l = 0; l < 4; l++)
        for (int k = 0; k < 4; k++)
            for (int p = 1; p < 9 && kinds[k][p]; p++) {
                char name[64];
                snprintf(name, sizeof name, "L%d.%s.%s", l, kinds[k][0], kinds[k][p]);
                ui_model_add_module(m, name, 100);
            }
    for (int i = 0; i < m->n_mods; i++) {
        struct search_event e;
        memset(&e, 0, sizeof e);
        e.type = SEV_SENSITIVITY;
        e.module = i;
        e.stage = 40;
        int ranked = !strncmp(m->mods[i].kind, "lora", 4) || !strcmp(m->mods[i].kind, "lra");
        e.rank = ranked ? 8 : 0;
        snprintf(e.text, sizeof e.text, "%s%s", m->mods[i].name,
                 ranked ? "\tr=1:0.2,4:0.3,8:0.5" : "");
        ui_model_apply(m, &e);
    }
    return m;
}

Test(ui_map, abbreviations_and_labels) {
    char b[16];
    cr_assert_eq(ui_map_abbrev("ffn_down", b, sizeof b), 1);
    cr_assert_str_eq(b, "f.dn");
    cr_assert_eq(ui_map_abbrev("ffn_up", b, sizeof b), 1);
    cr_assert_str_eq(b, "f.up");
    cr_assert_eq(ui_map_abbrev("attn_ln", b, sizeof b), 1);
    cr_assert_str_eq(b, "a.ln");
    cr_assert_eq(ui_map_abbrev("ffn_ln", b, sizeof b), 1);
    cr_assert_str_eq(b, "f.ln");
    cr_assert_eq(ui_map_abbrev("q", b, sizeof b), 0);
    cr_assert_str_eq(b, "q");
    struct ui_model *m = s1_model();
    cr_assert_eq(m->n_mods, 72);
    cr_assert_eq(m->map_rows, 4);
    cr_assert_eq(m->map_cols, 18);
    /* kinds sorted; positions in forward order, abbreviated the same way in every kind */
    const char *want[18][2] = {
        {"bitfit", "q"}, {"bitfit", "k"}, {"bitfit", "v"}, {"bitfit", "o"},
        {"bitfit", "a.ln"}, {"bitfit", "f.up"}, {"bitfit", "f.dn"}, {"bitfit", "f.ln"},
        {"ln", "a.ln"}, {"ln", "f.ln"},
        {"lora", "q"}, {"lora", "k"}, {"lora", "v"}, {"lora", "o"}, {"lora", "f.up"},
        {"lora", "f.dn"}, {"lra", "attn"}, {"lra", "ffn"}};
    for (int c = 0; c < 18; c++) {
        char kind[64], label[64];
        ui_map_col_parts(m, c, kind, sizeof kind, label, sizeof label);
        cr_assert(!strcmp(kind, want[c][0]) && !strcmp(label, want[c][1]),
                  "column %d: %s/%s, not %s/%s", c, kind, label, want[c][0], want[c][1]);
    }
    char legend[256];
    ui_map_legend(m, legend, sizeof legend);
    cr_assert_str_eq(legend, "a.ln attn_ln  f.up ffn_up  f.dn ffn_down  f.ln ffn_ln");
    ui_model_free(m);
    /* a module outside the layers: its whole name, kind "other"; no legend without an
     * abbreviation */
    m = ui_model_new();
    ui_model_add_module(m, "L0.lora.q", 10);
    ui_model_add_module(m, "final.ln", 10);
    char kind[64], label[64];
    ui_map_col_parts(m, 1, kind, sizeof kind, label, sizeof label);
    cr_assert(!strcmp(kind, "other") && !strcmp(label, "final.ln"), "%s %s", kind, label);
    ui_map_legend(m, legend, sizeof legend);
    cr_assert_str_eq(legend, "");
    ui_model_free(m);
}

Test(ui_map, widths_follow_the_content) {
    struct ui_model *m = s1_model();
    int w[18];
    int sum = ui_map_col_widths(m, w);
    /* bitfit q: a glyph and a pin (2) and the gap; bitfit a.ln: the label (4) and the gap;
     * lora q: glyph, "~8", pin (4) and the gap; lra attn: the label (4) and the gap */
    cr_assert_eq(w[0], 3);
    cr_assert_eq(w[4], 5);
    cr_assert_eq(w[10], 5);
    cr_assert_eq(w[16], 5);
    int s = 0;
    for (int c = 0; c < 18; c++)
        s += w[c];
    cr_assert_eq(sum, s);
    cr_assert_eq(ui_map_label_width(m), 3); /* "L3" and a blank */
    /* a rank of two digits widens its column */
    m->mods[0].ranks[m->mods[0].n_ranks - 1] = 16;
    int col = m->mods[0].map_col, before = w[col];
    ui_map_col_widths(m, w);
    cr_assert_eq(w[col], before + 1);
    ui_model_free(m);
}

Test(ui_map, s1_fits_at_120_columns) {
    struct ui_model *m = s1_model();
    int w[18];
    int need = 2 + ui_map_label_width(m) + ui_map_col_widths(m, w) - UI_MAP_GAP;
    struct ui_layout l;
    ui_layout_compute(&l, 120, 40, UI_VIEW_MAIN, 0);
    cr_assert_lt(l.map.w, need, "the test needs a map that must grow (%d >= %d)", l.map.w, need);
    ui_layout_fit_map(&l, need);
    cr_assert_geq(l.map.w, need, "the map is %d wide, its columns need %d", l.map.w, need);
    cr_assert_geq(l.detail.w, UI_DETAIL_MIN_W);
    cr_assert_eq(l.map.w + l.detail.w, 120);
    int avail = l.map.w - 2 - ui_map_label_width(m);
    for (int cur = 0; cur < 18; cur++) {
        int off = 7;
        cr_assert_eq(ui_map_fit(w, 18, avail, cur, &off), 18, "cursor %d: not all fit", cur);
        cr_assert_eq(off, 0);
    }
    ui_model_free(m);
}

Test(ui_map, scrolls_when_it_does_not_fit) {
    struct ui_model *m = s1_model();
    int w[18];
    ui_map_col_widths(m, w);
    struct ui_layout l;
    ui_layout_compute(&l, 80, 24, UI_VIEW_MAIN, 0);
    ui_layout_fit_map(&l, 1000);
    cr_assert_eq(l.detail.w, UI_DETAIL_MIN_W);
    int avail = l.map.w - 2 - ui_map_label_width(m), off = 0;
    int vis = ui_map_fit(w, 18, avail, 0, &off);
    cr_assert(off == 0 && vis > 0 && vis < 18, "vis %d off %d", vis, off);
    for (int cur = 0; cur < 18; cur++) { /* the cursor's column always shows, whole */
        vis = ui_map_fit(w, 18, avail, cur, &off);
        cr_assert(off <= cur && cur < off + vis, "cursor %d outside %d..%d", cur, off,
                  off + vis - 1);
        int used = -UI_MAP_GAP;
        for (int c = off; c < off + vis; c++)
            used += w[c];
        cr_assert_leq(used, avail);
    }
    cr_assert_eq(off + vis, 18, "at the last column the map ends there");
    /* back to the left: the view follows */
    vis = ui_map_fit(w, 18, avail, 2, &off);
    cr_assert_eq(off, 2);
    /* degenerate sizes */
    cr_assert_eq(ui_map_fit(w, 0, avail, 0, &off), 0);
    cr_assert_eq(ui_map_fit(w, 18, 1, 5, &off), 1);
    cr_assert_eq(off, 5);
    ui_model_free(m);
}

Test(ui_map, spare_room_is_shared) {
    int w[3] = {3, 5, 5};
    cr_assert_eq(ui_map_spread(w, 3, 12), 13); /* 12 needed (the last gap is free): as is */
    cr_assert_eq(w[0], 3);
    cr_assert_eq(ui_map_spread(w, 3, 18), 19); /* 6 spare: 2 each */
    cr_assert(w[0] == 5 && w[1] == 7 && w[2] == 7);
    int v[2] = {3, 3};
    ui_map_spread(v, 2, 100);
    cr_assert_eq(v[0], 3 + UI_MAP_SPREAD_MAX);
}
