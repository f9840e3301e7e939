-- configs/paper_bert_base.lua - the paper's main setting: BIPEFT search over the S1 space
-- (LoRA, low-rank adapters, BitFit, LN-tuning) with candidate ranks {1, 4, 8}, budget 1.39
-- per ten-thousand of the backbone, the default policy, on SST-2 with BERT-base. Needs a
-- local bert-base-uncased (HF layout) under models/ and the GLUE SST-2 TSVs under data/sst2/
-- (bipeft never downloads). Every field is documented in docs/LUA.md.
return {
  mode = "search",
  model = { path = "models/bert-base-uncased", family = "bert" },
  task = {
    name = "sst2",
    type = "classification",
    format = "tsv",
    train = "data/sst2/train.tsv",
    dev = "data/sst2/dev.tsv",
    columns = { text = "sentence", label = "label" },
    labels = { "0", "1" },
    max_len = 128,
  },
  budget = { fraction = 1.39e-4 },
  space = peft.s1{ ranks = { 1, 4, 8 } },
  optim = {
    lr = 3e-4, arch_lr = 0.01,
    arch_betas = { 0.5, 0.999 },
    clip = 2.0,
    batch_size = 32,
    epochs = 15,
  },
  schedule = {
    lr = peft.schedule.linear{ from = 1, to = 0 },   -- factor on optim.lr, per step
    tau = peft.schedule.linear{ from = 5, to = 1 },  -- Gumbel temperature, per epoch
  },
  search = {
    stages = 100,
    trigger_threshold = 0.85,
    trigger_window = 5,
    ema = 0.85,
    prune_begin_epoch = 2,
  },
  seed = 42,
  threads = 0,
  device = "cpu",
  session = "sessions",
  policy = "default",
}
