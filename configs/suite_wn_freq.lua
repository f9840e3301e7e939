-- configs/suite_wn_freq.lua - offline suite task wn_freq (docs/SUITE.md): regression.
-- Target: log2(1 + SemCor tag count) of a word sense.
-- Fixed-structure training over the S1 space of default.lua. Build the data first: make data.
return include("default.lua", {
  mode = "train",
  model = { path = "models/bipeft-base" },
  task = {
    name = "wn_freq",
    type = "regression",
    train = "data/suite/wn_freq/train.tsv",
    dev = "data/suite/wn_freq/dev.tsv",
    test = "data/suite/wn_freq/test.tsv",
    columns = { text = "sentence", label = "label" },
    labels = peft.none,  -- regression: no labels
  },
  budget = peft.none,
})
