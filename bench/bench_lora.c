/* bench_lora.c - `bipeft-bench --section lora`: one LoRA fine-tuning step as `bipeft train`
 * takes it (src/train/train_loop.c): zero the gradients, forward a BERT sequence classifier
 * (vocab 30522, frozen backbone) with LoRA r = 8, alpha 16 on q and v of every layer, the
 * cross-entropy of 2 labels, backward, global-norm clipping (1.0) and AdamW on the LoRA
 * tensors and the classifier. Median of --reps steps after one warm-up, with the forward,
 * backward and optimiser parts, then the process's peak RSS (run one shape per process for
 * a per-shape figure, as `make bench` does). bench/peer_torch.py --lora times the same step
 * in PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "core/ops.h"
#include "model/model.h"
#include "peft/peft.h"
#include "util/rng.h"

struct slot {
    struct tensor *p, *g, m, v;
};

static void one_shape(struct backend *be, const struct bench_shape *s, int reps) {
    struct pf_err err = {0};
    struct model_config c = {.family = FAM_BERT, .head = HEAD_SEQ_CLS, .vocab = 30522,
                             .hidden = s->C, .layers = s->layers, .heads = s->H,
                             .kv_heads = s->H, .head_dim = s->C / s->H, .ffn = s->F,
                             .max_pos = 512, .type_vocab = 2, .norm_eps = 1e-12f,
                             .act = ACT_GELU_ERF, .pad_id = 0, .bos_id = -1, .eos_id = -1,
                             .num_labels = 2};
    snprintf(c.model_type, sizeof c.model_type, "bert");
    struct model m;
    bench_die_on(model_create(&m, &c, be, -1, 0, &err), &err);
    model_init_params(&m, 7, 0);
    m.skip_input_grad = 1; /* as bipeft train: frozen embeddings need no gradient */
    struct peft p;
    bench_die_on(peft_init(&p, &m, 1, &err), &err);
    for (int l = 0; l < s->layers; l++)
        for (int k = 0; k < 2; k++) {
            struct peft_spec sp = {.kind = CFG_KIND_LORA, .target = k ? CFG_T_V : CFG_T_Q,
                                   .layer = l, .r_max = 8, .rank = 8, .alpha = 16};
            bench_die_on(peft_add(&p, &sp, 100 + (uint64_t)(2 * l + k), NULL, &err), &err);
        }
    /* trainable: every LoRA tensor and the classifier (the pooler stays frozen, as PEFT's
     * modules_to_save = ["classifier"]) */
    int n = 0;
    struct slot sl[256];
    for (int i = 0; i < p.n; i++)
        for (int j = 0; j < p.mod[i].n_t; j++)
            sl[n++] = (struct slot){.p = &p.mod[i].t[j], .g = &p.mod[i].g[j]};
    int n_mod = n; /* peft_zero_grad zeroes these */
    for (int i = 0; i < m.n_params; i++) {
        struct model_param *mp = &m.params[i];
        if (!mp->head || mp->base)
            continue;
        bench_die_on(model_set_trainable(&m, mp, 1, &err), &err);
        sl[n++] = (struct slot){.p = mp->part[0], .g = mp->grad[0]};
    }
    for (int i = 0; i < n; i++) {
        float *mm = calloc((size_t)sl[i].p->numel, sizeof(float)),
              *vv = calloc((size_t)sl[i].p->numel, sizeof(float));
        bench_die_on(tensor_wrap(&sl[i].m, be, mm, TENSOR_F32, "m", sl[i].p->ndim,
                                 sl[i].p->shape, &err), &err);
        bench_die_on(tensor_wrap(&sl[i].v, be, vv, TENSOR_F32, "v", sl[i].p->ndim,
                                 sl[i].p->shape, &err), &err);
    }
    size_t N = (size_t)s->B * (size_t)s->T;
    int32_t *ids = malloc(N * sizeof *ids), *mask = malloc(N * sizeof *mask);
    int32_t lab[64];
    float lse[64], *dl = calloc((size_t)s->B * 2, sizeof *dl);
    for (size_t i = 0; i < N; i++) {
        ids[i] = 1000 + (int32_t)(rng_uniform_at(3, i) * 20000.0f);
        mask[i] = 1;
    }
    for (int b = 0; b < s->B; b++)
        lab[b] = b % 2;
    int64_t sb[1] = {s->B}, sd[2] = {s->B, 2};
    struct tensor tl, tlse, tdl;
    bench_die_on(tensor_wrap(&tl, be, lab, TENSOR_I32, "labels", 1, sb, &err), &err);
    bench_die_on(tensor_wrap(&tlse, be, lse, TENSOR_F32, "lse", 1, sb, &err), &err);
    bench_die_on(tensor_wrap(&tdl, be, dl, TENSOR_F32, "dlogits", 2, sd, &err), &err);
    struct tensor *grads[256];
    for (int i = 0; i < n; i++)
        grads[i] = sl[i].g;
    struct model_batch b = {.B = s->B, .T = s->T, .ids = ids, .mask = mask};
    double tf[64], tb[64], to[64], tt[64];
    peft_set_training(&p, 1);
    for (int r = -1; r < reps; r++) {
        double t0 = bench_now();
        for (int i = n_mod; i < n; i++)
            bench_die_on(op_zero(be, sl[i].g, &err), &err);
        bench_die_on(peft_zero_grad(&p, &err), &err);
        bench_die_on(model_forward(&m, &b, &err), &err);
        float loss;
        bench_die_on(op_crossentropy_forward(be, &loss, &tlse, model_logits(&m), &tl, -1, &err),
                     &err);
        double t1 = bench_now();
        bench_die_on(op_crossentropy_backward(be, &tdl, model_logits(&m), &tlse, &tl, -1, 1.0f,
                                              &err), &err);
        bench_die_on(model_backward(&m, NULL, &tdl, &err), &err);
        double t2 = bench_now(), norm;
        bench_die_on(op_clip_grad_norm(be, grads, n, 1.0f, &norm, &err), &err);
        for (int i = 0; i < n; i++) {
            struct adamw_params hp = {.lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                      .weight_decay = 0.01f, .step = r + 2};
            bench_die_on(op_adamw_update(be, sl[i].p, sl[i].g, &sl[i].m, &sl[i].v, &hp, &err),
                         &err);
        }
        double t3 = bench_now();
        peft_next_step(&p);
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t2 - t1;
            to[r] = t3 - t2;
            tt[r] = t3 - t0;
        }
    }
    int64_t trainable = 0;
    for (int i = 0; i < n; i++)
        trainable += sl[i].p->numel;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("| %s LoRA step | %.1f | %.1f | %.1f | %.1f | %lld | %.0f |\n", s->name,
           1e3 * bench_median(tf, reps), 1e3 * bench_median(tb, reps),
           1e3 * bench_median(to, reps), 1e3 * bench_median(tt, reps), (long long)trainable,
           (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        free(sl[i].m.data);
        free(sl[i].v.data);
    }
    free(ids);
    free(mask);
    free(dl);
    peft_free(&p);
    model_free(&m);
}

void bench_lora(struct backend *be, const char *only, int reps) {
    printf("\n### LoRA fine-tuning step (r = 8 on q, v; AdamW; frozen BERT, vocab 30522)\n\n");
    printf("| shape | fwd+loss ms | bwd ms | clip+AdamW ms | step ms | trainable | peak RSS "
           "MiB |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof bench_shapes / sizeof bench_shapes[0]; i++)
        if (!only || strstr(bench_shapes[i].name, only))
            one_shape(be, &bench_shapes[i], reps);
}
