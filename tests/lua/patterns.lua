-- Test fixture: string.find/match/gmatch/gsub over many patterns, printed
-- as text. test_lua.c runs it with Lua's own string library and inside the
-- sandbox (engine/lua/pattern.c) and wants the same text.
return function()
  local out = {}
  local function show(...)
    local t = table.pack(...)
    for i = 1, t.n do
      t[i] = type(t[i]) == "string" and string.format("%q", t[i]) or tostring(t[i])
    end
    return table.concat(t, ",", 1, t.n)
  end
  local function try(name, f, ...)
    local r = table.pack(pcall(f, ...))
    if r[1] then
      out[#out + 1] = name .. " -> " .. show(table.unpack(r, 2, r.n))
    else
      local msg = tostring(r[2])
      out[#out + 1] = name .. " !! " .. (msg:match("^[^:]*:%d+: (.*)$") or msg)
    end
  end
  local cases = {
    { "hello world", "o w" }, { "hello", "l+" }, { "hello", "()ll()" }, { "hello", "^h" },
    { "hello", "^e" }, { "abc", "b", -1 }, { "abc", "b", -10 }, { "abc", "", 10 },
    { "abc", "", 4 }, { "key = value", "(%w+)%s*=%s*(%w+)" }, { "THE (quick) fox", "%((%a+)%)" },
    { "f(a(b)c)d", "%b()" }, { "THE (quick) fox", "%f[%a]%a+" }, { "hello", "l*" },
    { "hello", "l-" }, { "hello", "x?h" }, { "aaa", "a-$" }, { "hello hello", "(h%a+) %1" },
    { "[x]", "[]]" }, { "a-b", "[a%-]+" }, { "x^2", "%^" }, { "abc", "[^a]+" },
    { "2024-01-02", "(%d+)-(%d+)-(%d+)" }, { "caps ON", "[A-Z]+" }, { "", "^$" },
    { "a\0b", "%z" }, { "a\0b", "\0" }, { "héllo", "[\128-\255]+" }, { "  trim  ", "^%s*(.-)%s*$" },
    { "x = 1", "^(%a+)%s*=%s*(%d+)$" }, { "a.b.c", "%.(%a)" }, { "aXbXc", "%u" },
    { "tab\there", "%c" }, { "p,u;n", "%p" }, { "0x1F", "%x+" }, { "ab", "(a)(b)()" },
    { "abc", "(" }, { "abc", "%" }, { "abc", "[a" }, { "abc", "(()" }, { "abc", "%1" },
    { "abc", "a)" }, { "abc", "%f" }, { "abc", "%b" }, { "aaab", "a-b" }, { "ab", ".-$" },
    { "[[x]]", "%[(%b[])%]" }, { "THE END", "%f[%w]%w+%f[%W]" }, { "abc", "[%a-]" },
  }
  for i, c in ipairs(cases) do
    try(i .. " find", string.find, c[1], c[2], c[3])
    try(i .. " match", string.match, c[1], c[2], c[3])
    try(i .. " gmatch", function(s, p)
      local r = {}
      for a, b in s:gmatch(p) do
        r[#r + 1] = show(a, b)
        if #r > 20 then break end
      end
      return table.concat(r, "|")
    end, c[1], c[2])
    try(i .. " gsub", string.gsub, c[1], c[2], "<%0>")
  end
  try("plain", string.find, "a.b", ".", 1, true)
  try("plain2", string.find, "a+b", "+", 1)
  try("gmatch init", function()
    local r = {}
    for w in ("one two three"):gmatch("%a+", 5) do r[#r + 1] = w end
    for w in ("abc"):gmatch("", 10) do r[#r + 1] = "[" .. w .. "]" end
    return table.concat(r, " ")
  end)
  try("gsub %1", string.gsub, "hello world", "(%w+)", "<%1>")
  try("gsub empty", string.gsub, "hello", "", "-")
  try("gsub table", string.gsub, "hello world", "%w+", { hello = "HI", world = false })
  try("gsub func", string.gsub, "hello world", "%w+", function(w) return #w end)
  try("gsub func nil", string.gsub, "a b", "%w", function() end)
  try("gsub n", string.gsub, "aaa", "a", "b", 2)
  try("gsub anchor", string.gsub, "aaa", "^a", "b")
  try("gsub %%", string.gsub, "a b", " ", "%%")
  try("gsub pos", string.gsub, "abc", "()", "%1")
  try("gsub bad %", string.gsub, "abc", "b", "%x")
  try("gsub bad cap", string.gsub, "abc", "b", "%2")
  try("gsub bad repl", string.gsub, "abc", "b", true)
  try("gsub bad value", string.gsub, "abc", "b", function() return {} end)
  try("gsub number repl", string.gsub, "abc", "b", 7)
  try("method", function() return ("x=1"):match("(%a)=(%d)") end)
  return table.concat(out, "\n")
end
