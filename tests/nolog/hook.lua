-- Test fixture hook: every result a hook sees, on stderr.
return {
  host_result = function(ev)
    drover.log("warn", "hook result " .. drover.json.encode(ev.result))
  end,
}
