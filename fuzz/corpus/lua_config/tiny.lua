-- configs/tiny.lua - a CI-sized search: a tiny model, 10 stages, 3 epochs, LoRA and BitFit
-- in the first two layers only.
return include("default.lua", {
  model = { path = "models/tiny-bert", family = "bert" },
  task = { train = "tests/data/tiny/train.tsv", dev = "tests/data/tiny/dev.tsv", max_len = 32 },
  budget = { params = 2000, fraction = peft.none },
  space = peft.space{
    peft.lora{ targets = { "q", "v" }, ranks = { 1, 2, 4 }, layers = peft.layers(0, 1) },
    peft.bitfit{ layers = peft.layers(0, 1) },
  },
  optim = { batch_size = 8, epochs = 3 },
  search = { stages = 10, prune_begin_epoch = 0, hard_stages = 2 },
  threads = 2,
})
