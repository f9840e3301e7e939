/* peft_kind.h - the vocabulary shared by configs (script/) and modules (peft/): which PEFT
 * module kinds exist and where they can attach. Names as written in configs are
 * script_kind_name / script_target_name; peft_* functions map them onto hook points. */
#ifndef PF_PEFT_KIND_H
#define PF_PEFT_KIND_H

/* Module kinds of a search space (names as written in configs: "lora", "lra", ...). */
enum cfg_kind {
    CFG_KIND_LORA,             /* LoRA on linear layers; ranks; alpha, dropout */
    CFG_KIND_LRA,              /* low-rank adapter after attention / FFN; ranks; reduction */
    CFG_KIND_BITFIT,           /* bias vectors */
    CFG_KIND_LN,               /* LN-tuning: a gain delta on LayerNorm/RMSNorm */
    CFG_KIND_SERIAL_ADAPTER,   /* Houlsby-style adapter after a sub-layer; ranks = bottleneck */
    CFG_KIND_PARALLEL_ADAPTER, /* adapter parallel to a sub-layer; ranks = bottleneck */
    CFG_KIND_PREFIX,           /* prefix keys/values; ranks = prefix lengths */
    CFG_KIND_IA3,              /* (IA)^3 scaling vectors */
    CFG_KIND_COUNT
};

/* Where a module attaches; a group's `targets` is a bit set of these. */
enum cfg_target {
    CFG_T_Q, CFG_T_K, CFG_T_V, CFG_T_O,                  /* attention projections */
    CFG_T_FFN_UP, CFG_T_FFN_DOWN, CFG_T_FFN_GATE,        /* FFN linears (gate: llama) */
    CFG_T_ATTN, CFG_T_FFN,                               /* whole sub-layers (adapters) */
    CFG_T_ATTN_LN, CFG_T_FFN_LN, CFG_T_FINAL_LN,         /* norms */
    CFG_T_COUNT
};

/* Names used in configs and JSON ("lora", "ffn_up", ...; script/script_config.c). */
const char *script_kind_name(enum cfg_kind k);
const char *script_target_name(enum cfg_target t);

#endif
