/*
 * tmpl_int.h - the template engine's insides, shared by its files only.
 *
 * A template is lexed into tokens (lexer.c), parsed into a tree of nodes
 * (parser.c) that is immutable once built and may be shared between threads
 * through the parse cache, and evaluated (eval.c) over json_t values.
 *
 * Undefined is a real value here: a JSON object holding the key
 * TMPL_UNDEF_KEY whose value is the message ("'x' is undefined"). It flows
 * through attribute access, `default`, `is defined` and the like, and turns
 * into an ERR_UNDEF error when anything else touches it, as Jinja's
 * StrictUndefined does under Ansible.
 */
#ifndef DROVER_TMPL_INT_H
#define DROVER_TMPL_INT_H

#include <jansson.h>
#include <stddef.h>

#include "template/tmpl.h"
#include "util/buf.h"
#include "util/err.h"

#define TMPL_UNDEF_KEY "\x01undefined"

enum tok_kind {
	T_EOF,
	T_DATA,        /* template text between tags */
	T_VAR_BEGIN,   /* {{ */
	T_VAR_END,     /* }} */
	T_BLOCK_BEGIN, /* {% */
	T_BLOCK_END,   /* %} */
	T_NAME,
	T_STRING,
	T_INT,
	T_FLOAT,
	T_OP, /* operator or punctuation; text in tok.s */
};

struct token {
	int kind;
	int pos; /* byte offset in the source text */
	char *s; /* name, decoded string, data text or operator */
	size_t len;
	long long ival;
	double fval;
};

struct toklist {
	struct token *v;
	int n, cap;
};

/* lexer flags */
#define LEX_TRIM_BLOCKS     1
#define LEX_RAW_BACKSLASHES 2 /* escape_backslashes=False */
#define LEX_LSTRIP_BLOCKS   4

int lex_template(const char *text, int flags, struct toklist *out, int *errpos, char *msg,
                 size_t msgsize);
/* A bare expression: tokens only, no tags. */
int lex_expr(const char *text, struct toklist *out, int *errpos, char *msg, size_t msgsize);
void toklist_release(struct toklist *l);

enum node_kind {
	/* expressions */
	N_CONST,
	N_NAME,
	N_GETATTR,
	N_GETITEM,
	N_SLICE,
	N_LIST,
	N_TUPLE,
	N_DICT,
	N_BINOP,
	N_NEG,
	N_POS,
	N_NOT,
	N_AND,
	N_OR,
	N_COMPARE,
	N_COND,
	N_FILTER,
	N_TEST,
	N_CALL,
	N_CONCAT,
	/* statements */
	S_BODY,
	S_DATA,
	S_OUTPUT,
	S_IF,
	S_FOR,
	S_SET,
	S_SETBLOCK,
	S_INCLUDE, /* negate: ignore missing */
	S_MACRO,
};

struct node {
	int kind;
	int pos;
	char op[4];  /* operator for N_BINOP/N_COMPARE elements */
	char *name;  /* N_NAME, N_GETATTR, filter/test name, set target */
	json_t *val; /* N_CONST, S_DATA text */
	struct node *a, *b, *c, *d;
	struct node **kids; /* list items, dict k/v pairs, args, body */
	int nkids, capkids;
	char **kwnames; /* keyword args: kwnames[i] names kw[i] */
	struct node **kw;
	int nkw;
	int negate;      /* `is not`; for S_FOR: the body reads `loop` */
	const void *def; /* N_FILTER, N_TEST: the table entry, found at parse time */
	int native_text; /* output of a filter whose text is never literal_eval'd */
};

struct node *node_new(int kind, int pos);
void node_add(struct node *n, struct node *kid);
void node_free(struct node *n);

/* Parse a template or a bare expression. Returns NULL with *errpos/msg. */
struct node *parse_template(const char *text, int flags, int *errpos, char *msg, size_t msgsize);
struct node *parse_expression(const char *text, int *errpos, char *msg, size_t msgsize);
/* Parse the text as a Python literal (ast.literal_eval with true/false/null
 * accepted); NULL when it is not one. */
json_t *pylit_parse(const char *text);

/* Evaluation state shared by the filters, tests, methods and lookups. */
struct frame {
	json_t *vars; /* locals of this scope (owned) */
	struct frame *up;
};

struct eval {
	const struct tmpl_ctx *ctx;
	struct err *e;
	const char *src; /* text being evaluated, for positions */
	struct frame *scope;
	json_t *cache;       /* top-level variables already rendered in this call */
	int depth;           /* recursion through lazy variables */
	int pos;             /* position of the node being evaluated */
	json_t *test_kw;     /* keyword arguments of the test being run (borrowed) */
	int raw_backslashes; /* lookup('template'): escape_backslashes=False */
	int text_mode;       /* ctx->text_mode, for the top-level text only */
};

