#!/usr/bin/python3
"""Render the bench templates N times with Python Jinja2 (compiled once,
trim_blocks as Ansible sets it, Ansible's filters loaded) and print the
time per render; with -p, print what ansible-core's Templar renders."""
import json
import sys
import time

import jinja2
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.filter.core import FilterModule
from ansible.template import Templar


def main():
    args = sys.argv[1:]
    show = args and args[0] == '-p'
    if show:
        args = args[1:]
    vars = json.load(open(args[0]))
    n = int(args[1])
    env = jinja2.Environment(trim_blocks=True)
    env.filters.update(FilterModule().filters())
    for path in args[2:]:
        text = open(path).read()
        if show:
            sys.stdout.write(Templar(loader=DataLoader(), variables=vars).template(text))
            continue
        tpl = env.from_string(text)
        start = time.perf_counter()
        for _ in range(n):
            tpl.render(vars)
        print('%s %.2f us' % (path, (time.perf_counter() - start) / n * 1e6))


main()
