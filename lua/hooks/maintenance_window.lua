-- maintenance_window.lua: refuse to start a run outside the maintenance
-- window, so nobody upgrades the cluster at 3 pm on a Tuesday by accident.
--
-- Use:  drover run --hook lua/hooks/maintenance_window.lua -e maintenance_window='Sat 02:00-06:00' ...
--
-- The window: the var maintenance_window (extra vars or group "all"), else
-- the environment variable DROVER_MAINTENANCE_WINDOW. Without either the
-- hook allows every run (and says so at -v).
--
-- Syntax: one or more windows separated by ";", each "[DAYS ]HH:MM-HH:MM".
-- DAYS is a day (Mon), a range (Mon-Fri) or a list (Sat,Sun); no DAYS means
-- every day. A window may cross midnight ("Fri 22:00-02:00" includes
-- Saturday 01:00). Times are UTC unless maintenance_window_tz (var) or
-- DROVER_MAINTENANCE_TZ is "local".
--
-- Emergency: -e maintenance_override=true lets the run start anyway.

local DAYS = { sun = 0, mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6 }
local NAMES = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }

local function day(s)
  local d = DAYS[s:sub(1, 3):lower()]
  if not d then
    error("maintenance_window: unknown day '" .. s .. "' (use Mon, Tue, ... Sun)", 0)
  end
  return d
end

-- "Mon-Fri" / "Sat,Sun" / "Wed" -> set of day numbers.
local function parse_days(spec)
  local set = {}
  for part in spec:gmatch("[^,]+") do
    local a, b = part:match("^(%a+)%-(%a+)$")
    if a then
      local i = day(a)
      repeat
        set[i] = true
        i = (i + 1) % 7
      until i == (day(b) + 1) % 7
    else
      set[day(part)] = true
    end
  end
  return set
end

local function minutes(hh, mm, text)
  hh, mm = tonumber(hh), tonumber(mm)
  if hh > 24 or mm > 59 then
    error("maintenance_window: bad time in '" .. text .. "'", 0)
  end
  return hh * 60 + mm
end

local function parse(text)
  local windows = {}
  for w in text:gmatch("[^;]+") do
    w = w:match("^%s*(.-)%s*$")
    local days, h1, m1, h2, m2 = w:match("^([%a,%-]*)%s*(%d%d?):(%d%d)%s*%-%s*(%d%d?):(%d%d)$")
    if not days then
      error("maintenance_window: cannot read '" .. w ..
        "' (expected e.g. 'Sat 02:00-06:00' or 'Mon-Fri 22:00-02:00')", 0)
    end
    windows[#windows + 1] = {
      days = days ~= "" and parse_days(days) or nil,
      from = minutes(h1, m1, w), to = minutes(h2, m2, w),
    }
  end
  return windows
end

local function inside(w, wday, now)
  local function on(d)
    return not w.days or w.days[d]
  end
  if w.from < w.to then
    return on(wday) and now >= w.from and now < w.to
  end
  -- crosses midnight: the evening part today, the morning part from yesterday
  return (on(wday) and now >= w.from) or (on((wday + 6) % 7) and now < w.to)
end

local function check(ev)
  local ok, vars = pcall(drover.vars)
  vars = ok and vars or {}
  if vars.maintenance_override == true or vars.maintenance_override == "true" then
    drover.log("warn", "maintenance_window: overridden by maintenance_override")
    return true
  end
  local text = vars.maintenance_window or os.getenv("DROVER_MAINTENANCE_WINDOW")
  if not text or text == "" then
    drover.log("debug", "maintenance_window: no window set, allowing the run")
    return true
  end
  local tz = vars.maintenance_window_tz or os.getenv("DROVER_MAINTENANCE_TZ") or "utc"
  local fmt = tz == "local" and "*t" or "!*t"
  local t = os.date(fmt)
  local wday, now = t.wday - 1, t.hour * 60 + t.min
  for _, w in ipairs(parse(text)) do
    if inside(w, wday, now) then
      return true
    end
  end
  return false, string.format(
    "maintenance_window: refusing to start: it is %s %02d:%02d %s, outside the " ..
    "maintenance window '%s'; wait for the window or pass -e maintenance_override=true",
    NAMES[wday + 1], t.hour, t.min, tz == "local" and "local time" or "UTC", text)
end

return {
  run_start = check,
}