/* Values */
json_t *undef_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int is_undef(const json_t *v);
json_t *undef_lenient(void);
json_t *undef_at(json_t *v, int pos); /* returns v */
int is_lenient(const json_t *v);
const char *undef_msg(const json_t *v);
/* Fail with v's undefined message at the current position. */
int eval_fail_undef(struct eval *ev, const json_t *v);
int eval_fail(struct eval *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set an error when v (or anything inside it) is undefined. */
int eval_check_defined(struct eval *ev, const json_t *v);

json_t *eval_expr(struct eval *ev, const struct node *n);
/* Look up a variable by name as the template sees it (locals, vars, lazy
 * rendering, globals). New reference; undefined when missing. */
json_t *eval_var(struct eval *ev, const char *name);
/* Call a {% macro %} value (see render.c); NULL with ev->e set. */
int is_macro(const json_t *v);
json_t *macro_call(struct eval *ev, const json_t *macro, json_t *args, json_t *kw);
/* Render a nested template file or text with the same variables. */
json_t *eval_render_text(struct eval *ev, const char *text, int native);

/* Python semantics */
const char *py_type_name(const json_t *v);
int py_truthy(const json_t *v);
int py_equal(const json_t *a, const json_t *b);
/* <0, 0, >0; -2 with e set when the types do not order. */
int py_compare(struct eval *ev, const json_t *a, const json_t *b, int *out);
void py_float_repr(double d, struct buf *b);
void py_repr(const json_t *v, struct buf *b);
/* str(v): strings as they are, everything else as repr. */
void py_str(const json_t *v, struct buf *b);
char *py_str_dup(const json_t *v);
/* Python's int()/float() of a number or numeric string; 0 or -1. */
int py_to_int(const json_t *v, long long *out);
int py_to_float(const json_t *v, double *out);
int is_number(const json_t *v); /* int, float or bool */
/* Largest text join/replace build: a template is no place for a gigabyte. */
#define MAX_TEXT (16L << 20)

int value_too_deep(const json_t *v, const json_t *target, int limit);
double num_value(const json_t *v);
/* A number as an integer, clamped instead of overflowing. */
long long num_ll(const json_t *v);
int num_int(const json_t *v, int lo, int hi);
/* Items of an iterable (list, dict keys, string chars) as a new list. */
json_t *py_iter(struct eval *ev, const json_t *v);
size_t utf8_len(const char *s, size_t n);
int utf8_valid(const char *s, size_t n);
/* json_stringn/json_string that replace invalid UTF-8 with U+FFFD */
json_t *tstr(const char *s, size_t n);
json_t *tstrz(const char *s);
/* mode: l u c t (Jinja title) T (Python title) */
json_t *utf8_case(const char *s, size_t n, int mode);

/* Tables */
typedef json_t *(*filter_fn)(struct eval *ev, json_t *in, json_t *args, json_t *kw);
typedef int (*test_fn)(struct eval *ev, const json_t *in, json_t *args, int *out);

struct filter_def {
	const char *name;
	filter_fn fn;
	int undef_ok; /* receives undefined input (default, mandatory...) */
};

struct test_def {
	const char *name;
	test_fn fn;
	int undef_ok;
};

const struct filter_def *filter_find(const char *name);
/* "ansible.builtin.x" -> "x" (and the other collections drover serves) */
const char *plugin_short_name(const char *name);
const struct test_def *test_find(const char *name);
/* Python method call obj.name(args); NULL+error, or new reference. */
json_t *method_call(struct eval *ev, json_t *obj, const char *name, json_t *args, json_t *kw);
int method_exists(const json_t *obj, const char *name);
/* lookup()/query() */
json_t *lookup_call(struct eval *ev, json_t *args, json_t *kw, int wantlist);
/* Global functions: range, dict, lookup, query, q, omit... */
json_t *global_call(struct eval *ev, const char *name, json_t *args, json_t *kw, int *found);

/* Filters shared with tests */
int version_compare(struct eval *ev, const char *a, const char *b, const char *op, int strict,
                    int *out);
int regex_match_at(struct eval *ev, const char *s, const char *pattern, int icase, int mline,
                   int anchored, int *out);

/* yaml/dump.c: default_flow_style=None when flow_auto (to_yaml) */
void yaml_dump_style(const json_t *v, int indent, int flow_auto, struct buf *out);

/* digests.c */

#endif
