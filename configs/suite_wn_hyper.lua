-- configs/suite_wn_hyper.lua - offline suite task wn_hyper (docs/SUITE.md): pairs.
-- 1 = sentence2 glosses a hypernym of sentence1.
-- Fixed-structure training over the S1 space of default.lua. Build the data first: make data.
return include("default.lua", {
  mode = "train",
  model = { path = "models/bipeft-base" },
  task = {
    name = "wn_hyper",
    type = "classification",
    train = "data/suite/wn_hyper/train.tsv",
    dev = "data/suite/wn_hyper/dev.tsv",
    test = "data/suite/wn_hyper/test.tsv",
    columns = { text = "sentence1", pair = "sentence2", label = "label" },
    labels = { "0", "1" },
    max_len = 128,
  },
  budget = peft.none,
})
