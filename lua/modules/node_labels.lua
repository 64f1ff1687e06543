-- node_labels.lua: ensure labels on a Kubernetes node with `k3s kubectl
-- label`, idempotently (no change, no kubectl label call) and with check
-- mode. Runs kubectl on the task's host, so run it on (or delegate_to) a
-- k3s server.

local function shquote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function text(v)
  if v == true then
    return "true"
  elseif v == false then
    return "false"
  end
  return tostring(v)
end

-- Kubernetes label syntax: optional DNS prefix "/", name <= 63 chars.
local function valid_key(k)
  local prefix, name = k:match("^([^/]+)/([^/]+)$")
  name = name or k
  if prefix and (#prefix > 253 or not prefix:match("^[%w][%w%.%-]*$")) then
    return false
  end
  return #name <= 63 and name:match("^%w[%w%._%-]*$") ~= nil and name:match("%w$") ~= nil
end

local function valid_value(v)
  return v == "" or (#v <= 63 and v:match("^%w[%w%._%-]*$") ~= nil and v:match("%w$") ~= nil)
end

local function current_labels(ctx, kubectl, node)
  local r = ctx:exec(kubectl .. " get node " .. shquote(node) .. " -o json")
  if r.rc ~= 0 then
    return nil, string.format("cannot read node %s (rc=%d): %s", node, r.rc,
      (r.stderr:gsub("%s+$", "")))
  end
  local obj, err = drover.json.decode(r.stdout)
  if not obj then
    return nil, "kubectl printed no JSON: " .. err
  end
  return (obj.metadata or {}).labels or {}
end

-- The "k=v" / "k-" arguments that bring current to the wanted state.
local function plan(args, have)
  local ops, set, removed = {}, {}, {}
  local keys = {}
  for k in pairs(args.labels) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local want = text(args.labels[k])
    if not valid_key(k) then
      return nil, "invalid label key '" .. k .. "'"
    end
    if args.state == "present" then
      if not valid_value(want) then
        return nil, "invalid value '" .. want .. "' for label " .. k
      end
      if have[k] ~= want then
        ops[#ops + 1] = shquote(k .. "=" .. want)
        set[k] = want
      end
    elseif have[k] ~= nil then
      ops[#ops + 1] = shquote(k .. "-")
      removed[#removed + 1] = k
    end
  end
  return ops, set, removed
end

local function run(ctx, args)
  local node = args.node or (ctx.vars.k3s_node_name or ctx.host)
  local have, err = current_labels(ctx, args.kubectl, node)
  if not have then
    return { failed = true, msg = err }
  end
  local ops, set, removed = plan(args, have)
  if not ops then
    return { failed = true, msg = set }
  end
  local res = { changed = #ops > 0, node = node, labels_set = set, labels_removed = removed }
  if #ops == 0 then
    res.msg = "labels on " .. node .. " already as wanted"
    return res
  end
  if ctx.check then
    res.msg = "would change " .. #ops .. " label(s) on " .. node
    return res
  end
  local r = ctx:exec(args.kubectl .. " label node " .. shquote(node) .. " --overwrite " ..
    table.concat(ops, " "))
  res.rc, res.stdout, res.stderr = r.rc, r.stdout, r.stderr
  if r.rc ~= 0 then
    res.failed = true
    res.msg = "kubectl label failed: " .. r.stderr:gsub("%s+$", "")
  else
    res.msg = "changed " .. #ops .. " label(s) on " .. node
  end
  return res
end

return {
  name = "node_labels",
  summary = "Ensure labels on a Kubernetes node (k3s kubectl label)",
  description = "Adds, updates or removes labels on a node through `k3s kubectl label` " ..
    "on the task's host (a k3s server, or delegate_to one). Only labels that differ " ..
    "are touched; nothing changes when the node already has them. Supports check mode.",
  args = {
    { name = "labels", type = "dict", required = true,
      help = "label key -> value; with state=absent only the keys matter" },
    { name = "node", type = "str",
      help = "node name (default: the host's k3s_node_name, else inventory_hostname)" },
    { name = "state", type = "str", default = "present", choices = { "present", "absent" },
      help = "present sets the labels, absent removes them" },
    { name = "kubectl", type = "str", default = "k3s kubectl",
      help = "kubectl command on the host" },
  },
  check_mode = true,
  run = run,
}
