#!/usr/bin/python3
"""
Generate tests/data/template/cases.json: drover's template test cases with
the expected results computed by ansible-core's own Templar (the oracle),
never written by hand.

Run with Debian's interpreter, which has ansible-core 2.14 and jinja2:
    /usr/bin/python3 tests/gen/template_cases.py

Each case: {"name", "kind": "render"|"cond", "template", "vars",
"result" (the value Ansible returns) or "error" (a substring that both
Ansible's and drover's error messages must contain)}. Cases whose result
Ansible cannot express in JSON are rejected here, loudly.
"""
import json
import os
import sys

from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.conditional import Conditional
from ansible.template import Templar

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, '..', 'data', 'template'))

V = {
    'x': 4, 'y': 5, 'n': None, 's': 'hello', 'S': 'Hello World', 'l': [1, 2, 3],
    'ls': ['b', 'a', 'C'], 'e': [], 'd': {'a': 1, 'b': 2}, 't': True, 'f': False,
    'fl': 1.5, 'zero': 0, 'es': '', 'neg': -7,
    'cfg': {'port': 6443, 'host': 'k3s-1', 'tags': ['a', 'b'], 'opts': {'tls': True}},
    'users': [{'name': 'alice', 'uid': 1000, 'admin': True, 'groups': ['wheel', 'k3s']},
              {'name': 'bob', 'uid': 1001, 'admin': False, 'groups': ['k3s']},
              {'name': 'carol', 'uid': 999, 'groups': []}],
    'lazy': '{{ x + 1 }}', 'lazy2': '{{ lazy }}', 'lazyl': ['{{ x }}', '{{ s }}'],
    'lazyd': {'k': '{{ s | upper }}'}, 'cyc1': '{{ cyc2 }}', 'cyc2': '{{ cyc1 }}',
    'undef_ref': '{{ nope }}', 'ver': '1.28.3+k3s1', 'strnum': '42', 'strfloat': '3.14',
    'yes_s': 'yes', 'false_s': 'false', 'lst_s': '[1, 2]', 'true_s': 'True',
    'res_ok': {'changed': True, 'failed': False, 'rc': 0},
    'res_fail': {'failed': True, 'msg': 'boom', 'changed': False},
    'res_skip': {'skipped': True, 'changed': False},
    'res_loop': {'results': [{'changed': False}, {'changed': True}]},
    'nested': {'a': {'b': {'c': 'deep'}}, 'list': [{'v': 1}, {'v': 2}]},
    'ip': '10.0.0.1', 'path': '/etc/rancher/k3s/config.yaml', 'multi': 'line1\nline2\n',
    'uni': 'h\u00e9llo w\u00f6rld', 'hosts': ['k3s-s-01', 'k3s-w-01', 'k3s-w-02'],
    'grp': {'servers': ['k3s-s-01'], 'agents': ['k3s-w-01', 'k3s-w-02']},
    'quote_s': "it's", 'spaced': '  padded  ', 'csv': 'a,b,,c', 'big': 12345678901,
    'dup': [3, 1, 3, 2, 1], 'mixed': ['a', 'A', 'b'], 'nums': [3.5, -1, 10],
    'words': 'the quick brown fox', 'json_s': '{"a": [1, 2], "b": null}',
    'yaml_s': 'a: 1\nb: [x, y]\nc: yes\n', 'b64': 'azNzIHJvY2tz',
    'kv': [{'key': 'a', 'value': 1}, {'key': 'b', 'value': 2}],
    'd2': {'b': {'x': 1, 'l': [1]}, 'c': 3}, 'd1': {'a': 0, 'b': {'y': 2, 'l': [0]}},
    'omit_me': None, 'env_home': 'HOME',
}

CASES = []


def T(tpl, name=None, **vars):
    CASES.append({'kind': 'render', 'template': tpl, 'vars': vars, 'name': name})


def E(tpl, err, name=None, **vars):
    CASES.append({'kind': 'render', 'template': tpl, 'vars': vars, 'error': err, 'name': name})


def F(tpl, lstrip=False, name=None, **vars):
    """The template module: text out, no backslash doubling."""
    CASES.append({'kind': 'file', 'template': tpl, 'vars': vars, 'name': name,
                  'lstrip': lstrip})


def C(cond, name=None, **vars):
    CASES.append({'kind': 'cond', 'template': cond, 'vars': vars, 'name': name})


def CE(cond, err, name=None, **vars):
    CASES.append({'kind': 'cond', 'template': cond, 'vars': vars, 'error': err, 'name': name})


# --- result types (Ansible 2.14 quirks) ---
for t in ['{{ x }}', '{{ x + y }}', '{{ x ~ y }}', '{{ cfg.port }}', '{{ cfg }}', '{{ l }}',
          '{{ n }}', 'a{{ n }}b', '{{ [1, "a"] }}', 'x {{ l }}', '{{ True }}', '{{ "true" }}',
          '{{ "[1,2]" }}', '{{ x > 1 }}', '{{ none }}', '{{ 1.5 }}', '{{ fl }}', '{{ fl * 2 }}',
          '{{ {"a": 1} }}', '{{ "1" }}', '{{ x|string }}', '  {{ x }}', '{{ x }}{{ y }}',
          '{{ t }}', '{{ f }}', 'v={{ t }}', '{{ s }}', '{{ lst_s }}', '{{ true_s }}',
          '{{ lst_s | string }}', '{{ d | to_json }}', '{{ x }}\n', '{{ s }}\n\n', 'plain text',
          '{{ zero }}', '{{ es }}', '[{{ x }}, {{ y }}]', '{# only a comment #}', '',
          '{{ (1, 2) | list }}', '{{ users[0] }}', '{{ n is none }}', '{{ [] }}', '{{ {} }}',
          '{{ "{{ not a template }}" }}', '{{ "[not, a list" }}', '{{ 0.1 + 0.2 }}', '{{ 1e20 }}',
          '{{ 10 / 4 }}', '{{ 2 ** 100 > 5 }}', '{{ big }}', '{{ big * 10 }}', '{{ neg }}',
          '{{ [1.0, 2.5e-7, 1e16] }}', '{{ "a\'b" }} {{ [quote_s] }}', '{{ [uni] }}',
          '{{ {"k": none, "t": true} }}', 'x{{ {"k": none, "t": true} }}', '{{ multi }}']:
    T(t)

