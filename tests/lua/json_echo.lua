-- Test fixture: sends every host_result back through drover.json, so the
-- test can compare what Lua saw with what it was given.
return {
  host_result = function(ev)
    drover.log("info", drover.json.encode(ev))
    local again = drover.json.decode(drover.json.encode(ev))
    drover.log("info", drover.json.encode(again))
  end,
}
