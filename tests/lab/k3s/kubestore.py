"""Object store and controllers of drover's Kubernetes API server STAND-IN.

Not Kubernetes: see apiserver.py. This module holds the objects (nodes,
pods, deployments, replicasets, daemonsets, PDBs, namespaces) and the small
controllers standing in for kube-controller-manager, the scheduler and the
kubelets, plus label/field selectors, merge/strategic-merge/JSON patches
and the eviction rules (PodDisruptionBudgets) as the real API applies them.
"""

import collections
import copy
import datetime
import hashlib
import json
import os
import random
import re
import threading
import time
import uuid
K8S_VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.4+k3s1",
    "gitCommit": "a8ab7ed1be8d3cbb8afbc0ea3e6b23d8b0b6b9e5",
    "gitTreeState": "clean", "buildDate": "2024-12-13T22:51:46Z",
    "goVersion": "go1.22.9", "compiler": "gc", "platform": "linux/amd64",
}

# (group, resource) -> kind, namespaced, short names, verbs
RESOURCES = {
    ("", "namespaces"): ("Namespace", False, ["ns"]),
    ("", "nodes"): ("Node", False, ["no"]),
    ("", "pods"): ("Pod", True, ["po"]),
    ("apps", "deployments"): ("Deployment", True, ["deploy"]),
    ("apps", "replicasets"): ("ReplicaSet", True, ["rs"]),
    ("apps", "daemonsets"): ("DaemonSet", True, ["ds"]),
    ("policy", "poddisruptionbudgets"): ("PodDisruptionBudget", True, ["pdb"]),
}
KIND_RES = {v[0]: k for k, v in RESOURCES.items()}
VERBS = ["create", "delete", "get", "list", "patch", "update"]


def now():
    return time.time()


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def suffix(n=5):
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def api_version(group):
    return group + "/v1" if group else "v1"


def status_obj(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Success" if code < 400 else "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.body = status_obj(code, reason, message, details)
        self.code = code


def not_found(group, res, name):
    g = res + ("." + group if group else "")
    return ApiError(404, "NotFound", '%s "%s" not found' % (g, name),
                    {"name": name, "group": group, "kind": res})


# ---- selectors -------------------------------------------------------------

def split_top(s):
    out, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur)
    return [x.strip() for x in out if x.strip()]


def label_match(selector, labels):
    for term in split_top(selector or ""):
        m = re.match(r"^(\S+)\s+(in|notin)\s+\((.*)\)$", term)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            has = m.group(1) in labels and labels[m.group(1)] in vals
            if has != (m.group(2) == "in"):
                return False
        elif "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = re.split("==?", term, 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def selector_match(sel, labels):
    """A LabelSelector object (matchLabels, matchExpressions)."""
    if not sel:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_match(selector, obj):
    for term in split_top(selector or ""):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if field_value(obj, k.strip()) == v.strip():
                return False
        else:
            k, v = re.split("==?", term, 1)
            if field_value(obj, k.strip()) != v.strip():
                return False
    return True


# ---- patches ---------------------------------------------------------------

MERGE_KEYS = {"conditions": "type", "containers": "name", "volumes": "name",
              "addresses": "type", "taints": "key", "ownerReferences": "uid"}


def merge_patch(target, patch, strategic):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
        elif strategic and isinstance(v, list) and k in MERGE_KEYS \
                and isinstance(out.get(k), list):
            key = MERGE_KEYS[k]
            merged = [copy.deepcopy(x) for x in out[k]]
            for item in v:
                idx = [i for i, x in enumerate(merged)
                       if isinstance(x, dict) and x.get(key) == item.get(key)]
                if item.get("$patch") == "delete":
                    merged = [x for i, x in enumerate(merged) if i not in idx]
                elif idx:
                    merged[idx[0]] = merge_patch(merged[idx[0]], item, True)
                else:
                    merged.append(merge_patch({}, item, True))
            out[k] = merged
        elif isinstance(v, dict):
            out[k] = merge_patch(out.get(k), v, strategic)
        else:
            out[k] = copy.deepcopy(v)
    return out


