-- configs/baseline_full.lua - baseline: full fine-tuning of every backbone weight and the head
-- (no PEFT modules), with the usual small learning rate.
return include("default.lua", {
  mode = "train",
  budget = peft.none,
  space = peft.none,
  train = { full = true },
  optim = { lr = 2e-5, weight_decay = 0.01 },
  schedule = { lr = peft.schedule.linear{ from = 1, to = 0, warmup = 500 } },
})
