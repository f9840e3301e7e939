-- configs/tiny.lua - a small search: the default task and base model, 10 stages, 3 epochs,
-- LoRA and BitFit in the first two layers only, budget 2000 parameters.
return include("default.lua", {
  budget = { params = 2000, fraction = peft.none },
  space = peft.space{
    peft.lora{ targets = { "q", "v" }, ranks = { 1, 2, 4 }, layers = peft.layers(0, 1) },
    peft.bitfit{ layers = peft.layers(0, 1) },
  },
  optim = { batch_size = 8, epochs = 3 },
  search = { stages = 10, prune_begin_epoch = 0, hard_stages = 2 },
  threads = 2,
})
