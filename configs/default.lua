-- configs/default.lua - what `make run` runs: a BIPEFT search over the S1 space (LoRA,
-- low-rank adapters, BitFit, LN-tuning; candidate ranks {1, 2}) on the offline suite task
-- wn_super (24 WordNet supersenses; docs/SUITE.md) with bipeft's own pretrained base model
-- (models/bipeft-base, a 4-layer BERT; docs/PRETRAIN.md), under a budget of 0.2% of the
-- backbone, then retraining of the structure found and, for comparison, LoRA at the same
-- budget. The search's selection settings (candidate ranks {1, 2}, scores per parameter of
-- current cost, budget fill) are the combination that won the ablations on dev data
-- (docs/SEARCH.md, "Selection criteria"; docs/RESULTS.md, "Ablations"); the library's own
-- defaults stay the paper's. Sized to finish in under 10 minutes on 2 cores. Other configs include this one and
-- override what differs; configs/paper_bert_base.lua is the paper's BERT-base/SST-2 setting.
-- Every field is documented in docs/LUA.md (`bipeft check-config configs/default.lua`).
return {
  mode = "search",
  model = { path = "models/bipeft-base", family = "bert" },
  task = {
    name = "wn_super",
    type = "classification",
    format = "tsv",
    train = "data/suite/wn_super/train.tsv",
    dev = "data/suite/wn_super/dev.tsv",
    test = "data/suite/wn_super/test.tsv",
    columns = { text = "sentence", label = "label" },
    -- labels: left out, so the 24 supersenses are discovered from the training data
    max_len = 64,
  },
  budget = { fraction = 2e-3 },
  space = peft.s1{ ranks = { 1, 2 } },
  optim = {
    lr = 3e-3, arch_lr = 0.01,
    arch_betas = { 0.5, 0.999 },
    clip = 2.0,
    batch_size = 32,
    epochs = 4,   -- the search's epoch cap (it stops early when the budget is reached)
  },
  schedule = {
    lr = peft.schedule.linear{ from = 1, to = 0 },   -- factor on optim.lr, per step
    tau = peft.schedule.linear{ from = 5, to = 1 },  -- Gumbel temperature, per epoch
  },
  search = {
    stages = 40,
    trigger_threshold = 0.85,
    trigger_window = 5,
    ema = 0.85,
    prune_begin_epoch = 1,
    hard_stages = 5,
    sens_norm = "rank",   -- divide a module's score by its cost at its current rank
    fill = true,          -- after the last stage, re-add pruned modules while they fit B
    retrain_epochs = 3,
    baseline = "lora",
  },
  seed = 42,
  threads = 0,
  device = "cpu",
  session = "sessions",
  policy = "default",
}
