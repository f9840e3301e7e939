-- configs/search_noiter.lua - BIPEFT without iteration (spec 2.5): one softmax over {0} and
-- the default space's ranks per matrix module (no binary space), no early selection; the
-- structure is the argmax, filled greedily within the budget by keep probability.
return include("default.lua", { search = { iterative = false, early_stop = false } })
