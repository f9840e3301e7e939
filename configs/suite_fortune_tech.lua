-- configs/suite_fortune_tech.lua - offline suite task fortune_tech (docs/SUITE.md): binary.
-- 1 = filed in a computing fortune file.
-- Fixed-structure training over the S1 space of default.lua. Build the data first: make data.
return include("default.lua", {
  mode = "train",
  model = { path = "models/bipeft-base" },
  task = {
    name = "fortune_tech",
    type = "classification",
    train = "data/suite/fortune_tech/train.tsv",
    dev = "data/suite/fortune_tech/dev.tsv",
    test = "data/suite/fortune_tech/test.tsv",
    columns = { text = "sentence", label = "label" },
    labels = { "0", "1" },
    max_len = 128,
  },
  budget = peft.none,
})