# --- literals, operators ---
for t in ['{{ "dq" ~ \'sq\' }}', '{{ 1_000 + 1 }}', '{{ 0x1F }}', '{{ 0o17 }}', '{{ 0b101 }}',
          '{{ -x }}', '{{ +x }}', '{{ - - x }}', '{{ 7 // 2 }}', '{{ -7 // 2 }}', '{{ 7 % 3 }}',
          '{{ -7 % 3 }}', '{{ 7.5 // 2 }}', '{{ 2 ** 10 }}', '{{ 2 ** -1 }}', '{{ 2 * 3 + 4 }}',
          '{{ 2 * (3 + 4) }}', '{{ "ab" * 3 }}', '{{ [1] * 3 }}', '{{ l + [4] }}', '{{ s + "!" }}',
          '{{ x == 4 }}', '{{ x != 4 }}', '{{ x < y }}', '{{ x <= 4 < y }}', '{{ 1 < 2 < 1 }}',
          '{{ "a" < "b" }}', '{{ [1, 2] < [1, 3] }}', '{{ 1 == 1.0 }}', '{{ t == 1 }}',
          '{{ 2 in l }}', '{{ 9 not in l }}', '{{ "ell" in s }}', '{{ "a" in d }}',
          '{{ "z" not in d }}', '{{ x and y }}', '{{ zero and y }}', '{{ zero or "dflt" }}',
          '{{ es or n }}', '{{ not t }}', '{{ not es }}', '{{ s if t else "no" }}',
          '{{ s if f else "no" }}', '{{ "yes" if x > 3 }}', 'a{{ "yes" if f }}b',
          '{{ x if x > 10 else y if y > 4 else 0 }}', '{{ t and f or "z" }}',
          '{{ (x + y) * 2 }}', '{{ -1 | abs }}', '{{ 10 - 2 - 3 }}',
          '{{ 100 / 10 / 5 }}', '{{ "%s-%d" % ("a", 3) }}', '{{ "%s" % s }}', '{{ "%05.1f" % fl }}',
          '{{ "%(a)s+%(b)s" % d }}', '{{ ("a", "b") }}', '{{ 1, 2 }}', '{{ [1, 2,] }}',
          '{{ {"a": 1, "b": [x, y],} }}', '{{ "line\\nbreak" }}', '{{ \'tab\\there\' }}']:
    T(t)

# --- access ---
for t in ['{{ d.a }}', '{{ d["b"] }}', "{{ d['a'] }}", '{{ cfg.opts.tls }}', '{{ l[0] }}',
          '{{ l[-1] }}', '{{ l.1 }}', '{{ s[1] }}', '{{ s[-1] }}', '{{ l[1:] }}', '{{ l[:2] }}',
          '{{ l[::-1] }}', '{{ s[1:3] }}', '{{ s[::2] }}', '{{ l[-2:] }}', '{{ l[5:] }}',
          '{{ nested.a.b.c }}', '{{ nested["a"]["b"] }}', '{{ nested.list[1].v }}',
          '{{ users[1].name }}', '{{ grp["agents"] | length }}', '{{ uni[1] }}',
          '{{ d.get("a") }}', '{{ d.get("zz", 9) }}', '{{ d.get("zz") }}', '{{ d.keys() | list }}',
          '{{ d.values() | list }}', '{{ d.items() | list }}', '{{ hosts[1:] | join(",") }}',
          '{{ cfg.tags[0] }}']:
    T(t)

# --- undefined and errors ---
E('{{ foo }}', "'foo' is undefined")
E('{{ foo.bar }}', "'foo' is undefined")
E('{{ d.zz }}', "has no attribute 'zz'")
E('{{ l[10] }}', 'list object has no element 10')
E('{{ x + y | string }}', "unsupported operand type(s) for +: 'int' and")
E('{{ [fl, "q\\"s"] | to_json }}', 'template error while templating string')
E('{{ users | selectattr("admin") | list }}', "'dict object' has no attribute 'admin'")
E('{{ foo + 1 }}', "'foo' is undefined")
E('{{ s + 1 }}', 'can only concatenate str')
E('{{ 1 + s }}', 'unsupported operand type')
E('{{ x / 0 }}', 'division by zero')
E('{{ x // 0 }}', 'division or modulo by zero')
E('{{ x | nosuchfilter }}', 'nosuchfilter')
E('{{ x is nosuchtest }}', 'nosuchtest')
E('{{ foo | mandatory }}', "Mandatory variable 'foo'")
E('{{ foo | mandatory("set foo please") }}', 'set foo please')
E('{{ undef_ref }}', "'nope' is undefined")
E('{{ cyc1 }}', 'recursive loop detected')
E('{{ x', 'unexpected end of template')
E('{% if x %}no end', "Unexpected end of template")
E('{% for i in l %}x', "endfor")
E('{{ 1 + }}', 'unexpected')
E('{% frobnicate %}', "unknown tag 'frobnicate'")
E('{{ "a" < 1 }}', "not supported between instances of 'str' and 'int'")
E('{{ 1 in 2 }}', "argument of type 'int' is not iterable")
E('{{ "" | b64decode | foo }}', 'foo')
E('{% for a, b in l %}{% endfor %}', 'cannot unpack')
E('{{ l | first | attribute }}', 'attribute')
E('{{ none | length }}', "has no len()")
E('{{ foo if t else 1 }}', "'foo' is undefined")
E('{{ lookup("file", "missing.txt") }}', 'missing.txt')
E('{{ lookup("nosuch", "a") }}', 'lookup plugin (nosuch) not found')
E('{{ res_ok | combine(l) }}', 'combine')
E('{{ 5 is changed }}', "The 'changed' test expects a dictionary")
E('{{ "1.2" is version("1.a", ">") }}', 'Version comparison failed')

