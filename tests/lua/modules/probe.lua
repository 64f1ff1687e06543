-- Test fixture module: echoes what it was given, fails or raises on demand.
local function run(ctx, args)
  if args.mode == "raise" then
    local t = nil
    return t.boom
  end
  if args.mode == "fail" then
    return { failed = true, msg = "asked to fail" }
  end
  if args.mode == "bad" then
    return 42
  end
  local r = ctx:exec("printf '%s' " .. "'" .. args.word .. "'")
  return {
    changed = not ctx.check,
    word = r.stdout,
    count = args.count,
    flags = args.flags,
    host = ctx.host,
    check = ctx.check,
    color = ctx.vars.color,
  }
end

return {
  name = "lua_probe",
  summary = "test fixture",
  description = "Echoes its arguments.",
  args = {
    { name = "word", type = "str", required = true, help = "a word" },
    { name = "count", type = "int", default = 3 },
    { name = "flags", type = "list", default = {} },
    { name = "mode", type = "str", default = "ok", choices = { "ok", "fail", "raise", "bad" } },
  },
  check_mode = true,
  run = run,
}
