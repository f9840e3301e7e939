-- configs/suite_wn_super.lua - offline suite task wn_super (docs/SUITE.md): multi-class.
-- Label: the WordNet supersense of a noun gloss.
-- Fixed-structure training over the S1 space of default.lua. Build the data first: make data.
return include("default.lua", {
  mode = "train",
  model = { path = "models/bipeft-base" },
  task = {
    name = "wn_super",
    type = "classification",
    train = "data/suite/wn_super/train.tsv",
    dev = "data/suite/wn_super/dev.tsv",
    test = "data/suite/wn_super/test.tsv",
    columns = { text = "sentence", label = "label" },
    labels = peft.none,  -- 24 supersenses, discovered from the data
  },
  budget = peft.none,
})
