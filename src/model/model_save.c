/* model_save.c - every parameter of a model as an HF model.safetensors (model.h). */
#include "io/safetensors.h"
#include "model/model.h"
#include "util/xalloc.h"

pf_status model_save_safetensors(const struct model *m, const char *path, const char *verb,
                                 struct pf_err *err) {
    int n = m->n_params;
    struct st_wtensor *w = xcalloc((size_t)(n ? n : 1), sizeof *w);
    char (*names)[160] = xcalloc((size_t)(n ? n : 1), sizeof *names);
    float **bufs = xcalloc((size_t)(n ? n : 1), sizeof *bufs);
    pf_status st = PF_OK;
    for (int i = 0; i < n && st == PF_OK; i++) {
        const struct model_param *mp = &m->params[i];
        st = model_param_copy_finite(m, mp, verb, &bufs[i], err);
        model_param_full_name(m, mp, names[i], sizeof names[i]);
        w[i] = (struct st_wtensor){.name = names[i], .dtype = ST_F32, .ndim = mp->ndim,
                                   .shape = mp->shape, .data = bufs[i]};
    }
    const char *meta[] = {"format", "pt"};
    if (st == PF_OK)
        st = st_write(path, w, n, meta, 1, err);
    for (int i = 0; i < n; i++)
        xfree(bufs[i]);
    xfree(bufs);
    xfree(names);
    xfree(w);
    return st;
}
