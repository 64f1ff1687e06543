-- Test fixture: a bug three calls deep, for file:line and the traceback.
local function lookup(t)
  return t.missing.field
end

local function middle(ev)
  local v = lookup(ev)
  return v
end

return {
  run_start = function(ev)
    middle(ev)
  end,
}
