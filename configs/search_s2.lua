-- configs/search_s2.lua - BIPEFT over the AutoPEFT-style S2 space (serial adapter, parallel
-- adapter, prefix) on RTE, with a cosine learning-rate schedule and warm-up.
return include("default.lua", {
  task = {
    name = "rte", format = "tsv",
    train = "data/rte/train.tsv", dev = "data/rte/dev.tsv",
    columns = { text = "sentence1", pair = "sentence2", label = "label" },
    labels = { "entailment", "not_entailment" },
  },
  space = peft.s2{ ranks = { 1, 4, 8 } },
  schedule = { lr = peft.schedule.cosine{ from = 1, to = 0, warmup = 100 } },
  search = { prune_begin_epoch = 3 },
})
