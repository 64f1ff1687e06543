-- Test fixture module: a no_log token that ends up everywhere a careless
-- module could put it: the command line (-vvv), the command's stdout and
-- stderr, the result, and a failure message.
local function run(ctx, args)
  local q = "'" .. args.token:gsub("'", "'\\''") .. "'"
  local r = ctx:exec("echo token=" .. q .. "; echo " .. q .. " >&2")
  local res = {
    changed = true,
    stdout = r.stdout,
    stderr = r.stderr,
    msg = "used " .. args.token .. " for " .. args.user,
    nested = { list = { args.token, "plain" } },
  }
  if args.fail then
    res.failed = true
    res.msg = "login with " .. args.token .. " refused"
  end
  return res
end

return {
  name = "secret_use",
  summary = "test fixture",
  description = "Uses a no_log token in every way that could leak it.",
  args = {
    { name = "token", type = "str", required = true, no_log = true },
    { name = "user", type = "str", default = "admin" },
    { name = "fail", type = "bool", default = false },
  },
  run = run,
}
