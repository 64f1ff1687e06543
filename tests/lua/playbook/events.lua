-- tests/it_lua.sh: logs every event (stderr, via drover.log) and refuses
-- the Drain task on node2.
local function show(name)
  return function(ev)
    drover.log(string.format("EVENT %s task=%s host=%s status=%s", name, tostring(ev.task),
      tostring(ev.host), tostring(ev.status)))
    if name == "host_task_start" and ev.task == "Drain" and ev.host == "node2" then
      return false, "node2 must not drain (events.lua)"
    end
  end
end
local t = {}
for _, e in ipairs({ "run_start", "play_start", "task_start", "host_task_start", "host_result",
  "play_end", "run_end" }) do
  t[e] = show(e)
end
return t