# --- defined/undefined flow ---
for t in ['{{ foo | default("dflt") }}', '{{ foo | d(1) }}', '{{ foo.bar | default(2) }}',
          '{{ d.zz | default("m") }}', '{{ es | default("e") }}', '{{ es | default("e", true) }}',
          '{{ n | default("x") }}', '{{ n | default("x", true) }}', '{{ zero | default(5, true) }}',
          '{{ foo is defined }}', '{{ foo is undefined }}', '{{ x is defined }}',
          '{{ foo.bar is defined }}', '{{ d.a is defined }}', '{{ d.zz is not defined }}',
          '{{ l[7] is defined }}', '{{ undef_ref is defined }}', '{{ lazy }}', '{{ lazy2 }}',
          '{{ lazyl }}', '{{ lazyd }}', '{{ lazyd.k }}', 'n={{ lazy }}',
 '{{ omit_me | default(omit) is none }}',
          '{{ (foo | default({})).get("a", 3) }}', '{{ d | default({}) }}']:
    T(t)

# --- statements ---
for t in ['{% if t %}yes{% endif %}', '{% if f %}yes{% else %}no{% endif %}',
          '{% if x > 5 %}a{% elif x > 3 %}b{% else %}c{% endif %}',
          '{% if foo is defined %}a{% else %}b{% endif %}',
          '{% for i in l %}{{ i }},{% endfor %}', '{% for i in e %}x{% else %}empty{% endfor %}',
          '{% for i in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.length }} {% endfor %}',
          '{% for i in l %}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }} {% endfor %}',
          '{% for i in l %}{% if not loop.first %}{{ loop.previtem }}>{% endif %}{{ i }} {% endfor %}',
          '{% for i in l %}{{ i }}{% if not loop.last %}<{{ loop.nextitem }} {% endif %}{% endfor %}',
          '{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}',
          '{% for k in d %}{{ k }}{% endfor %}', '{% for c in s %}{{ c }}.{% endfor %}',
          '{% for u in users if u.admin is defined %}{{ u.name }} {% endfor %}',
          '{% for u in users %}{% for g in u.groups %}{{ u.name }}:{{ g }} {% endfor %}{% endfor %}',
          '{% set z = x * 2 %}{{ z }}', '{% set a, b = [1, 2] %}{{ b }}{{ a }}',
          '{% set z = 1 %}{% for i in l %}{% set z = i %}{% endfor %}{{ z }}',
          '{% set blk %}inner {{ x }}{% endset %}[{{ blk }}]',
          '{% set blk | upper %}shout {{ s }}{% endset %}{{ blk }}',
          '{% raw %}{{ not rendered }}{% endraw %}', 'a{# comment #}b',
          '{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}\n',
          'line1\n{% if t %}\nline2\n{% endif %}\nline3\n',
          'a\n  {%- if t %} b {% endif -%}\n  c', '{{- "  x  " -}}', 'a {{- s -}} b',
          'a  {%- raw -%}  r  {%- endraw -%}  b', '{% for i in l -%}\n{{ i }}\n{%- endfor %}',
          '{#- c -#}\nx', 'x\n{# c #}\ny', '{% if t %}\r\nwin\r\n{% endif %}\r\n',
          '{% set ns = namespace(total=0) %}{% for i in l %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}',
          '{% for i in range(3) %}{{ i }}{% endfor %}', '{{ range(1, 10, 3) | list }}',
          '{{ dict(a=1, b=2) }}', '{{ dict([["k", "v"]]) }}',
          '{% for i in l %}{{ i }}{% endfor %}\n', '{{ x }}\n{{ y }}\n\n',
          '{% if l %}nonempty{% endif %}', '{% if e %}x{% else %}empty list{% endif %}',
          'x\n{% for u in users %}\n- {{ u.name }}\n{% endfor %}\n']:
    T(t)

