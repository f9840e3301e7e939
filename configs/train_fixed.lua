-- configs/train_fixed.lua - retrain a structure found by a search, from scratch, on the full
-- training set (mode "train"): the structure file comes from the search's session folder.
return include("default.lua", {
  mode = "train",
  budget = peft.none,
  structure = "sessions/sst2-s1/structure.json",
  optim = { epochs = 20 },
})
