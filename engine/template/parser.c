/*
 * Recursive-descent parser for Jinja2's grammar (jinja2/parser.py), over
 * the lexer's tokens. Precedence, low to high: `x if c else y`, or, and,
 * not, comparisons (in, not in, ==...), + -, ~, * / // %, **, unary - +,
 * then postfix (.attr, [key], [a:b], calls) and filters/tests, which bind
 * tighter than any binary operator: `1 + x | int` is `1 + (x | int)`.
 */
#include "template/tmpl_int.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct toklist toks;
	int i;
	int errpos;
	char *msg;
	size_t msgsize;
	int failed;
	int depth; /* nesting, bounded so that no input can exhaust the stack */
};

#define MAX_NESTING 100

static void node_free_one(struct node *n);

struct node *node_new(int kind, int pos)
{
	struct node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	return n;
}

void node_add(struct node *n, struct node *kid)
{
	if (n->nkids == n->capkids) {
		n->capkids = n->capkids ? n->capkids * 2 : 4;
		n->kids = xrealloc(n->kids, (size_t)n->capkids * sizeof(*n->kids));
	}
	n->kids[n->nkids++] = kid;
}

static void node_add_kw(struct node *n, const char *name, struct node *v)
{
	n->kwnames = xrealloc(n->kwnames, (size_t)(n->nkw + 1) * sizeof(char *));
	n->kw = xrealloc(n->kw, (size_t)(n->nkw + 1) * sizeof(*n->kw));
	n->kwnames[n->nkw] = xstrdup(name);
	n->kw[n->nkw++] = v;
}

void node_free(struct node *n)
{
	/* left-deep chains (a + b + c ...) are walked, not recursed into */
	while (n) {
		struct node *next = n->a;
		n->a = NULL;
		node_free_one(n);
		n = next;
	}
}

