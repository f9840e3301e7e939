-- configs/search_noiter.lua - BIPEFT without iteration (spec 2.5): one softmax over the
-- ranks {0, 1, 4, 8} per matrix module (no binary space), no early selection; the structure
-- is the argmax, filled greedily within the budget by keep probability.
return include("default.lua", { search = { iterative = false, early_stop = false } })
