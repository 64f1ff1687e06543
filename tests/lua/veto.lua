-- Test fixture: refuses drain on k3s-s-01 by returning false, reason;
-- raises an error for task "explode"; allows everything else.
return {
  host_task_start = function(ev)
    if ev.action == "drain" and ev.host == "k3s-s-01" then
      return false, "no drain on " .. ev.host .. " today"
    end
    return true
  end,
  task_start = function(ev)
    if ev.task == "explode" then
      error("task explode is not allowed")
    end
  end,
}
