-- configs/search_binary_then_rank.lua - ablation: the first half of the epochs searches
-- only the binary space, the second half only the ranks (spec 3.2).
return include("default.lua", { search = { order = "binary_then_rank" } })
