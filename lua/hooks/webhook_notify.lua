-- webhook_notify.lua: post a JSON message for every finished host and a
-- summary at the end of the run (Slack/Mattermost-style "text" plus the
-- structured fields, so a chat webhook and a log collector both work).
--
-- Use:  drover run --hook lua/hooks/webhook_notify.lua site.yaml
--
-- URL: the var webhook_url (extra vars or group "all"), else the environment
-- variable DROVER_WEBHOOK_URL. Without either, the hook does nothing.
-- Optional: webhook_ca (CA file for https), webhook_only_changes (post only
-- changed/failed/unreachable results), DROVER_WEBHOOK_TIMEOUT (seconds, 5).
--
-- A webhook that is down must not stop the run: failures are logged as
-- warnings, never vetoes.

local conf

local function settings()
  if conf then
    return conf
  end
  local ok, v = pcall(drover.vars)
  v = ok and v or {}
  conf = {
    url = v.webhook_url or os.getenv("DROVER_WEBHOOK_URL"),
    ca = v.webhook_ca,
    only_changes = v.webhook_only_changes == true,
    timeout = tonumber(os.getenv("DROVER_WEBHOOK_TIMEOUT") or "") or 5,
  }
  return conf
end

local function post(msg)
  local c = settings()
  if not c.url or c.url == "" then
    return
  end
  local r, err = drover.http{
    method = "POST", url = c.url, body = msg, timeout = c.timeout, ca = c.ca,
  }
  if not r then
    drover.log("warn", "webhook_notify: " .. err)
  elseif r.status >= 300 then
    drover.log("warn", string.format("webhook_notify: %s answered %d: %s", c.url, r.status,
      r.body:sub(1, 200)))
  end
end

local function host_result(ev)
  local c = settings()
  if c.only_changes and (ev.status == "ok" or ev.status == "skipped") then
    return
  end
  local res = ev.result or {}
  local text = string.format("[%s] %s: %s (%s)", ev.status, ev.host, ev.task or "?",
    ev.action or "?")
  if (ev.status == "failed" or ev.status == "unreachable") and type(res.msg) == "string" then
    text = text .. ": " .. res.msg
  end
  post{
    text = text, event = "host_result", host = ev.host, task = ev.task, action = ev.action,
    play = ev.play, status = ev.status, changed = res.changed == true, msg = res.msg,
  }
end

local function run_end(ev)
  local totals = { ok = 0, changed = 0, failed = 0, unreachable = 0, skipped = 0 }
  local lines = {}
  local names = {}
  for host in pairs(ev.stats or {}) do
    names[#names + 1] = host
  end
  table.sort(names)
  for _, host in ipairs(names) do
    local s = ev.stats[host]
    for k in pairs(totals) do
      totals[k] = totals[k] + (tonumber(s[k]) or 0)
    end
    lines[#lines + 1] = string.format("%s ok=%d changed=%d failed=%d unreachable=%d",
      host, s.ok or 0, s.changed or 0, s.failed or 0, s.unreachable or 0)
  end
  local failed = totals.failed + totals.unreachable > 0
  post{
    text = string.format("drover run %s on %d host(s)\n%s",
      failed and "FAILED" or "finished", #names, table.concat(lines, "\n")),
    event = "run_end", failed = failed, hosts = #names, totals = totals, stats = ev.stats,
  }
end

return {
  host_result = host_result,
  run_end = run_end,
}
