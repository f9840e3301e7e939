-- configs/search_random.lua - a random structure of the S1 space at the same budget:
-- candidates in a seeded random order, each at a random candidate rank, while they fit.
return include("default.lua", { search = { method = "random" } })