# --- filters ---
for t in ['{{ strnum | int + 1 }}', '{{ strfloat | int }}', '{{ "abc" | int }}', '{{ "abc" | int(7) }}',
          '{{ "0x1F" | int(base=16) }}', '{{ fl | int }}', '{{ strfloat | float }}', '{{ "x" | float }}',
          '{{ x | float }}', '{{ t | int }}', '{{ yes_s | bool }}', '{{ "on" | bool }}', '{{ "1" | bool }}',
          '{{ "No" | bool }}', '{{ false_s | bool }}', '{{ 1 | bool }}', '{{ 0 | bool }}', '{{ n | bool }}',
          '{{ "TRUE" | bool }}', '{{ x | string }}', '{{ l | string }}', '{{ n | string }}',
          '{{ s | length }}', '{{ l | length }}', '{{ d | count }}', '{{ uni | length }}',
          '{{ s | list }}', '{{ d | list }}', '{{ l | join }}', '{{ l | join(", ") }}',
          '{{ users | join(",", attribute="name") }}', '{{ t | ternary("on", "off") }}',
          '{{ f | ternary("on", "off") }}', '{{ n | ternary("on", "off", "unset") }}',
          '{{ path | dirname }}', '{{ path | basename }}', '{{ "/" | dirname }}', '{{ "a" | dirname }}',
          '{{ "/a/b/" | basename }}', '{{ S | lower }}', '{{ S | upper }}', '{{ "hello wORLD" | capitalize }}',
          '{{ "hello-world foo(bar)" | title }}', '{{ spaced | trim }}', '{{ "xxhixx" | trim("x") }}',
          '{{ s | replace("l", "L") }}', '{{ s | replace("l", "L", 1) }}', '{{ multi | indent(2) }}',
          '{{ multi | indent(2, true) }}', '{{ "a\\n\\nb" | indent(4, blank=true) }}',
          '{{ "a\\nb" | indent("> ") }}', '{{ s | quote }}', '{{ quote_s | quote }}', '{{ "" | quote }}',
          '{{ "a b" | quote }}', '{{ "safe-1.2_x/y:z" | quote }}', '{{ "k3s rocks" | b64encode }}',
          '{{ b64 | b64decode }}', '{{ "" | b64encode }}', '{{ "ab" | b64encode }}', '{{ uni | b64encode }}',
          '{{ d | to_json }}', '{{ cfg | to_json }}', '{{ cfg | to_nice_json }}', '{{ uni | to_json }}',
          '{{ [fl, n, t, \'q"s\'] | to_json }}', '{{ {} | to_nice_json }}', '{{ cfg | to_nice_json(indent=2) }}',
          '{{ d | to_json(sort_keys=true) }}', '{{ cfg | to_yaml }}', '{{ cfg | to_nice_yaml }}',
          '{{ users | to_nice_yaml }}', '{{ s | to_yaml }}', '{{ [multi, "yes", "1.0", ""] | to_yaml }}',
          '{{ json_s | from_json }}', '{{ (json_s | from_json).a[1] }}', '{{ yaml_s | from_yaml }}',
          '{{ "[1, 2]" | from_yaml }}', '{{ s | hash("sha1") }}', '{{ s | hash("md5") }}',
          '{{ s | hash("sha256") }}', '{{ s | md5 }}', '{{ s | sha1 }}', '{{ s | checksum }}',
          '{{ "" | hash("sha256") }}', '{{ neg | abs }}', '{{ -2.5 | abs }}', '{{ 2.567 | round }}',
          '{{ 2.567 | round(1) }}', '{{ 2.5 | round }}', '{{ 2.561 | round(2, "floor") }}',
          '{{ 2.1 | round(0, "ceil") }}', '{{ 3 | round }}',
          '{{ "a.b*c" | regex_escape }}', '{{ ip | regex_replace("\\\\.", "-") }}',
          '{{ "abc" | regex_replace("(b)", "[\\\\1]") }}', '{{ "abc" | regex_replace("B", "x", ignorecase=true) }}',
          '{{ "a1b22c333" | regex_replace("[0-9]+", "#") }}', '{{ "abxd" | regex_replace("x*", "-") }}',
          '{{ "k=v" | regex_replace("^(?P<key>\\\\w+)=(?P<val>\\\\w+)$", "\\\\g<val>=\\\\g<key>") }}',
          '{{ "line1\\nline2" | regex_replace("^l", "L", multiline=true) }}',
          '{{ "line1\\nline2" | regex_replace("^l", "L") }}', '{{ ver | regex_search("[0-9]+\\\\.[0-9]+") }}',
          '{{ ver | regex_search("(\\d+)\\.(\\d+)", "\\2", "\\1") }}',
          '{{ ver | regex_search("(?P<maj>\\d+)", "\\g<maj>") }}', '{{ ip | regex_replace("\\.", "-") }}',
          '{{ "abc" | regex_replace("(b)", "[\\1]") }}', '{{ "k=v" | regex_replace("(\\w)=(\\w)", "\\2=\\1") }}', '{{ ver | regex_search("zzz") }}',
          '{{ "ABC" | regex_search("b", ignorecase=true) }}', '{{ "a1b2c3" | regex_findall("[a-z][0-9]") }}',
          '{{ "a1b2c3" | regex_findall("([a-z])([0-9])") }}', '{{ "k=v;x=y" | regex_findall("(\\\\w)=") }}',
          '{{ "x.y" | regex_findall("\\\\.") }}',           '{{ "aab" | regex_replace("a{2}", "X") }}', '{{ "a{x}b" | regex_replace("{x}", "") }}',
          '{{ "path/to/x" | regex_replace("(?i)TO", "from") }}', '{{ "k3s v1" | regex_search("(?:k3s) (v\\d)", "\\1") }}', '{{ "Hello\\nhello" | regex_findall("^h.*$", multiline=true, ignorecase=true) }}',
          '{{ users | map(attribute="name") | list }}', '{{ users | map(attribute="admin", default=false) | list }}',
          '{{ ls | map("upper") | list }}', '{{ ["1", "2"] | map("int") | sum }}',
          '{{ hosts | map("regex_replace", "^k3s-", "") | list }}', '{{ l | select("odd") | list }}',
          '{{ l | reject("odd") | list }}', '{{ [0, 1, "", "a", none] | select | list }}',
          '{{ l | select(">", 1) | list }}', '{{ l | select("in", [1, 3]) | list }}',
          '{{ users | selectattr("admin", "defined") | map(attribute="name") | list }}',
          '{{ users | rejectattr("uid", "lt", 1000) | map(attribute="name") | list }}',
          '{{ users | selectattr("name", "equalto", "bob") | first }}',
          '{{ users | selectattr("name", "match", "^[ab]") | list | length }}',
          '{{ hosts | select("search", "-w-") | list }}', '{{ l | first }}', '{{ l | last }}',
          '{{ s | first }}', '{{ e | first | default("none") }}', '{{ [1, [2, [3, [4]]]] | flatten }}',
          '{{ [1, [2, [3, [4]]]] | flatten(levels=1) }}', '{{ [1, none, [2, "None"], "null"] | flatten }}',
          '{{ d | combine({"b": 3, "c": 4}) }}', '{{ d1 | combine(d2) }}', '{{ d1 | combine(d2, recursive=true) }}',
          '{{ d1 | combine(d2, recursive=true, list_merge="append") }}',
          '{{ d1 | combine(d2, recursive=true, list_merge="prepend") }}',
          '{{ d1 | combine(d2, list_merge="keep", recursive=true) }}', '{{ [d1, d2] | combine }}',
          '{{ {"a": [1, 2]} | combine({"a": [2, 3]}, list_merge="append_rp") }}',
          '{{ d | combine({"a": 9}, {"a": 10}) }}', '{{ ls | sort }}', '{{ ls | sort(case_sensitive=true) }}',
          '{{ ls | sort(reverse=true) }}', '{{ users | sort(attribute="uid") | map(attribute="name") | list }}',
          '{{ nums | sort }}', '{{ dup | unique }}', '{{ mixed | unique }}', '{{ mixed | unique(case_sensitive=true) }}',
          '{{ [1, 2, 3] | difference([2]) }}', '{{ dup | intersect([1, 2, 9]) }}', '{{ [1, 2] | union([2, 3, 3]) }}',
          '{{ [1, 2] | symmetric_difference([2, 3]) }}', '{{ {"b": 1, "a": 2} | dictsort }}',
          '{{ {"b": 1, "a": 2} | dictsort(by="value", reverse=true) }}', '{{ d | dict2items }}',
          '{{ d | dict2items(key_name="k", value_name="v") }}', '{{ kv | items2dict }}',
          '{{ d | dict2items | items2dict }}', '{{ csv | split(",") }}', '{{ words | split }}',
          '{{ l | zip(ls) | list }}', '{{ [1, 2, 3] | zip(["a"]) | list }}', '{{ [1, 2] | zip_longest(["a"], fillvalue="-") | list }}',
          '{{ nums | min }}', '{{ nums | max }}', '{{ ls | min }}', '{{ users | max(attribute="uid") }}',
          '{{ l | sum }}', '{{ nums | sum }}', '{{ users | sum(attribute="uid") }}', '{{ [[1], [2]] | sum(start=[]) }}',
          '{{ l | reverse | list }}', '{{ s | reverse }}', '{{ d | items | list }}', '{{ x | type_debug }}',
          '{{ cfg | type_debug }}', '{{ s | type_debug }}', '{{ "a" | extract({"a": 5}) }}',
          '{{ [0, 2] | map("extract", ["x", "y", "z"]) | list }}', '{{ l | batch(2) | list }}',
          '{{ users | subelements("groups") | map("last") | list }}', '{{ "x" | comment }}',
          '{{ ["/etc", "k3s", "x.yaml"] | path_join }}', '{{ path | splitext | list }}', '{{ s | d }}',
          '{{ l | map("string") | join("-") }}', '{{ users | map(attribute="name") | map("upper") | join(" ") }}',
          '{{ cfg.tags | map("regex_replace", "(.*)", "tag-\\\\1") | list }}',
          '{{ hosts | length > 2 }}', '{{ (hosts | length) * 2 }}', '{{ s | upper | lower | capitalize }}',
          '{{ users | map(attribute="groups") | flatten | unique | sort }}',
          '{{ grp.agents + grp.servers | sort }}', '{{ (grp.agents + grp.servers) | sort }}',
          '{{ ansible_x | default(hosts[0]) }}', '{{ uni | upper }}', '{{ [3, 1] | sort | first }}']:
    T(t)

