-- configs/manual_bitfit.lua - manual structure at the same budget: BitFit on every
-- position of the S1 space that fits (the top layers first).
return include("default.lua", {
  space = peft.space{ peft.bitfit{} },
  search = { method = "manual" },
})
