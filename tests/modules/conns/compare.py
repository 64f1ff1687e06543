#!/usr/bin/python3
"""Compare the normalized runs (tests/playbooks/normalize.py) of one playbook
over several connections (tests/it_modules_conns.sh).

usage: compare.py [--no-systemd NAME] [--idempotent NAME] REF NAME=FILE...

Every FILE must equal REF's FILE, except for connections given with
--no-systemd: their targets have no systemd as PID 1, so tasks named
"systemd: ..." must be skipped there and are left out of the comparison
(the recap counts then differ too and are left out). --idempotent NAME
checks that NAME's run changed nothing but tasks named "(every run)".
Prints one line per check; exit status 1 when one fails.
"""
import difflib
import sys


def blocks(lines):
    """[(header, [lines])] split at TASK/PLAY/STATS lines."""
    out = []
    for line in lines:
        if line.startswith(("TASK ", "PLAY ", "STATS ", "RC ")) or not out:
            out.append((line, []))
        else:
            out[-1][1].append(line)
    return out


def without_systemd(bl, name, problems):
    out = []
    for head, body in bl:
        if head.startswith("STATS "):
            continue
        if head.startswith("TASK systemd:"):
            if problems is not None and any(": skipped" not in l for l in body if l.startswith("  ") and not l.startswith("    ")):
                problems.append("%s: %s not skipped without systemd: %s" % (name, head, body))
            body = ["  (systemd only)"]
        out.append((head, body))
    return out


def flat(bl):
    return [l for h, b in bl for l in [h] + b]


def main():
    args = sys.argv[1:]
    nosys, idem = set(), set()
    while args and args[0].startswith("--"):
        (nosys if args[0] == "--no-systemd" else idem).add(args[1])
        args = args[2:]
    ref = args[0]
    runs = dict(a.split("=", 1) for a in args[1:])
    text = {n: open(f).read().splitlines() for n, f in runs.items()}
    fails = 0
    systemd_tasks = [l for l in text[ref] if l.startswith("TASK systemd:")]
    for n in runs:
        if n == ref:
            continue
        problems = []
        a, b = blocks(text[ref]), blocks(text[n])
        if n in nosys:
            a = without_systemd(a, ref, None)
            b = without_systemd(b, n, problems)
        d = list(difflib.unified_diff(flat(a), flat(b), ref, n, lineterm="", n=2))
        if d or problems:
            fails += 1
            print("FAIL %s differs from %s" % (n, ref))
            for line in problems + d[:80]:
                print("    " + line)
        else:
            extra = ""
            if n in nosys and systemd_tasks:
                extra = " (%d systemd-only tasks skipped there: no systemd as PID 1)" % len(systemd_tasks)
            print("ok   %s gives the same results as %s%s" % (n, ref, extra))
    for n in idem:
        changed = []
        for head, body in blocks(text[n]):
            if head.startswith("TASK ") and "(every run)" not in head and any(l.endswith(": changed") for l in body):
                changed.append(head)
        if changed:
            fails += 1
            print("FAIL %s: a second run still changes: %s" % (n, "; ".join(changed)))
        else:
            print("ok   %s: nothing changes but tasks that change every run" % n)
    return 1 if fails else 0


sys.exit(main())
