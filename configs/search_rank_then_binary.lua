-- configs/search_rank_then_binary.lua - ablation: ranks first, then the binary space.
return include("default.lua", { search = { order = "rank_then_binary" } })
