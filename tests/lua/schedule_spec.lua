-- tests/lua/schedule_spec.lua - schedule builders and their evaluation
local peft = dofile("tests/lua/helper.lua")
local S = peft.schedule

local function close(a, b) assert.is_true(math.abs(a - b) < 1e-12, a .. " ~= " .. b) end

describe("peft.schedule", function()
  it("linear: the paper's tau = 5 - 4 epoch / E", function()
    local tau = S.linear{from = 5, to = 1}
    for e = 0, 15 do close(S.eval(tau, e, 15), 5 - 4 * e / 15) end
  end)
  it("linear with warm-up", function()
    local s = S.linear{from = 1, to = 0, warmup = 10}
    close(S.eval(s, 0, 110), 0)
    close(S.eval(s, 5, 110), 0.5)
    close(S.eval(s, 10, 110), 1)
    close(S.eval(s, 60, 110), 0.5)
    close(S.eval(s, 500, 110), 0)
  end)
  it("cosine", function()
    local s = S.cosine{from = 1, to = 0}
    close(S.eval(s, 0, 100), 1)
    close(S.eval(s, 50, 100), 0.5)
    close(S.eval(s, 100, 100), 0)
  end)
  it("step and constant", function()
    local s = S.step{from = 1, gamma = 0.5, every = 10}
    close(S.eval(s, 9, 100), 1)
    close(S.eval(s, 10, 100), 0.5)
    close(S.eval(s, 25, 100), 0.25)
    close(S.eval(S.constant(3), 7, 10), 3)
    close(S.eval(S.constant{value = 2}, 7, 10), 2)
  end)
  it("custom functions", function()
    local s = S.custom(function(t, total) return t / total end)
    close(S.eval(s, 3, 4), 0.75)
    assert.has_error(function() S.eval(S.custom(function() return "x" end), 1, 1) end)
    assert.has_error(function() S.custom(3) end)
  end)
  it("refuses unknown options", function()
    assert.has_error(function() S.linear{form = 1, to = 0} end)
  end)
end)
