-- cluster_gate.lua: refuse to drain a node while any node of the cluster is
-- NotReady. Draining moves pods onto the remaining nodes; with one of them
-- down already, a rolling upgrade is how a small cluster loses quorum or
-- capacity.
--
-- Use:  drover run --hook lua/hooks/cluster_gate.lua playbooks/upgrade-k3s.yaml
--
-- Before every host's drain task (the drain module, ansible FQCNs of it, or
-- a command/shell task running `kubectl drain`), it runs
-- `k3s kubectl get nodes -o json` on a server and vetoes the task, naming
-- the NotReady node(s), if any node's Ready condition is not True.
--
-- The server: the var cluster_gate_server, else the first host of group
-- k3s_servers (as drover's playbooks name it). The command can be changed
-- with the var cluster_gate_kubectl (default "k3s kubectl").

local function is_drain(ev)
  local a = ev.action or ""
  if a == "drain" or a:match("%.drain$") or a == "k3s_drain" then
    return true
  end
  if a:match("command$") or a:match("shell$") or a == "raw" then
    local args = ev.args or {}
    local cmd = args._raw_params or args.cmd or ""
    if type(cmd) == "table" then
      cmd = table.concat(cmd, " ")
    end
    return tostring(cmd):match("kubectl%s+drain") ~= nil
  end
  return false
end

local function server_for(vars)
  if vars.cluster_gate_server then
    return vars.cluster_gate_server
  end
  local g = vars.groups and vars.groups.k3s_servers
  return g and g[1]
end

-- Nodes whose Ready condition is not True, as "name (Ready=Status: message)".
local function not_ready(nodes)
  local bad = {}
  for _, n in ipairs(nodes.items or {}) do
    local ready
    for _, c in ipairs((n.status or {}).conditions or {}) do
      if c.type == "Ready" then
        ready = c
      end
    end
    if not ready or ready.status ~= "True" then
      local why = ready and ("Ready=" .. tostring(ready.status)) or "no Ready condition"
      if ready and ready.message and ready.message ~= drover.json.null then
        why = why .. ": " .. ready.message
      end
      bad[#bad + 1] = n.metadata.name .. " (" .. why .. ")"
    end
  end
  return bad
end

local function gate(ev)
  if not is_drain(ev) then
    return true
  end
  local vars = drover.vars(ev.host)
  local server = server_for(vars)
  if not server then
    return false, "cluster_gate: cannot check the cluster before draining " .. ev.host ..
      ": set cluster_gate_server or put the servers in group k3s_servers"
  end
  local kubectl = vars.cluster_gate_kubectl or "k3s kubectl"
  local r = drover.exec(server, kubectl .. " get nodes -o json")
  if r.rc ~= 0 then
    return false, string.format("cluster_gate: cannot list nodes on %s (rc=%d): %s",
      server, r.rc, (r.stderr:gsub("%s+$", "")))
  end
  local nodes, err = drover.json.decode(r.stdout)
  if not nodes then
    return false, "cluster_gate: kubectl on " .. server .. " printed no JSON: " .. err
  end
  local bad = not_ready(nodes)
  if #bad > 0 then
    return false, string.format(
      "cluster_gate: refusing to drain %s: node %s %s NotReady (checked on %s); " ..
      "bring it back or remove it from the cluster first",
      ev.host, table.concat(bad, ", "), #bad == 1 and "is" or "are", server)
  end
  drover.log("debug", "cluster_gate: all nodes Ready, draining " .. ev.host)
  return true
end

return {
  host_task_start = gate,
}