static void node_free_one(struct node *n)
{
	node_free(n->b);
	node_free(n->c);
	node_free(n->d);
	for (int i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	for (int i = 0; i < n->nkw; i++) {
		node_free(n->kw[i]);
		free(n->kwnames[i]);
	}
	free(n->kids);
	free(n->kw);
	free(n->kwnames);
	free(n->name);
	json_decref(n->val);
	free(n);
}

static struct token *cur(struct parser *p)
{
	return &p->toks.v[p->i];
}

static struct token *peek_at(struct parser *p, int k)
{
	int j = p->i + k;
	return j < p->toks.n ? &p->toks.v[j] : &p->toks.v[p->toks.n - 1];
}

static int fail(struct parser *p, const char *fmt, const char *arg)
{
	if (!p->failed) {
		p->failed = 1;
		p->errpos = cur(p)->pos;
		snprintf(p->msg, p->msgsize, fmt, arg);
	}
	return -1;
}

static const char *tok_desc(const struct token *t)
{
	switch (t->kind) {
	case T_EOF:
		return "end of template";
	case T_VAR_END:
		return "end of print statement";
	case T_BLOCK_END:
		return "end of statement block";
	case T_VAR_BEGIN:
		return "begin of print statement";
	case T_BLOCK_BEGIN:
		return "begin of statement block";
	case T_DATA:
		return "template data";
	default:
		return t->s ? t->s : "?";
	}
}

static int is_op(struct parser *p, const char *op)
{
	return cur(p)->kind == T_OP && !strcmp(cur(p)->s, op);
}

static int is_name(struct parser *p, const char *name)
{
	return cur(p)->kind == T_NAME && !strcmp(cur(p)->s, name);
}

static int accept_op(struct parser *p, const char *op)
{
	if (!is_op(p, op))
		return 0;
	p->i++;
	return 1;
}

static int expect_op(struct parser *p, const char *op)
{
	if (accept_op(p, op))
		return 0;
	char m[160];
	snprintf(m, sizeof(m), "expected token '%s', got '%s'", op, tok_desc(cur(p)));
	return fail(p, "%s", m);
}

static struct node *parse_expr(struct parser *p, int with_condexpr);
static struct node *parse_tuple(struct parser *p, int simplified, int with_condexpr);
static struct node *parse_unary(struct parser *p, int with_filter);
static struct node *parse_postfix_filters(struct parser *p, struct node *n, int with_filter);

static struct node *constant(int pos, json_t *v)
{
	struct node *n = node_new(N_CONST, pos);
	n->val = v;
	return n;
}

static struct node *parse_name_const(struct token *t)
{
	const char *s = t->s;
	if (!strcmp(s, "true") || !strcmp(s, "True"))
		return constant(t->pos, json_true());
	if (!strcmp(s, "false") || !strcmp(s, "False"))
		return constant(t->pos, json_false());
	if (!strcmp(s, "none") || !strcmp(s, "None"))
		return constant(t->pos, json_null());
	struct node *n = node_new(N_NAME, t->pos);
	n->name = xstrdup(s);
	return n;
}

/* Items up to `close`, with a trailing comma allowed. */
static int parse_items(struct parser *p, struct node *coll, const char *close, int dict)
{
	while (!is_op(p, close)) {
		if (coll->nkids && expect_op(p, ",") < 0)
			return -1;
		if (is_op(p, close))
			break;
		struct node *k = parse_expr(p, 1);
		if (!k)
			return -1;
		node_add(coll, k);
		if (dict) {
			if (expect_op(p, ":") < 0)
				return -1;
			struct node *v = parse_expr(p, 1);
			if (!v)
				return -1;
			node_add(coll, v);
		}
	}
	p->i++;
	return 0;
}

static struct node *parse_primary(struct parser *p)
{
	struct token *t = cur(p);
	struct node *n;
	switch (t->kind) {
	case T_NAME:
		p->i++;
		return parse_name_const(t);
	case T_STRING: {
		struct buf b = BUF_INIT;
		int pos = t->pos;
		while (cur(p)->kind == T_STRING) {
			buf_add(&b, cur(p)->s, cur(p)->len);
			p->i++;
		}
		n = constant(pos, tstr(b.s ? b.s : "", b.len));
		buf_release(&b);
		return n;
	}
	case T_INT:
		p->i++;
		return constant(t->pos, json_integer(t->ival));
	case T_FLOAT:
		p->i++;
		return constant(t->pos, json_real(t->fval));
	case T_OP:
		if (accept_op(p, "(")) {
			if (accept_op(p, ")"))
				return node_new(N_TUPLE, t->pos);
			n = parse_tuple(p, 0, 1);
			if (n && expect_op(p, ")") < 0) {
				node_free(n);
				return NULL;
			}
			return n;
		}
		if (accept_op(p, "[") || accept_op(p, "{")) {
			int dict = t->s[0] == '{';
			n = node_new(dict ? N_DICT : N_LIST, t->pos);
			if (parse_items(p, n, dict ? "}" : "]", dict) < 0) {
				node_free(n);
				return NULL;
			}
			return n;
		}
		break;
	}
	fail(p, "unexpected '%s'", tok_desc(t));
	return NULL;
}

/*
 * A comma-separated list makes a tuple; one item without a comma is that
 * item. simplified: only primaries (for loop targets).
 */
static struct node *parse_tuple(struct parser *p, int simplified, int with_condexpr)
{
	int pos = cur(p)->pos;
	struct node *first = NULL, *tup = NULL;
	for (;;) {
		struct node *it;
		if (simplified)
			it = parse_primary(p);
		else
			it = parse_expr(p, with_condexpr);
		if (!it)
			goto fail;
		if (!first) {
			first = it;
		} else {
			if (!tup) {
				tup = node_new(N_TUPLE, pos);
				node_add(tup, first);
			}
			node_add(tup, it);
		}
		if (!accept_op(p, ","))
			break;
		if (!tup) {
			tup = node_new(N_TUPLE, pos);
			node_add(tup, first);
		}
		/* a trailing comma ends the tuple */
		if (cur(p)->kind == T_VAR_END || cur(p)->kind == T_BLOCK_END || is_op(p, ")") ||
		    is_op(p, "=") || is_name(p, "in") || cur(p)->kind == T_EOF)
			break;
	}
	return tup ? tup : first;
fail:
	if (tup)
		node_free(tup);
	else
		node_free(first);
	return NULL;
}

static int parse_call_args(struct parser *p, struct node *call)
{
	/* after "(" */
	while (!is_op(p, ")")) {
		if ((call->nkids || call->nkw) && expect_op(p, ",") < 0)
			return -1;
		if (is_op(p, ")"))
			break;
		if (cur(p)->kind == T_NAME && peek_at(p, 1)->kind == T_OP &&
		    !strcmp(peek_at(p, 1)->s, "=")) {
			char *key = cur(p)->s;
			p->i += 2;
			struct node *v = parse_expr(p, 1);
			if (!v)
				return -1;
			node_add_kw(call, key, v);
			continue;
		}
		if (call->nkw)
			return fail(p, "%s", "positional argument follows keyword argument");
		struct node *v = parse_expr(p, 1);
		if (!v)
			return -1;
		node_add(call, v);
	}
	p->i++;
	return 0;
}

static struct node *parse_subscript(struct parser *p, struct node *obj, int pos)
{
	/* after "[": key, or a slice a:b:c */
	struct node *parts[3] = {NULL, NULL, NULL};
	int nparts = 0, is_slice = 0;
	for (;;) {
		if (is_op(p, ":")) {
			is_slice = 1;
			p->i++;
			nparts++;
			if (nparts > 2)
				goto fail;
			continue;
		}
		if (is_op(p, "]"))
			break;
		if (parts[nparts])
			goto fail;
		parts[nparts] = parse_expr(p, 1);
		if (!parts[nparts])
			goto fail;
	}
	p->i++;
	struct node *n = node_new(is_slice ? N_SLICE : N_GETITEM, pos);
	n->a = obj;
	n->b = parts[0];
	n->c = parts[1];
	n->d = parts[2];
	if (!is_slice && !n->b) {
		fail(p, "%s", "expected an expression in subscript");
		node_free(n);
		return NULL;
	}
	return n;
fail:
	fail(p, "%s", "invalid subscript");
	for (int i = 0; i < 3; i++)
		node_free(parts[i]);
	node_free(obj);
	return NULL;
}

static struct node *parse_postfix(struct parser *p, struct node *n)
{
	for (;;) {
		struct token *t = cur(p);
		if (accept_op(p, ".")) {
			struct token *a = cur(p);
			struct node *g;
			if (a->kind == T_NAME) {
				g = node_new(N_GETATTR, t->pos);
				g->name = xstrdup(a->s);
			} else if (a->kind == T_INT) {
				g = node_new(N_GETITEM, t->pos);
				g->b = constant(a->pos, json_integer(a->ival));
			} else {
				fail(p, "%s", "expected name or number after '.'");
				node_free(n);
				return NULL;
			}
			p->i++;
			g->a = n;
			n = g;
		} else if (accept_op(p, "[")) {
			n = parse_subscript(p, n, t->pos);
			if (!n)
				return NULL;
		} else if (accept_op(p, "(")) {
			struct node *c = node_new(N_CALL, t->pos);
			c->a = n;
			n = c;
			if (parse_call_args(p, c) < 0) {
				node_free(n);
				return NULL;
			}
		} else {
			return n;
		}
	}
}

static int dotted_name(struct parser *p, struct buf *b)
{
	if (cur(p)->kind != T_NAME)
		return fail(p, "expected a filter or test name, got '%s'", tok_desc(cur(p)));
	buf_adds(b, cur(p)->s);
	p->i++;
	while (is_op(p, ".") && peek_at(p, 1)->kind == T_NAME) {
		buf_addc(b, '.');
		buf_adds(b, peek_at(p, 1)->s);
		p->i += 2;
	}
	return 0;
}

static struct node *parse_filter(struct parser *p, struct node *n)
{
	struct buf name = BUF_INIT;
	int pos = cur(p)->pos;
	if (dotted_name(p, &name) < 0) {
		node_free(n);
		return NULL;
	}
	struct node *f = node_new(N_FILTER, pos);
	f->a = n;
	f->name = buf_detach(&name);
	f->def = filter_find(plugin_short_name(f->name));
	if (accept_op(p, "(") && parse_call_args(p, f) < 0) {
		node_free(f);
		return NULL;
	}
	return f;
}

static int test_arg_starts(struct parser *p)
{
	struct token *t = cur(p);
	if (t->kind == T_NAME)
		return strcmp(t->s, "else") && strcmp(t->s, "or") && strcmp(t->s, "and");
	if (t->kind == T_STRING || t->kind == T_INT || t->kind == T_FLOAT)
		return 1;
	return is_op(p, "[") || is_op(p, "{") || is_op(p, "-");
}

static struct node *parse_test(struct parser *p, struct node *n)
{
	int pos = cur(p)->pos;
	int negate = 0;
	if (is_name(p, "not")) {
		negate = 1;
		p->i++;
	}
	struct buf name = BUF_INIT;
	if (dotted_name(p, &name) < 0) {
		node_free(n);
		return NULL;
	}
	struct node *t = node_new(N_TEST, pos);
	t->a = n;
	t->negate = negate;
	t->name = buf_detach(&name);
	t->def = test_find(plugin_short_name(t->name));
	if (accept_op(p, "(")) {
		if (parse_call_args(p, t) < 0)
			goto fail;
	} else if (test_arg_starts(p)) {
		struct node *arg = parse_primary(p);
		if (!arg)
			goto fail;
		arg = parse_postfix(p, arg);
		if (!arg)
			goto fail;
		node_add(t, arg);
	}
	return t;
fail:
	node_free(t);
	return NULL;
}

static struct node *parse_postfix_filters(struct parser *p, struct node *n, int with_filter)
{
	n = parse_postfix(p, n);
	while (n && with_filter) {
		if (accept_op(p, "|")) {
			n = parse_filter(p, n);
		} else if (is_name(p, "is")) {
			p->i++;
			n = parse_test(p, n);
		} else if (accept_op(p, "(")) {
			struct node *c = node_new(N_CALL, n->pos);
			c->a = n;
			n = c;
			if (parse_call_args(p, c) < 0) {
				node_free(n);
				return NULL;
			}
		} else {
			break;
		}
	}
	return n;
}

static struct node *parse_unary(struct parser *p, int with_filter)
{
	struct token *t = cur(p);
	struct node *n;
	if (is_op(p, "-") || is_op(p, "+")) {
		if (p->depth >= MAX_NESTING) {
			fail(p, "%s", "expression nested too deeply");
			return NULL;
		}
		p->i++;
		p->depth++;
		struct node *operand = parse_unary(p, 0);
		p->depth--;
		if (!operand)
			return NULL;
		n = node_new(t->s[0] == '-' ? N_NEG : N_POS, t->pos);
		n->a = operand;
	} else {
		n = parse_primary(p);
		if (!n)
			return NULL;
	}
	return parse_postfix_filters(p, n, with_filter);
}

static struct node *binop(const char *op, int pos, struct node *l, struct node *r)
{
	struct node *n = node_new(N_BINOP, pos);
	snprintf(n->op, sizeof(n->op), "%s", op);
	n->a = l;
	n->b = r;
	return n;
}

static struct node *parse_pow(struct parser *p)
{
	struct node *l = parse_unary(p, 1);
	while (l && is_op(p, "**")) {
		int pos = cur(p)->pos;
		p->i++;
		struct node *r = parse_unary(p, 1);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = binop("**", pos, l, r);
	}
	return l;
}

static struct node *parse_math2(struct parser *p)
{
	struct node *l = parse_pow(p);
	while (l && (is_op(p, "*") || is_op(p, "/") || is_op(p, "//") || is_op(p, "%"))) {
		const char *op = cur(p)->s;
		int pos = cur(p)->pos;
		p->i++;
		struct node *r = parse_pow(p);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = binop(op, pos, l, r);
	}
	return l;
}

static struct node *parse_concat(struct parser *p)
{
	struct node *l = parse_math2(p);
	if (!l || !is_op(p, "~"))
		return l;
	struct node *c = node_new(N_CONCAT, l->pos);
	node_add(c, l);
	while (accept_op(p, "~")) {
		struct node *r = parse_math2(p);
		if (!r) {
			node_free(c);
			return NULL;
		}
		node_add(c, r);
	}
	return c;
}

static struct node *parse_math1(struct parser *p)
{
	struct node *l = parse_concat(p);
	while (l && (is_op(p, "+") || is_op(p, "-"))) {
		const char *op = cur(p)->s;
		int pos = cur(p)->pos;
		p->i++;
		struct node *r = parse_concat(p);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = binop(op, pos, l, r);
	}
	return l;
}

static const char *compare_op(struct parser *p, int *width)
{
	static const char *const cmp[] = {"==", "!=", ">=", "<=", ">", "<", NULL};
	*width = 1;
	if (cur(p)->kind == T_OP)
		for (int i = 0; cmp[i]; i++)
			if (!strcmp(cur(p)->s, cmp[i]))
				return cmp[i];
	if (is_name(p, "in"))
		return "in";
	if (is_name(p, "not") && peek_at(p, 1)->kind == T_NAME && !strcmp(peek_at(p, 1)->s, "in")) {
		*width = 2;
		return "ni"; /* not in */
	}
	return NULL;
}

static struct node *parse_compare(struct parser *p)
{
	struct node *l = parse_math1(p);
	if (!l)
		return NULL;
	int width;
	const char *op = compare_op(p, &width);
	if (!op)
		return l;
	struct node *c = node_new(N_COMPARE, l->pos);
	c->a = l;
	while ((op = compare_op(p, &width))) {
		int pos = cur(p)->pos;
		p->i += width;
		struct node *r = parse_math1(p);
		if (!r) {
			node_free(c);
			return NULL;
		}
		struct node *o = node_new(N_BINOP, pos);
		snprintf(o->op, sizeof(o->op), "%s", op);
		o->a = r;
		node_add(c, o);
	}
	return c;
}

static struct node *parse_not(struct parser *p)
{
	if (is_name(p, "not") && p->depth >= MAX_NESTING) {
		fail(p, "%s", "expression nested too deeply");
		return NULL;
	}
	if (is_name(p, "not")) {
		int pos = cur(p)->pos;
		p->i++;
		p->depth++;
		struct node *e = parse_not(p);
		p->depth--;
		if (!e)
			return NULL;
		struct node *n = node_new(N_NOT, pos);
		n->a = e;
		return n;
	}
	return parse_compare(p);
}

static struct node *parse_logic(struct parser *p, int is_or)
{
	struct node *l = is_or ? parse_logic(p, 0) : parse_not(p);
	while (l && is_name(p, is_or ? "or" : "and")) {
		int pos = cur(p)->pos;
		p->i++;
		struct node *r = is_or ? parse_logic(p, 0) : parse_not(p);
		if (!r) {
			node_free(l);
			return NULL;
		}
		struct node *n = node_new(is_or ? N_OR : N_AND, pos);
		n->a = l;
		n->b = r;
		l = n;
	}
	return l;
}

static struct node *parse_expr_nested(struct parser *p, int with_condexpr);

static struct node *parse_expr(struct parser *p, int with_condexpr)
{
	if (p->depth >= MAX_NESTING) {
		fail(p, "%s", "expression nested too deeply");
		return NULL;
	}
	p->depth++;
	struct node *e = parse_expr_nested(p, with_condexpr);
	p->depth--;
	return e;
}

static struct node *parse_expr_nested(struct parser *p, int with_condexpr)
{
	struct node *e = parse_logic(p, 1);
	while (e && with_condexpr && is_name(p, "if")) {
		int pos = cur(p)->pos;
		p->i++;
		struct node *c = node_new(N_COND, pos);
		c->a = e;
		c->b = parse_logic(p, 1);
		if (c->b && is_name(p, "else")) {
			p->i++;
			c->c = parse_expr(p, 1);
			if (!c->c) {
				node_free(c);
				return NULL;
			}
		}
		if (!c->b) {
			node_free(c);
			return NULL;
		}
		e = c;
	}
	return e;
}

/* ---- statements ---- */

static struct node *parse_body(struct parser *p, const char *const *ends);

static int expect_block_end(struct parser *p)
{
	if (cur(p)->kind == T_BLOCK_END) {
		p->i++;
		return 0;
	}
	return fail(p, "expected end of statement block, got '%s'", tok_desc(cur(p)));
}

static struct node *parse_if(struct parser *p, int pos)
{
	static const char *const ends[] = {"elif", "else", "endif", NULL};
	struct node *n = node_new(S_IF, pos);
	n->a = parse_tuple(p, 0, 0);
	if (!n->a || expect_block_end(p) < 0 || !(n->b = parse_body(p, ends)))
		goto fail;
	/* parse_body stopped on the end tag name; cur is that name */
	if (is_name(p, "elif")) {
		int epos = cur(p)->pos;
		p->i++;
		if (p->depth >= MAX_NESTING) {
			fail(p, "%s", "too many elif branches");
			goto fail;
		}
		p->depth++;
		n->c = parse_if(p, epos);
		p->depth--;
		if (!n->c)
			goto fail;
		return n;
	}
	if (is_name(p, "else")) {
		static const char *const ends2[] = {"endif", NULL};
		p->i++;
		if (expect_block_end(p) < 0 || !(n->c = parse_body(p, ends2)))
			goto fail;
	}
	p->i++; /* endif */
	if (expect_block_end(p) < 0)
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static int uses_name(const struct node *n, const char *name)
{
	if (!n)
		return 0;
	if (n->kind == N_NAME && !strcmp(n->name, name))
		return 1;
	if (uses_name(n->a, name) || uses_name(n->b, name) || uses_name(n->c, name) ||
	    uses_name(n->d, name))
		return 1;
	for (int i = 0; i < n->nkids; i++)
		if (uses_name(n->kids[i], name))
			return 1;
	for (int i = 0; i < n->nkw; i++)
		if (uses_name(n->kw[i], name))
			return 1;
	return 0;
}

static struct node *parse_for(struct parser *p, int pos)
{
	static const char *const ends[] = {"else", "endfor", NULL};
	static const char *const ends2[] = {"endfor", NULL};
	struct node *n = node_new(S_FOR, pos);
	n->a = parse_tuple(p, 1, 0);
	if (!n->a)
		goto fail;
	if (!is_name(p, "in")) {
		fail(p, "expected 'in', got '%s'", tok_desc(cur(p)));
		goto fail;
	}
	p->i++;
	n->b = parse_tuple(p, 0, 0);
	if (!n->b)
		goto fail;
	if (is_name(p, "if")) {
		p->i++;
		n->d = parse_expr(p, 1);
		if (!n->d)
			goto fail;
	}
	if (is_name(p, "recursive")) {
		fail(p, "%s", "recursive loops are not supported by drover");
		goto fail;
	}
	if (expect_block_end(p) < 0)
		goto fail;
	struct node *body = parse_body(p, ends);
	if (!body)
		goto fail;
	node_add(n, body);
	n->negate = uses_name(body, "loop"); /* build loop.* only when asked for */
	if (is_name(p, "else")) {
		p->i++;
		if (expect_block_end(p) < 0 || !(n->c = parse_body(p, ends2)))
			goto fail;
	}
	p->i++;
	if (expect_block_end(p) < 0)
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *parse_set(struct parser *p, int pos)
{
	static const char *const ends[] = {"endset", NULL};
	struct node *target = parse_tuple(p, 1, 0);
	if (!target)
		return NULL;
	if (target->kind == N_NAME && is_op(p, ".") && peek_at(p, 1)->kind == T_NAME) {
		/* {% set ns.attr = value %} on a namespace() */
		struct node *g = node_new(N_GETATTR, target->pos);
		g->a = target;
		g->name = xstrdup(peek_at(p, 1)->s);
		p->i += 2;
		target = g;
	}
	if (accept_op(p, "=")) {
		struct node *n = node_new(S_SET, pos);
		n->a = target;
		n->b = parse_tuple(p, 0, 1);
		if (!n->b || expect_block_end(p) < 0) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	struct node *n = node_new(S_SETBLOCK, pos);
	n->a = target;
	/* {% set x | filter %}...{% endset %}: filters apply to the body */
	struct node *chain = node_new(N_NAME, pos);
	chain->name = xstrdup("\x01body");
	while (chain && accept_op(p, "|"))
		chain = parse_filter(p, chain);
	if (!chain || expect_block_end(p) < 0 || !(n->c = parse_body(p, ends))) {
		node_free(chain);
		node_free(n);
		return NULL;
	}
	n->b = chain;
	p->i++;
	if (expect_block_end(p) < 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* {% macro name(a, b=default) %}body{% endmacro %}: kids are the parameter
 * names (N_NAME), kw their defaults, c the body. */
static struct node *parse_macro(struct parser *p, int pos)
{
	static const char *const ends[] = {"endmacro", NULL};
	struct node *n = node_new(S_MACRO, pos);
	if (cur(p)->kind != T_NAME) {
		fail(p, "%s", "expected the macro's name");
		goto fail;
	}
	n->name = xstrdup(cur(p)->s);
	p->i++;
	if (expect_op(p, "(") < 0)
		goto fail;
	while (!accept_op(p, ")")) {
		if ((n->nkids || n->nkw) && expect_op(p, ",") < 0)
			goto fail;
		if (cur(p)->kind != T_NAME) {
			fail(p, "%s", "expected a parameter name");
			goto fail;
		}
		struct node *arg = node_new(N_NAME, cur(p)->pos);
		arg->name = xstrdup(cur(p)->s);
		p->i++;
		if (accept_op(p, "=")) {
			struct node *d = parse_expr(p, 1);
			if (!d) {
				node_free(arg);
				goto fail;
			}
			node_add_kw(n, arg->name, d);
			node_free(arg);
		} else if (n->nkw) {
			node_free(arg);
			fail(p, "%s", "non-default argument follows default argument");
			goto fail;
		} else {
			node_add(n, arg);
		}
	}
	if (expect_block_end(p) < 0 || !(n->c = parse_body(p, ends)))
		goto fail;
	p->i++;
	if (expect_block_end(p) < 0)
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

/* {% include "file" [ignore missing] [with context|without context] %} */
static struct node *parse_include(struct parser *p, int pos)
{
	struct node *n = node_new(S_INCLUDE, pos);
	n->a = parse_expr(p, 1);
	if (!n->a)
		goto fail;
	if (is_name(p, "ignore") && peek_at(p, 1)->kind == T_NAME &&
	    !strcmp(peek_at(p, 1)->s, "missing")) {
		n->negate = 1;
		p->i += 2;
	}
	if ((is_name(p, "with") || is_name(p, "without")) && peek_at(p, 1)->kind == T_NAME &&
	    !strcmp(peek_at(p, 1)->s, "context"))
		p->i += 2;
	if (expect_block_end(p) < 0)
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *parse_statement_nested(struct parser *p, struct token *t);

static struct node *parse_statement(struct parser *p)
{
	struct token *t = cur(p);
	if (t->kind != T_NAME) {
		fail(p, "tag name expected, got '%s'", tok_desc(t));
		return NULL;
	}
	p->i++;
	if (p->depth >= MAX_NESTING) {
		fail(p, "%s", "statements nested too deeply");
		return NULL;
	}
	p->depth++;
	struct node *n = parse_statement_nested(p, t);
	p->depth--;
	return n;
}

static struct node *parse_statement_nested(struct parser *p, struct token *t)
{
	if (!strcmp(t->s, "if"))
		return parse_if(p, t->pos);
	if (!strcmp(t->s, "for"))
		return parse_for(p, t->pos);
	if (!strcmp(t->s, "set"))
		return parse_set(p, t->pos);
	if (!strcmp(t->s, "include"))
		return parse_include(p, t->pos);
	if (!strcmp(t->s, "macro"))
		return parse_macro(p, t->pos);
	p->i--;
	fail(p, "Encountered unknown tag '%s'.", t->s);
	return NULL;
}

static int is_end_tag(struct parser *p, const char *const *ends)
{
	if (!ends || cur(p)->kind != T_NAME)
		return 0;
	for (int i = 0; ends[i]; i++)
		if (!strcmp(cur(p)->s, ends[i]))
			return 1;
	return 0;
}

/* Nodes until one of the end tags (left as the current token) or EOF. */
static struct node *parse_body(struct parser *p, const char *const *ends)
{
	struct node *body = node_new(S_BODY, cur(p)->pos);
	for (;;) {
		struct token *t = cur(p);
		struct node *n = NULL;
		if (t->kind == T_EOF) {
			if (ends) {
				char m[256];
				int k = snprintf(m, sizeof(m),
				                 "Unexpected end of template. Jinja was "
				                 "looking for the following tags:");
				for (int i = 0; ends[i] && k < 200; i++)
					k += snprintf(m + k, sizeof(m) - (size_t)k, "%s '%s'",
					              i ? " or" : "", ends[i]);
				fail(p, "%s.", m);
				goto fail;
			}
			return body;
		}
		if (t->kind == T_DATA) {
			n = node_new(S_DATA, t->pos);
			n->val = tstr(t->s, t->len);
			p->i++;
		} else if (t->kind == T_VAR_BEGIN) {
			p->i++;
			n = node_new(S_OUTPUT, t->pos);
			n->a = parse_tuple(p, 0, 1);
			if (!n->a)
				goto fail_n;
			if (cur(p)->kind != T_VAR_END) {
				fail(p, "expected token 'end of print statement', got '%s'",
				     tok_desc(cur(p)));
				goto fail_n;
			}
			p->i++;
		} else if (t->kind == T_BLOCK_BEGIN) {
			p->i++;
			if (is_end_tag(p, ends))
				return body;
			n = parse_statement(p);
			if (!n)
				goto fail;
		} else {
			fail(p, "unexpected '%s'", tok_desc(t));
			goto fail;
		}
		node_add(body, n);
		continue;
	fail_n:
		node_free(n);
		goto fail;
	}
fail:
	node_free(body);
	return NULL;
}

/* Is the tree taller than limit? Evaluation recurses once per level, so a
 * chain like a/b/c/... thousands long would exhaust the stack. */
static int too_tall(const struct node *n, int limit)
{
	for (; n; n = n->a, limit--) {
		if (limit <= 0)
			return 1;
		if (too_tall(n->b, limit - 1) || too_tall(n->c, limit - 1) ||
		    too_tall(n->d, limit - 1))
			return 1;
		for (int i = 0; i < n->nkids; i++)
			if (too_tall(n->kids[i], limit - 1))
				return 1;
		for (int i = 0; i < n->nkw; i++)
			if (too_tall(n->kw[i], limit - 1))
				return 1;
	}
	return 0;
}

#define MAX_HEIGHT 400

static struct node *check_height(struct node *root, int *errpos, char *msg, size_t msgsize)
{
	if (root && too_tall(root, MAX_HEIGHT)) {
		*errpos = root->pos;
		snprintf(msg, msgsize, "expression too complex (nested over %d levels)",
		         MAX_HEIGHT);
		node_free(root);
		return NULL;
	}
	return root;
}

struct node *parse_template(const char *text, int flags, int *errpos, char *msg, size_t msgsize)
{
	struct parser p = {{0}, 0, 0, msg, msgsize, 0, 0};
	struct node *root = NULL;
	if (lex_template(text, flags, &p.toks, errpos, msg, msgsize) < 0)
		goto out;
	root = parse_body(&p, NULL);
	if (!root)
		*errpos = p.errpos;
	else
		root = check_height(root, errpos, msg, msgsize);
out:
	toklist_release(&p.toks);
	return root;
}

struct node *parse_expression(const char *text, int *errpos, char *msg, size_t msgsize)
{
	struct parser p = {{0}, 0, 0, msg, msgsize, 0, 0};
	struct node *root = NULL;
	if (lex_expr(text, &p.toks, errpos, msg, msgsize) < 0)
		goto out;
	root = parse_tuple(&p, 0, 1);
	if (root && cur(&p)->kind != T_EOF) {
		fail(&p, "unexpected '%s'", tok_desc(cur(&p)));
		node_free(root);
		root = NULL;
	}
	if (!root)
		*errpos = p.errpos;
	else
		root = check_height(root, errpos, msg, msgsize);
out:
	toklist_release(&p.toks);
	return root;
}
