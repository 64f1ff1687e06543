/*
 * tmpl.h - Jinja2 as Ansible uses it, over Jansson values.
 *
 * lexer -> parser (AST) -> evaluator. Undefined is a distinct value inside
 * the evaluator; it becomes an ERR_UNDEF error ("'x' is undefined") when it
 * reaches output, as in Ansible. Errors carry file:line:col: the position of
 * the YAML scalar (ctx->file/line/col) plus the offset inside the text.
 *
 * Result types follow ansible-core 2.14: a template that is exactly one
 * `{{ expr }}` yields the native value (a bare `{{ var }}` keeps the
 * variable's type; other single expressions yield text, turned back into a
 * list/dict/bool when the text is such a Python literal); mixed text yields
 * a string.
 *
 * Variables are read from ctx->vars (a JSON object, borrowed). A variable
 * whose value holds templates is rendered when read, recursively, with the
 * same context; a cycle is the error "recursive loop detected in template".
 * Strings marked !unsafe (yaml_is_unsafe) are never rendered.
 *
 * Statements: if/elif/else, for (else, loop.*, unpacking, inline if), set
 * (also block set and namespace attributes), macro, include, raw, comments
 * and whitespace control. Filters, tests, lookups (env, file, pipe,
 * template, fileglob, first_found, vars, dict, items, list) and Python
 * methods are listed in filters*.c, tests.c, lookups.c and methods.c;
 * tests/data/template/cases.json shows each against ansible-core's answer.
 * Not supported: extends/blocks/import, recursive loops, loop controls,
 * datetime objects (now() returns text), and in regexes lookaround assertions;
 * non-greedy quantifiers match greedily (POSIX engine). Thread-safe: the
 * parse cache and the compiled-regex cache are shared under locks; ctx and
 * its vars are only read: list.append/dict.update on a variable change this
 * render's copy of it.
 */
#ifndef DROVER_TMPL_H
#define DROVER_TMPL_H

#include <jansson.h>

#include "util/err.h"

struct tmpl_ctx {
	const json_t *vars;  /* borrowed: name -> value */
	const char *file;    /* where the text came from, for errors; may be NULL */
	int line, col;       /* of the text's first character; 0 if unknown */
	const char *basedir; /* for lookup('file'/'template'), relative paths */
	int trim_blocks;     /* Ansible's default: 1 */
	/*
	 * The template module's rendering (action/template.py's do_template):
	 * the result is always text, never turned back into a list or bool,
	 * and backslashes inside {{ }} strings are not doubled. 0 for task
	 * arguments, when: and everything else.
	 */
	int text_mode;
	int lstrip_blocks; /* the template module's lstrip_blocks option */
};

/*
 * The value of `omit`: a module argument whose value is exactly this string
 * is dropped by the executor before the module sees its arguments, as
 * Ansible does with its own "__omit_place_holder__<sha1>" token. The same
 * string as vars_omit (vars/vars.h); `omit` resolves to it when no layer
 * defines the variable.
 */
#define TMPL_OMIT "__omit_place_holder__d1ed16f5b8ac2d3ee6bd8d82e6ed1e4c7d4a3c1f"

/* 1 if s contains "{{", "{%" or "{#". */
int tmpl_has_template(const char *s);
/* Render text. New reference, or NULL with e set. */
json_t *tmpl_render(const char *text, const struct tmpl_ctx *ctx, struct err *e);
/* Render every string inside v (lists and dicts, recursively; keys too). */
json_t *tmpl_render_value(const json_t *v, const struct tmpl_ctx *ctx, struct err *e);
/* Evaluate a bare expression ("x.y | default(1)"), native result. */
json_t *tmpl_eval(const char *expr, const struct tmpl_ctx *ctx, struct err *e);
/*
 * Evaluate a conditional as Ansible 2.14 does (when, changed_when,
 * failed_when, until, assert that). A bool, or a string that is an
 * expression. *result is 0 or 1. Returns 0 or a negative error code.
 */
int tmpl_cond(const json_t *cond, const struct tmpl_ctx *ctx, int *result, struct err *e);
/*
 * Mark every string inside v !unsafe, so that it is never rendered: what a
 * host sends back (registered results, facts, slurped files) must not be
 * able to inject templates, which is why Ansible wraps module results in
 * AnsibleUnsafe. The executor calls this on results before storing them.
 */
void tmpl_mark_unsafe(json_t *v);
/* Python/Jinja truthiness of a value. */
int tmpl_truthy(const json_t *v);
/* The string Ansible prints for a value (True/False/None, Python reprs in
 * mixed text). New malloc'd string. */
char *tmpl_to_text(const json_t *v);

#endif