# --- more Jinja ---
for t in ['{{ "%s-%s" | format(s, x) }}', '{{ "%(a)s" | format(a=x) }}', '{{ cfg | attr("host") is defined }}',
          '{% for i in l %}{{ loop.cycle("odd", "even") }} {% endfor %}', '{{ foo | default }}',
          '{% for i in l %}{% for j in ls %}{{ loop.index }}{% endfor %}|{{ loop.index }} {% endfor %}',
          '{% if t %}{% set inner = 1 %}{% endif %}{{ inner }}',
          '{% for k in d | dictsort %}{{ k[0] }}{% endfor %}',
          '{{ "a" ~ 1 ~ none ~ t }}', '{{ [1, 2] ~ "x" }}',
          '{% for u in users | sort(attribute="name", reverse=true) %}{{ u.name }} {% endfor %}',
          '{{ users | selectattr("uid", "ge", 1000) | map(attribute="name") | join(",") }}',
          '{{ x | string | length }}', '{{ (l | map("string") | list)[0] }}', '{{ s[:-1] }}',
          '{{ "-" * 10 }}', '{{ l | length is odd }}', '{{ not foo is defined }}',
          '{{ t is sameas true }}' if False else '{{ t is true }}', '{{ hosts | select("match", ".*-w-") | list }}',
          '{{ [] | min | default("none") }}', '{{ {"b": 2, "a": 1} | dict2items | map(attribute="key") | list }}',
          '{%- for h in hosts %}\n{{ h }}{{ "," if not loop.last }}\n{%- endfor %}',
          '{{ cfg.port + 1 }}', '{{ (cfg.port | string)[:2] }}', '{{ cfg["tags"] | join }}']:
    T(t)

