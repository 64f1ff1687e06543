#!/usr/bin/python3
"""Record what ansible-core's lineinfile, blockinfile and replace do, so
test_modules can hold drover to the same results.

Runs every case in edit_inputs.json through ansible-playbook (Debian's
ansible-core 2.14, localhost, connection local) and writes edit_cases.json:
the input, the args, and Ansible's changed, failed, msg and resulting file.

    /usr/bin/python3 tests/modules/gen_edit_cases.py
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    cases = json.load(open(os.path.join(HERE, "edit_inputs.json")))
    tmp = tempfile.mkdtemp(prefix="drover-edit-")
    tasks = []
    for i, c in enumerate(cases):
        path = os.path.join(tmp, "f%d" % i)
        if c["input"] is not None:
            with open(path, "w") as f:
                f.write(c["input"])
        args = dict(c["args"], path=path)
        tasks.append({"name": "case %d" % i, c["module"]: args,
                      "register": "r%d" % i, "ignore_errors": True})
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": tasks}]
    pb = os.path.join(tmp, "play.yml")
    json.dump(play, open(pb, "w"))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", pb], env=env,
                         capture_output=True, text=True).stdout
    res = json.loads(out)["plays"][0]["tasks"]
    for i, c in enumerate(cases):
        r = res[i]["hosts"]["localhost"]
        path = os.path.join(tmp, "f%d" % i)
        c["changed"] = bool(r.get("changed"))
        c["failed"] = bool(r.get("failed"))
        c["msg"] = r.get("msg", "").replace(path, "{path}")
        c["output"] = open(path).read() if os.path.exists(path) else None
    json.dump(cases, open(os.path.join(HERE, "edit_cases.json"), "w"), indent=1)
    subprocess.run(["rm", "-rf", tmp])
    print("recorded %d cases" % len(cases), file=sys.stderr)


main()
