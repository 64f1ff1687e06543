-- Test hook: vetoes the task "forbidden" on h2 and counts the events it sees.
local seen = {}
return {
  run_start = function(ev) seen.run = (seen.run or 0) + 1 end,
  host_task_start = function(ev)
    if ev.task == "forbidden" and ev.host == "h2" then
      return false, "h2 may not run " .. ev.task
    end
  end,
  host_result = function(ev) seen.results = (seen.results or 0) + 1 end,
  run_end = function(ev)
    drover.log("info", string.format("hook saw run_start=%d results=%d h1.ok=%d",
      seen.run or 0, seen.results or 0, ev.stats.h1.ok))
  end,
}