# --- whitespace control, raw, comments, newlines ---
for t in ['a\n{% if t -%}\n  b\n{%- endif %}\nc', 'a\n  {%- if t %}\nb{% endif %}', '{% if t %}  \nx{% endif %}',
          '{% if t %}\n\nx{% endif %}', '{{ x }}\n{{ y }}', '{{ x -}}\n\n{{- y }}', '{%- raw %} {{ x }} {% endraw -%}',
          '{% raw %}\n{% if %}\n{% endraw %}\n', '{# a #}{# b #}c', '{#\nmulti\nline\n#}\nz', 'x {#- c #} y',
          'a\r\nb {{ x }}\r\n', '{% for i in l %}{{ i }}\n{% endfor %}', '{% for i in l %}\n{{ i }}{% endfor %}\n',
          '\n\n{{ x }}\n\n', '{{ "\n" }}x', '{% set v %}\n a \n{% endset %}[{{ v }}]', '{{ s }}{# trailing #}\n',
          ' {% if f %}x{% endif %} ', '{% if t %}{% if f %}a{% elif t %}b{% endif %}{% endif %}',
          '{% for i in l %}{% if i == 2 %}{% set _ = 1 %}{% endif %}{{ i }}{% endfor %}',
          '{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}', '{% for k, v in {"x": 1}.items() %}{{ k }}{{ v }}{% endfor %}',
          '{{ [x, y] | max }}', '{{ "%.2f" % fl }}', '{{ "%5s|%-5s|" % ("a", "b") }}', '{{ "%d%%" % 50 }}',
          '{{ "%x" % 255 }}', '{{ "%r" % s }}', '{{ s | replace("", "-") }}', '{{ "a.b.c".split(".", 1) }}',
          '{{ "a b".split(" ") }}', '{{ "  x ".strip() | length }}', '{{ "abc"[5:] }}', '{{ l[1:2][0] }}',
          '{{ {"a": {"b": 1}}["a"].b }}', '{{ d["a"] + d.b }}', '{{ 3 > 2 > 1 }}', '{{ 1 if none else 2 }}',
          '{{ "" ~ 1.0 }}', '{{ 1.0 | int }}', '{{ "1e3" | float }}', '{{ " 42 " | int }}', '{{ "4.7" | int }}',
          '{{ -0.0 }}', '{{ 1e-7 }}', '{{ 123456789012345678 }}', '{{ 0.1 * 3 }}', '{{ 2 ** 0.5 }}', '{{ 7 / 7 }}']:
    T(t)

# --- methods ---
for t in ['{{ words.split() }}', '{{ csv.split(",") }}', '{{ csv.split(",", 1) }}', '{{ words.split(" ", 2) }}',
          '{{ words.rsplit(" ", 1) }}', '{{ "  a b  ".split() }}', '{{ spaced.strip() }}', '{{ spaced.lstrip() }}',
          '{{ spaced.rstrip() }}', '{{ "xxaxx".strip("x") }}', '{{ s.startswith("he") }}', '{{ s.endswith("lo") }}',
          '{{ s.startswith(("x", "h")) }}', '{{ s.replace("l", "") }}', '{{ s.upper() }}', '{{ S.lower() }}',
          '{{ "hello wORLD".title() }}', '{{ "hello wORLD".capitalize() }}', '{{ ",".join(ls) }}',
          '{{ "{} and {}".format(s, x) }}', '{{ "{0}-{1}-{0}".format("a", "b") }}', '{{ "{name}!".format(name=s) }}',
          '{{ s.find("l") }}', '{{ s.find("z") }}', '{{ s.count("l") }}', '{{ l.index(2) }}', '{{ dup.count(3) }}',
          '{% set acc = [] %}{% for i in l %}{{ acc.append(i * 2) }}{% endfor %}{{ acc }}',
          '{{ strnum.isdigit() }}', '{{ multi.splitlines() }}', '{{ s.rfind("l") }}']:
    T(t)

