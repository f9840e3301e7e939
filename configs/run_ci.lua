-- configs/run_ci.lua - `make run-ci`: the main job of `make run` (configs/default.lua) sized for
-- CI: one search epoch with fewer stages, one epoch of retraining and of the LoRA baseline.
return include("default.lua", {
  optim = { epochs = 1 },
  search = { stages = 10, hard_stages = 2, prune_begin_epoch = 0, retrain_epochs = 1 },
})
