-- configs/search_full.lua - full fine-tuning of every backbone weight (no budget).
return include("default.lua", { search = { method = "full" } })