# --- tests ---
for t in ['{{ n is none }}', '{{ x is none }}', '{{ s is string }}', '{{ x is string }}', '{{ x is number }}',
          '{{ fl is number }}', '{{ x is integer }}', '{{ fl is float }}', '{{ t is boolean }}', '{{ x is boolean }}',
          '{{ d is mapping }}', '{{ l is mapping }}', '{{ l is iterable }}', '{{ s is iterable }}', '{{ x is iterable }}',
          '{{ l is sequence }}', '{{ 2 is in l }}', '{{ l is contains 2 }}', '{{ x is equalto 4 }}', '{{ x is eq(4) }}',
          '{{ x == 4 }}', '{{ x is ne 4 }}', '{{ x is gt 3 }}', '{{ x is ge(5) }}', '{{ x is lt 5 }}', '{{ x is odd }}',
          '{{ x is even }}', '{{ x is divisibleby 2 }}', '{{ s is lower }}', '{{ S is upper }}',
          '{{ res_ok is changed }}', '{{ res_fail is changed }}', '{{ res_loop is changed }}', '{{ res_ok is failed }}',
          '{{ res_fail is failed }}', '{{ res_ok is succeeded }}', '{{ res_fail is success }}', '{{ res_skip is skipped }}',
          '{{ res_ok is skipped }}', '{{ res_ok is not failed }}', '{{ ver is version("1.28.0", ">=") }}',
          '{{ ver is version("1.28.3", "==") }}', '{{ "1.10" is version("1.9", "gt") }}', '{{ "1.10" is version("1.9", "<") }}',
          '{{ "2.0" is version_compare("2.0.0", "lt") }}', '{{ "v1.2" is version("v1.10", "<") }}',
          '{{ "1.2.3" is version("1.2.3", "ne") }}', '{{ "1.2.3" is version("1.2.3", "!=") }}', '{{ "1.2.3" is version("1.2.3") }}',
          '{{ ver is match("1\\\\.28") }}', '{{ ver is match("28") }}', '{{ ver is search("28") }}',
          '{{ ver is regex("K3S", ignorecase=true) }}', '{{ ver is regex("^28", match_type="match") }}',
          '{{ s is truthy }}', '{{ es is falsy }}', '{{ es is truthy }}', '{{ "data/template/files/a.conf" is file }}',
          '{{ "/nonexistent" is exists }}', '{{ "/" is directory }}', '{{ "/etc" is abs }}', '{{ [1] is subset([1, 2]) }}',
          '{{ [1, 2] is superset([2]) }}', '{{ [t, f] is any }}', '{{ [t, f] is all }}', '{{ s is not string }}',
          '{{ x is not defined }}', '{{ s is sameas s }}' if False else '{{ s is defined }}']:
    T(t)

# --- lookups ---
for t in ['{{ lookup("env", "DROVER_TEST_ENV") }}', '{{ lookup("env", "DROVER_UNSET_ENV") }}',
          '{{ lookup("env", "DROVER_UNSET_ENV", default="dflt") }}', '{{ lookup("file", "token.txt") }}',
          '{{ lookup("file", "files/a.conf") }}', '{{ lookup("file", "a.conf", "b.conf") }}',
          '{{ query("file", "a.conf", "b.conf") }}', '{{ q("file", "a.conf") }}',
          '{{ lookup("file", "token.txt", rstrip=false) }}', '{{ lookup("pipe", "echo hi; echo there") }}',
          '{{ lookup("pipe", "printf \'a  \'") }}', '{{ lookup("template", "cfg.j2") }}',
          '{{ lookup("fileglob", "*.conf") | split(",") | map("basename") | sort }}',
          '{{ query("fileglob", "*.conf") | map("basename") | sort }}',
          '{{ lookup("first_found", ["missing.conf", "b.conf", "a.conf"]) | basename }}',
          '{{ lookup("first_found", ["nope1", "nope2"], skip=true) }}',
          '{{ lookup("vars", "s") }}', '{{ lookup("vars", "lazy") }}', '{{ lookup("vars", "nope", default="d") }}',
          '{{ lookup("dict", d) }}', '{{ query("dict", d) | map(attribute="key") | list }}',
          '{{ lookup("ansible.builtin.env", "DROVER_TEST_ENV") }}', '{{ query("items", [1, [2]], 3) }}']:
    T(t)
E('{{ lookup("pipe", "exit 3") }}', 'returned 3')
E('{{ "a{1}b" | regex_replace("{1}", "") }}', 'nothing to repeat')
E('{{ "a" | regex_replace("a**", "") }}', 'multiple repeat')
E('{{ lookup("first_found", ["nope1", "nope2"]) }}', 'No file was found')
E('{{ lookup("vars", "nope") }}', 'No variable found with this name: nope')

# --- backslashes: doubled inside {{ }} strings, normal in {% %} ---
for t in ['{{ "a\\nb" }}', '{% set v = "a\\nb" %}{{ v }}', '{{ "C:\\\\dir" }}', 'lit\\n {{ x }}',
          '{{ "x.y" | regex_replace("\\.", "_") }}', '{{ "tab\\t" | length }}']:
    T(t)

# --- conditionals (when / changed_when / failed_when / until / assert that) ---
for c in ['t', 'f', 'x > 3', 'x > 10', 'foo is defined', 'foo is not defined', 's == "hello"',
          'x in l', 'l', 'e', 'es', 's', 'false_s', 'false_s | bool', 'yes_s | bool', 'n', 'zero',
          'res_ok is changed', 'res_fail is failed and x > 1', 'not t', 'x == 4 or foo',
          'd.a == 1', '"k3s" in cfg.host', 'users | selectattr("admin", "defined") | list | length == 2',
          'ver is version("1.27", ">")', '{{ t }}', '{{ x > 3 }}', '{{ f }}', 'lazy == 5',
          'true', 'False', '"false"', '(x + y) is odd', 'foo | default(false)',
          'hosts | length > 2 and "k3s-w-01" in hosts', 'cfg.opts.tls']:
    C(c)
CE('foo', "'foo' is undefined")
CE('foo.bar == 1', "'foo' is undefined")
CE('x >', 'unexpected')
CE('{{ foo }}', "'foo' is undefined")

