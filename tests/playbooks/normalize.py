#!/usr/bin/python3
"""Reduce a json-callback document (ansible.posix.json or drover --output
json) to the facts the playbook suite compares: per task and host the
status, the values debug printed (registered results included), and the
recap counts. Volatile keys (timings, invocation) are dropped.

usage: normalize.py RC [--unordered] < output.json > normalized.txt

--unordered sorts the task blocks of each play (strategy: free, where
hosts run ahead in an order that depends on timing).
"""
import json
import sys

VOLATILE = {"start", "end", "delta", "invocation", "warnings", "deprecations",
            "_ansible_no_log", "_ansible_verbose_always", "_ansible_item_label",
            "_ansible_ignore_errors", "_ansible_item_result", "duration",
            "action", "skipped_reason", "false_condition"}


def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()
                if k not in VOLATILE and not k.startswith("_ansible")}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def status(r):
    if r.get("unreachable"):
        return "unreachable"
    if r.get("failed"):
        return "failed"
    if r.get("skipped"):
        return "skipped"
    if r.get("changed"):
        return "changed"
    return "ok"


def host_lines(host, r):
    act = r.get("action", "")
    line = "  %s: %s" % (host, status(r))
    if r.get("results") is not None:
        line += " items=" + ",".join(status(i) for i in r["results"])
    out = [line]
    if act in ("debug", "ansible.builtin.debug"):
        for k in sorted(r):
            if k in VOLATILE or k.startswith("_") or k == "changed":
                continue
            out.append("    %s=%s" % (k, json.dumps(clean(r[k]), sort_keys=True)))
    elif r.get("results") is None and status(r) == "failed" and "msg" in r:
        out.append("    msg=%s" % json.dumps(r["msg"]))
    return out


def main():
    rc = sys.argv[1] if len(sys.argv) > 1 else "?"
    unordered = "--unordered" in sys.argv
    text = sys.stdin.read()
    # one document per playbook of the run, each with the plays so far
    docs, dec, pos = [], json.JSONDecoder(), text.find("{")
    while pos >= 0:
        doc, end = dec.raw_decode(text, pos)
        docs.append(doc)
        pos = text.find("{", end)
    out = []
    for doc in docs or [{"plays": [], "stats": {}}]:
        normalize(doc, unordered, out)
    out.append("RC %s" % rc)
    print("\n".join(out))


def normalize(doc, unordered, out):
    for play in doc.get("plays", []):
        out.append("PLAY %s" % play["play"]["name"])
        blocks = []
        for task in play.get("tasks", []):
            block = ["TASK %s" % task["task"]["name"]]
            for host in sorted(task.get("hosts", {})):
                block.extend(host_lines(host, task["hosts"][host]))
            blocks.append(block)
        for b in sorted(blocks) if unordered else blocks:
            out.extend(b)
    for host in sorted(doc.get("stats", {})):
        s = doc["stats"][host]
        out.append("STATS %s ok=%d changed=%d unreachable=%d failures=%d skipped=%d rescued=%d ignored=%d"
                   % (host, s["ok"], s["changed"], s["unreachable"], s["failures"],
                      s["skipped"], s["rescued"], s["ignored"]))


main()
