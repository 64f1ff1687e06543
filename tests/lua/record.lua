-- Test fixture: logs one line per event with the fields the executor sends,
-- so test_lua.c can check order and data.
local function f(v)
  if v == nil then
    return "-"
  end
  return tostring(v)
end

local function line(name)
  return function(ev)
    local extra = ""
    if ev.result then
      extra = " rc=" .. f(ev.result.rc) .. " changed=" .. f(ev.result.changed)
    end
    if ev.stats then
      local hosts = {}
      for h, s in pairs(ev.stats) do
        hosts[#hosts + 1] = h .. ":" .. f(s.ok) .. "/" .. f(s.changed) .. "/" .. f(s.failed)
      end
      table.sort(hosts)
      extra = " stats=" .. table.concat(hosts, ",")
    end
    if ev.hosts then
      extra = extra .. " hosts=" .. table.concat(ev.hosts, ",")
    end
    drover.log("info", string.format("%s play=%s task=%s action=%s host=%s status=%s%s",
      name, f(ev.play), f(ev.task), f(ev.action), f(ev.host), f(ev.status), extra))
  end
end

local t = {}
for _, e in ipairs({ "run_start", "play_start", "task_start", "host_task_start",
  "host_result", "handler", "play_end", "run_end" }) do
  t[e] = line(e)
end
return t