# --- the template module (action/template.py: do_template, text only) ---
for t in ['[{{ x }}, {{ y }}]', '{{ l }}', '{{ t }}', '{{ x }}', '{{ "a\\nb" }}', '{{ n }}',
          '[Unit]\nA={{ s }}\n', '{{ cfg | to_nice_yaml }}', 'True', '{{ "a\\tb" | length }}',
          '{% for u in users %}\n  {% if u.admin is defined %}\n{{ u.name }}\n  {% endif %}\n{% endfor %}\n']:
    F(t)
for t in ['{% for u in users %}\n  {% if u.admin is defined %}\n{{ u.name }}\n  {% endif %}\n{% endfor %}\n',
          '  {# c #}\nx\n    {%+ if t %}y{% endif %}\n', 'a {% if t %}b{% endif %}\n']:
    F(t, lstrip=True)
T('{{ lookup("template", "bs.j2") }}')
T('{{ [cfg, cfg] | to_yaml }}')
T('{{ "%Y" | strftime(0, utc=true) }}')
T('{{ "%Y-%m-%d %H:%M" | strftime(second=1700000000, utc=true) }}')
T('{% for g in users | groupby("uid") %}{{ g[0] }}:{{ g[1] | map(attribute="name") | join }} {% endfor %}')
T('{% for k, us in users | groupby("admin", default=false) %}{{ k }}={{ us | length }} {% endfor %}')
E('{{ "%Y" | strftime("x") }}', 'Invalid value for epoch value')
T('{% set v = [1] %}{{ [v, v] | to_nice_yaml }}')
T('{{ {"a": cfg.tags, "b": cfg.tags} | to_nice_yaml(indent=2) }}')
for t in ['{% macro kv(k, v="-") %}{{ k }}={{ v }};{% endmacro %}{{ kv("a") }}{{ kv("b", 2) }}{{ kv(v=3, k="c") }}',
          '{% macro li(items) %}{% for i in items %}<{{ i }}>{% endfor %}{% endmacro %}[{{ li(l) }}]',
          '{% macro m() %}{{ x }}{% endmacro %}{% for x in [7] %}{{ m() }}{% endfor %}']:
    T(t)
    F(t)
for t in ['a{% include "templates/inc.j2" %}b', '{% for i in l %}{% include "templates/inc.j2" %}{% endfor %}',
          '{% include "nope.j2" ignore missing %}x', '{% set s = "local" %}{% include "templates/inc.j2" %}']:
    T(t)
    F(t)
E('{% include "nope.j2" %}', 'nope.j2')

# --- templates from vars: whole render of nested values ---
T('{{ foo | default(omit) == omit }}', omit='__omit_place_holder__d1ed16f5b8ac2d3ee6bd8d82e6ed1e4c7d4a3c1f')
T('{{ lazyl | join(",") }}')
T('{{ lazyd | to_json }}')
T('{% for i in lazyl %}{{ i }};{% endfor %}')


def plain(v):
    """Ansible's result as JSON, or raise when it has no JSON form."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, str):
        return str(v)
    raise TypeError('no JSON form for %r (%s)' % (v, type(v)))


def run_case(c, loader):
    vars = dict(V)
    vars.update(c['vars'])
    templar = Templar(loader=loader, variables=vars)
    if c['kind'] == 'render':
        return plain(templar.template(c['template']))
    if c['kind'] == 'file':
        env = templar.copy_with_new_env(lstrip_blocks=c['lstrip'], trim_blocks=True,
                                        available_variables=vars)
        return plain(env.do_template(c['template'], preserve_trailing_newlines=True,
                                     escape_backslashes=False))
    cond = Conditional(loader=loader)
    cond.when = [c['template']]
    return bool(cond.evaluate_conditional(templar, vars))


def main():
    os.environ['DROVER_TEST_ENV'] = 'from-env'
    os.environ.pop('DROVER_UNSET_ENV', None)
    os.environ['ANSIBLE_LOCAL_TEMP'] = '/tmp/drover-gen-ansible'
    loader = DataLoader()
    loader.set_basedir(DATA)
    cwd = os.getcwd()
    os.chdir(os.path.join(DATA, '..', '..'))  # tests/, where ctest runs
    out, seen, problems = [], set(), []
    for i, c in enumerate(CASES):
        name = c['name'] or '%s %d: %s' % (c['kind'], i, c['template'][:60].replace('\n', '\\n'))
        if name in seen:
            name += ' #%d' % i
        seen.add(name)
        case = {'name': name, 'kind': c['kind'], 'template': c['template'], 'vars': c['vars']}
        if c['kind'] == 'file':
            case['lstrip'] = c['lstrip']
        try:
            res = run_case(c, loader)
            if 'error' in c:
                problems.append('case %r: expected an error containing %r, Ansible returned %r'
                                % (name, c['error'], res))
            case['result'] = res
        except (AnsibleError, Exception) as e:  # noqa: B014 - any failure is an expected error
            if 'error' not in c:
                problems.append('case %r: Ansible failed: %s' % (name, e))
            elif c['error'] not in str(e):
                problems.append('case %r: Ansible error %r lacks %r' % (name, str(e), c['error']))
            else:
                case['error'] = c['error']
        out.append(case)
    os.chdir(cwd)
    if problems:
        sys.exit('\n'.join(problems))
    doc = {'comment': 'generated by tests/gen/template_cases.py from ansible-core Templar; '
                      'do not edit', 'vars': V, 'env': {'DROVER_TEST_ENV': 'from-env'},
           'basedir': 'data/template', 'cases': out}
    with open(os.path.join(DATA, 'cases.json'), 'w') as f:
        json.dump(doc, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write('\n')
    print('%d cases written' % len(out))


if __name__ == '__main__':
    main()
