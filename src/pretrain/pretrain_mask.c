/* pretrain_mask.c - dynamic MLM masking (pretrain.h): BERT's rule (choose 15 % of the
 * tokens; of those 80 % [MASK], 10 % a random token, 10 % unchanged), drawn from Philox as a
 * pure function of (seed, step, sequence, position), so a step's batch can be rebuilt exactly
 * (determinism, resume) and every epoch sees new masks. */
#include "pretrain/pretrain.h"
#include "util/rng.h"

static int maskable(const struct pretrain_special *sp, int32_t id) {
    return id != sp->pad && id != sp->cls && id != sp->sep && id != sp->mask && id != sp->unk;
}

int64_t pretrain_mask_batch(const struct pretrain_seqs *src, const int64_t *seq, int B,
                            const struct pretrain_special *sp, double p, uint64_t seed,
                            uint64_t step, int32_t *ids, int32_t *attn, int32_t *labels) {
    int T = src->T;
    uint64_t key = seed ^ (0x9E3779B97F4A7C15ULL * (step + 1)) ^ 0x6D61736BULL; /* "mask" */
    uint32_t p32 = (uint32_t)(p * 4294967296.0);
    int64_t chosen = 0, first = -1;
    for (int b = 0; b < B; b++) {
        const int32_t *row = src->ids + seq[b] * T;
        for (int t = 0; t < T; t++) {
            int64_t k = (int64_t)b * T + t;
            int32_t id = row[t];
            ids[k] = id;
            attn[k] = id != sp->pad;
            labels[k] = PRETRAIN_IGNORE;
            if (!maskable(sp, id))
                continue;
            if (first < 0)
                first = k;
            uint32_t w[4];
            rng_philox4x32(key, (uint64_t)seq[b] * (uint64_t)T + (uint64_t)t, w);
            if (w[0] >= p32)
                continue;
            labels[k] = id;
            chosen++;
            double r = rng_u32_to_unit(w[1]);
            if (r < 0.8)
                ids[k] = sp->mask;
            else if (r < 0.9)
                ids[k] = (int32_t)(w[2] % (uint32_t)sp->vocab);
        }
    }
    if (!chosen && first >= 0) {
        labels[first] = ids[first];
        ids[first] = sp->mask;
        chosen = 1;
    }
    return chosen;
}