def json_patch(target, ops):
    doc = copy.deepcopy(target)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~")
                 for p in op["path"].split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent.setdefault(p, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                else:
                    parent.insert(int(last), op["value"]) if op["op"] == "add" \
                        else parent.__setitem__(int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                parent.pop(last, None)
        elif op["op"] == "test":
            if parent.get(last) != op["value"]:
                raise ApiError(422, "Invalid", "the test operation failed")
    return doc


# ---- the store and its controllers ---------------------------------------

class Store:
    """Every object, keyed by resource then (namespace, name). One lock."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.rv = 1000
        self.objs = {}
        self.static_nodes = set()
        # What watches replay: (resourceVersion, (group, res), type, object).
        self.events = collections.deque(maxlen=20000)
        self.reset()

    def reset(self):
        with self.lock:
            self.objs = {r: {} for r in RESOURCES}
            self.static_nodes = set()
            self.private = {}
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.create("", "namespaces", None, {"metadata": {"name": ns}})

    def aux(self, obj):
        """Bookkeeping the stand-in keeps out of the objects users see."""
        return self.private.setdefault(obj["metadata"]["uid"], {})

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def get(self, group, res, ns, name):
        o = self.objs[(group, res)].get((ns or "", name))
        if o is None:
            raise not_found(group, res, name)
        return o

    def items(self, group, res, ns=None):
        return [o for (n, _), o in sorted(self.objs[(group, res)].items())
                if ns is None or n == ns]

    def create(self, group, res, ns, obj):
        kind, namespaced, _ = RESOURCES[(group, res)]
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + suffix()
        if not md.get("name"):
            raise ApiError(422, "Invalid", "%s is invalid: metadata.name: Required value" % kind)
        if namespaced:
            md["namespace"] = ns or md.get("namespace") or "default"
            if ("", md["namespace"]) not in self.objs[("", "namespaces")]:
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % md["namespace"])
        else:
            md.pop("namespace", None)
        key = (md.get("namespace", ""), md["name"])
        if key in self.objs[(group, res)]:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (
                res + ("." + group if group else ""), md["name"]),
                {"name": md["name"], "group": group, "kind": res})
        obj["kind"], obj["apiVersion"] = kind, api_version(group)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = rfc3339(now())
        md["resourceVersion"] = self.next_rv()
        md.setdefault("generation", 1)
        self.defaults(res, obj)
        self.objs[(group, res)][key] = obj
        self.record(group, res, "ADDED", obj)
        return obj

    def defaults(self, res, obj):
        if res == "namespaces":
            obj.setdefault("status", {"phase": "Active"})
        elif res == "pods":
            obj.setdefault("spec", {}).setdefault("containers", [{"name": "main", "image": "busybox"}])
            st = obj.setdefault("status", {})
            st.setdefault("phase", "Pending")
            if st["phase"] == "Pending" and obj["spec"].get("nodeName"):
                self.run_pod(obj)
            self.aux(obj)["created"] = now()
        elif res == "nodes":
            obj.setdefault("spec", {})
            st = obj.setdefault("status", {})
            st.setdefault("conditions", [])
            st.setdefault("nodeInfo", {})
            ni = st["nodeInfo"]
            for k, v in (("architecture", "amd64"), ("operatingSystem", "linux"),
                         ("containerRuntimeVersion", "containerd://1.7.23-k3s2"),
                         ("kernelVersion", os.uname().release),
                         ("osImage", "Debian GNU/Linux 12 (bookworm)")):
                ni.setdefault(k, v)
            ni.setdefault("kubeletVersion", "v1.31.4+k3s1")
            t = rfc3339(now())
            for c in st["conditions"]:
                c.setdefault("lastHeartbeatTime", t)
                c.setdefault("lastTransitionTime", t)
            ni["kubeProxyVersion"] = ni["kubeletVersion"]

    def put(self, group, res, obj):
        md = obj["metadata"]
        md["resourceVersion"] = self.next_rv()
        self.objs[(group, res)][(md.get("namespace", ""), md["name"])] = obj
        self.record(group, res, "MODIFIED", obj)

    def remove(self, group, res, ns, name):
        obj = self.objs[(group, res)].pop((ns or "", name), None)
        if obj is not None:
            obj["metadata"]["resourceVersion"] = self.next_rv()
            self.record(group, res, "DELETED", obj)
        return obj

    def record(self, group, res, kind, obj):
        self.events.append((self.rv, (group, res), kind, copy.deepcopy(obj)))

    def events_since(self, group, res, since):
        """Events after resourceVersion since, or None when it is too old."""
        if self.events and since < self.events[0][0] - 1 and \
                len(self.events) == self.events.maxlen:
            return None
        return [(t, o) for rv, key, t, o in self.events if rv > since and key == (group, res)]

    # -- pods --

    def run_pod(self, pod):
        """What the kubelet reports once it started the pod's containers."""
        t = rfc3339(now())
        st = pod["status"]
        st["phase"] = "Running"
        st["startTime"] = t
        ip = "10.42.%d.%d" % (random.randint(0, 2), random.randint(2, 250))
        st["podIP"], st["podIPs"] = ip, [{"ip": ip}]
        st["conditions"] = [{"type": c, "status": "True", "lastTransitionTime": t}
                            for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
        st["containerStatuses"] = [{"name": c["name"], "image": c.get("image", ""),
                                    "ready": True, "restartCount": 0, "started": True,
                                    "state": {"running": {"startedAt": t}}}
                                   for c in pod["spec"]["containers"]]

    def delete_pod(self, pod, grace=None):
        md = pod["metadata"]
        if pod["status"].get("phase") in ("Succeeded", "Failed", "Pending") \
                or not pod["spec"].get("nodeName") or grace == 0 \
                or self.opts.termination_delay <= 0:
            self.remove("", "pods", md["namespace"], md["name"])
            return
        if "deletionTimestamp" not in md:
            md["deletionTimestamp"] = rfc3339(now())
            md["deletionGracePeriodSeconds"] = 30 if grace is None else grace
            self.aux(pod)["gone_at"] = now() + self.opts.termination_delay
            self.put("", "pods", pod)

    def pod_healthy(self, pod):
        if "deletionTimestamp" in pod["metadata"] or pod["status"].get("phase") != "Running":
            return False
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in pod["status"].get("conditions", []))

    def owned(self, owner, pods=None):
        uid = owner["metadata"]["uid"]
        return [p for p in (pods or self.items("", "pods", owner["metadata"]["namespace"]))
                if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences", []))]

    def new_pod(self, owner, template, node=None):
        md = copy.deepcopy(template.get("metadata", {}))
        md["generateName"] = owner["metadata"]["name"] + "-"
        md["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                  "name": owner["metadata"]["name"],
                                  "uid": owner["metadata"]["uid"],
                                  "controller": True, "blockOwnerDeletion": True}]
        spec = copy.deepcopy(template.get("spec", {}))
        if node:
            spec["nodeName"] = node
        return self.create("", "pods", owner["metadata"]["namespace"],
                           {"metadata": md, "spec": spec})

    # -- nodes --

    def node_ready(self, node):
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in node["status"].get("conditions", []))

    def set_ready(self, node, status, reason, message):
        t = rfc3339(now())
        conds = node["status"].setdefault("conditions", [])
        for c in conds:
            if c["type"] == "Ready":
                if c["status"] != status:
                    c["lastTransitionTime"] = t
                c.update(status=status, reason=reason, message=message)
                break
        else:
            conds.append({"type": "Ready", "status": status, "reason": reason,
                          "message": message, "lastHeartbeatTime": t,
                          "lastTransitionTime": t})
        self.put("", "nodes", node)

    # -- controllers (kube-controller-manager, scheduler, kubelets) --

    def tick(self, immediate=False):
        with self.lock:
            t = now()
            self.tick_nodes(t)
            for pod in self.items("", "pods"):
                gone = self.aux(pod).get("gone_at")
                if gone and gone <= t:
                    self.remove("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            for d in self.items("apps", "deployments"):
                self.tick_deployment(d)
            for rs in self.items("apps", "replicasets"):
                self.tick_replicaset(rs)
            for ds in self.items("apps", "daemonsets"):
                self.tick_daemonset(ds)
            self.schedule(t, immediate)
            for pdb in self.items("policy", "poddisruptionbudgets"):
                self.pdb_status(pdb)

    def tick_nodes(self, t):
        for node in self.items("", "nodes"):
            name = node["metadata"]["name"]
            ready = [c for c in node["status"].get("conditions", []) if c["type"] == "Ready"]
            if name in self.static_nodes:
                if ready:
                    ready[0]["lastHeartbeatTime"] = rfc3339(t)
                continue
            if ready and ready[0]["status"] == "True" and \
                    t - parse_time(ready[0]["lastHeartbeatTime"]) > self.opts.node_grace:
                self.set_ready(node, "Unknown", "NodeStatusUnknown",
                               "Kubelet stopped posting node status.")
        for node in self.items("", "nodes"):
            self.pods_follow_node(node)

    def pods_follow_node(self, node):
        """The node lifecycle controller marks the pods of a node that is not
        Ready as not Ready (so PDBs stop counting them); its kubelet marks
        them Ready again when it is back."""
        ready = "True" if self.node_ready(node) else "False"
        for pod in self.items("", "pods"):
            if pod["spec"].get("nodeName") != node["metadata"]["name"] or \
                    pod["status"].get("phase") != "Running":
                continue
            changed = False
            for c in pod["status"].get("conditions", []):
                if c["type"] in ("Ready", "ContainersReady") and c["status"] != ready:
                    c["status"], c["lastTransitionTime"] = ready, rfc3339(now())
                    changed = True
            for cs in pod["status"].get("containerStatuses", []):
                cs["ready"] = ready == "True"
            if changed:
                self.put("", "pods", pod)

    def tick_deployment(self, d):
        tmpl = d["spec"]["template"]
        h = hashlib.sha256(json.dumps(tmpl, sort_keys=True).encode()).hexdigest()
        h = "".join("bcdfghjklmnpqrstvwxz2456789"[int(c, 16)] for c in h[:10])
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"] + "-" + h
        want = d["spec"].get("replicas", 1)
        rs = self.objs[("apps", "replicasets")].get((ns, name))
        if rs is None:
            t = copy.deepcopy(tmpl)
            t.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(d["spec"]["selector"])
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            rs = self.create("apps", "replicasets", ns, {
                "metadata": {"name": name, "labels": t["metadata"]["labels"],
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": d["metadata"]["name"],
                                                  "uid": d["metadata"]["uid"],
                                                  "controller": True, "blockOwnerDeletion": True}]},
                "spec": {"replicas": want, "selector": sel, "template": t}})
        elif rs["spec"]["replicas"] != want:
            rs["spec"]["replicas"] = want
            self.put("apps", "replicasets", rs)
        st = rs.get("status", {})
        new = {"observedGeneration": d["metadata"]["generation"], "replicas": st.get("replicas", 0),
               "updatedReplicas": st.get("replicas", 0),
               "readyReplicas": st.get("readyReplicas", 0),
               "availableReplicas": st.get("readyReplicas", 0)}
        if d.get("status") != new:
            d["status"] = new
            self.put("apps", "deployments", d)

    def tick_replicaset(self, rs):
        live = [p for p in self.owned(rs) if "deletionTimestamp" not in p["metadata"]]
        want = rs["spec"].get("replicas", 1)
        for _ in range(want - len(live)):
            live.append(self.new_pod(rs, rs["spec"]["template"]))
        for p in live[want:]:
            self.delete_pod(p)
        live = live[:want]
        ready = len([p for p in live if self.pod_healthy(p)])
        new = {"replicas": len(live), "fullyLabeledReplicas": len(live), "readyReplicas": ready,
               "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"]}
        if rs.get("status") != new:
            rs["status"] = new
            self.put("apps", "replicasets", rs)

    def tick_daemonset(self, ds):
        pods = self.owned(ds)
        nodes = [n for n in self.items("", "nodes")
                 if all(n["metadata"].get("labels", {}).get(k) == v for k, v in
                        (ds["spec"]["template"].get("spec", {}).get("nodeSelector") or {}).items())]
        names = {n["metadata"]["name"] for n in nodes}
        for n in sorted(names):
            if not [p for p in pods if p["spec"].get("nodeName") == n
                    and "deletionTimestamp" not in p["metadata"]]:
                pods.append(self.new_pod(ds, ds["spec"]["template"], n))
        for p in pods:
            if p["spec"].get("nodeName") not in names:
                self.remove("", "pods", p["metadata"]["namespace"], p["metadata"]["name"])
        cur = [p for p in pods if p["spec"].get("nodeName") in names]
        ready = len([p for p in cur if self.pod_healthy(p)])
        new = {"desiredNumberScheduled": len(names), "currentNumberScheduled": len(cur),
               "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(cur),
               "numberMisscheduled": 0, "observedGeneration": ds["metadata"]["generation"]}
        if ds.get("status") != new:
            ds["status"] = new
            self.put("apps", "daemonsets", ds)

    def schedule(self, t, immediate):
        pending = [p for p in self.items("", "pods") if not p["spec"].get("nodeName")
                   and p["status"].get("phase") == "Pending"
                   and "deletionTimestamp" not in p["metadata"]]
        if not pending:
            return
        load = {}
        for p in self.items("", "pods"):
            n = p["spec"].get("nodeName")
            if n:
                load[n] = load.get(n, 0) + 1
        for pod in pending:
            if not immediate and t - self.aux(pod).get("created", 0) < self.opts.schedule_delay:
                continue
            sel = pod["spec"].get("nodeSelector") or {}
            fit = [n for n in self.items("", "nodes")
                   if self.node_ready(n) and not n["spec"].get("unschedulable")
                   and all(n["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
            if not fit:
                msg = "0/%d nodes are available: no schedulable Ready node." % len(
                    self.objs[("", "nodes")])
                cond = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                         "message": msg, "lastTransitionTime": rfc3339(t)}]
                if pod["status"].get("conditions") != cond:
                    pod["status"]["conditions"] = cond
                    self.put("", "pods", pod)
                continue
            node = min(fit, key=lambda n: (load.get(n["metadata"]["name"], 0), n["metadata"]["name"]))
            name = node["metadata"]["name"]
            load[name] = load.get(name, 0) + 1
            pod["spec"]["nodeName"] = name
            self.run_pod(pod)
            self.put("", "pods", pod)

    # -- disruption budgets and eviction --

    def pdb_numbers(self, pdb):
        ns = pdb["metadata"]["namespace"]
        pods = [p for p in self.items("", "pods", ns)
                if selector_match(pdb["spec"].get("selector"), p["metadata"].get("labels", {}))
                and "deletionTimestamp" not in p["metadata"]]
        expected = len(pods)
        healthy = len([p for p in pods if self.pod_healthy(p)])

        def scaled(v):
            if isinstance(v, str) and v.endswith("%"):
                return -(-int(v[:-1]) * expected // 100)
            return int(v)
        spec = pdb["spec"]
        if "minAvailable" in spec:
            desired = scaled(spec["minAvailable"])
        elif "maxUnavailable" in spec:
            desired = max(0, expected - scaled(spec["maxUnavailable"]))
        else:
            desired = expected
        return expected, healthy, desired, max(0, healthy - desired)

    def pdb_status(self, pdb):
        expected, healthy, desired, allowed = self.pdb_numbers(pdb)
        new = {"observedGeneration": pdb["metadata"]["generation"], "expectedPods": expected,
               "currentHealthy": healthy, "desiredHealthy": desired,
               "disruptionsAllowed": allowed}
        old = dict(pdb.get("status", {}))
        old.pop("conditions", None)
        if old != new:
            new["conditions"] = [{"type": "DisruptionAllowed",
                                  "status": "True" if allowed else "False",
                                  "reason": "SufficientPods" if allowed else "InsufficientPods",
                                  "message": "", "observedGeneration": new["observedGeneration"],
                                  "lastTransitionTime": rfc3339(now())}]
            pdb["status"] = new
            self.put("policy", "poddisruptionbudgets", pdb)

    def evict(self, ns, name, body):
        pod = self.get("", "pods", ns, name)
        grace = ((body or {}).get("deleteOptions") or {}).get("gracePeriodSeconds")
        if "deletionTimestamp" not in pod["metadata"] and \
                pod["status"].get("phase") not in ("Succeeded", "Failed"):
            labels = pod["metadata"].get("labels", {})
            pdbs = [p for p in self.items("policy", "poddisruptionbudgets", ns)
                    if selector_match(p["spec"].get("selector"), labels)]
            if len(pdbs) > 1:
                msg = ("This pod has more than one PodDisruptionBudget, which the eviction "
                       "subresource does not support.")
                raise ApiError(500, "InternalError", "Internal error occurred: " + msg,
                               {"causes": [{"message": msg}]})
            if pdbs and self.pod_healthy(pod):
                _, healthy, desired, allowed = self.pdb_numbers(pdbs[0])
                if allowed <= 0:
                    raise ApiError(429, "TooManyRequests",
                                   "Cannot evict pod as it would violate the pod's disruption budget.",
                                   {"causes": [{"reason": "DisruptionBudget",
                                                "message": "The disruption budget %s needs %d healthy "
                                                "pods and has %d currently" % (
                                                    pdbs[0]["metadata"]["name"], desired, healthy)}]})
        self.delete_pod(pod, grace)
        return status_obj(201, "", "")

    # -- workloads --

    def apply(self, workload):
        items = workload.get("items", []) if workload.get("kind") == "List" else [workload]
        with self.lock:
            for obj in items:
                kind = obj.get("kind")
                if kind not in KIND_RES:
                    raise ApiError(400, "BadRequest", "workload: cannot load kind %r; use one of %s"
                                   % (kind, ", ".join(sorted(KIND_RES))))
                group, res = KIND_RES[kind]
                o = self.create(group, res, obj.get("metadata", {}).get("namespace"), obj)
                if res == "nodes":
                    self.static_nodes.add(o["metadata"]["name"])
                    if not o["status"]["conditions"]:
                        self.set_ready(o, "True", "KubeletReady", "kubelet is posting ready status")
            for _ in range(3):
                self.tick(immediate=True)
