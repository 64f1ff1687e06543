/*
 * The Jinja2 lexer as Ansible configures it: {{ }}, {% %}, {# #}, the `-`
 * whitespace-control markers, trim_blocks (the newline after a block or
 * comment tag goes), no lstrip_blocks, one trailing newline of the source
 * dropped (keep_trailing_newline off; Templar puts it back), {% raw %}.
 *
 * Ansible doubles every backslash inside string literals within {{ }}
 * before Jinja sees them (_escape_backslashes), so there a literal's text
 * is taken as written; in {% %} the usual Python escapes apply.
 */
#include "template/tmpl_int.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	const char *s;
	size_t n, i;
	struct toklist *out;
	int raw_var_strings;
	int errpos;
	char *msg;
	size_t msgsize;
};

static int lex_fail(struct lexer *lx, size_t pos, const char *msg)
{
	lx->errpos = (int)pos;
	snprintf(lx->msg, lx->msgsize, "%s", msg);
	return -1;
}

static struct token *push(struct lexer *lx, int kind, size_t pos)
{
	struct toklist *l = lx->out;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	struct token *t = &l->v[l->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->pos = (int)pos;
	return t;
}

void toklist_release(struct toklist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i].s);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Data text with \r\n and \r turned into \n, as Jinja normalises it. */
static void push_data(struct lexer *lx, size_t pos, const char *p, size_t len)
{
	if (len == 0)
		return;
	struct token *t = push(lx, T_DATA, pos);
	char *d = xmalloc(len + 1);
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r') {
			d[k++] = '\n';
			if (i + 1 < len && p[i + 1] == '\n')
				i++;
		} else {
			d[k++] = p[i];
		}
	}
	d[k] = '\0';
	t->s = d;
	t->len = k;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void put_utf8(struct buf *b, unsigned long c)
{
	if (c < 0x80) {
		buf_addc(b, (char)c);
	} else if (c < 0x800) {
		buf_addc(b, (char)(0xC0 | (c >> 6)));
		buf_addc(b, (char)(0x80 | (c & 63)));
	} else if (c < 0x10000) {
		buf_addc(b, (char)(0xE0 | (c >> 12)));
		buf_addc(b, (char)(0x80 | ((c >> 6) & 63)));
		buf_addc(b, (char)(0x80 | (c & 63)));
	} else {
		buf_addc(b, (char)(0xF0 | (c >> 18)));
		buf_addc(b, (char)(0x80 | ((c >> 12) & 63)));
		buf_addc(b, (char)(0x80 | ((c >> 6) & 63)));
		buf_addc(b, (char)(0x80 | (c & 63)));
	}
}

/* Python's unicode-escape decoding of a literal's body. */
static void unescape(const char *p, size_t len, struct buf *b)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\\' || i + 1 >= len) {
			buf_addc(b, p[i]);
			continue;
		}
		char c = p[++i];
		int digits = 0;
		switch (c) {
		case 'n':
			buf_addc(b, '\n');
			break;
		case 't':
			buf_addc(b, '\t');
			break;
		case 'r':
			buf_addc(b, '\r');
			break;
		case 'a':
			buf_addc(b, '\a');
			break;
		case 'b':
			buf_addc(b, '\b');
			break;
		case 'f':
			buf_addc(b, '\f');
			break;
		case 'v':
			buf_addc(b, '\v');
			break;
		case '\\':
			buf_addc(b, '\\');
			break;
		case '\'':
			buf_addc(b, '\'');
			break;
		case '"':
			buf_addc(b, '"');
			break;
		case '\n':
			break;
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		default:
			if (c >= '0' && c <= '7') {
				unsigned long v = 0;
				int k = 0;
				for (; k < 3 && i < len && p[i] >= '0' && p[i] <= '7'; k++, i++)
					v = v * 8 + (unsigned long)(p[i] - '0');
				i--;
				put_utf8(b, v);
			} else {
				buf_addc(b, '\\');
				buf_addc(b, c);
			}
		}
		if (digits) {
			unsigned long v = 0;
			int k;
			for (k = 0; k < digits && i + 1 < len && hexval(p[i + 1]) >= 0; k++, i++)
				v = v * 16 + (unsigned long)hexval(p[i + 1]);
			if (k < digits) {
				buf_addc(b, '\\');
				buf_addc(b, c);
				i -= (size_t)k;
			} else {
				put_utf8(b, v);
			}
		}
	}
}

static int lex_string(struct lexer *lx, int raw)
{
	size_t start = lx->i;
	char q = lx->s[lx->i++];
	/* raw: Ansible doubled the backslashes, so none escapes the quote */
	while (lx->i < lx->n && lx->s[lx->i] != q) {
		if (lx->s[lx->i] == '\\' && !raw)
			lx->i++;
		lx->i++;
	}
	if (lx->i >= lx->n)
		return lex_fail(lx, start, "unexpected end of string literal");
	struct buf b = BUF_INIT;
	const char *body = lx->s + start + 1;
	size_t blen = lx->i - start - 1;
	if (raw)
		buf_add(&b, body, blen);
	else
		unescape(body, blen, &b);
	buf_add(&b, "", 0); /* allocates and NUL-terminates */
	lx->i++;
	struct token *t = push(lx, T_STRING, start);
	t->len = b.len;
	t->s = buf_detach(&b);
	return 0;
}

static size_t digits_run(const char *s, size_t i, size_t n, int (*ok)(int))
{
	/* digits with single underscores between them */
	while (i < n && (ok((unsigned char)s[i]) ||
	                 (s[i] == '_' && i + 1 < n && ok((unsigned char)s[i + 1]) && i > 0 &&
	                  ok((unsigned char)s[i - 1]))))
		i++;
	return i;
}

static int lex_number(struct lexer *lx)
{
	const char *s = lx->s;
	size_t start = lx->i, i = lx->i, n = lx->n;
	int after_dot = start > 0 && s[start - 1] == '.';
	int base = 10;
	if (s[i] == '0' && i + 1 < n && strchr("bBoOxX", s[i + 1]) && s[i + 1]) {
		char c = (char)tolower(s[i + 1]);
		base = c == 'b' ? 2 : c == 'o' ? 8 : 16;
		i = digits_run(s, i + 2, n, base == 16 ? isxdigit : isdigit);
	} else {
		i = digits_run(s, i, n, isdigit);
	}
	int is_float = 0;
	if (base == 10 && !after_dot) {
		size_t j = i;
		if (j + 1 < n && s[j] == '.' && isdigit((unsigned char)s[j + 1])) {
			j = digits_run(s, j + 1, n, isdigit);
			is_float = 1;
		}
		if (j < n && (s[j] == 'e' || s[j] == 'E')) {
			size_t k = j + 1;
			if (k < n && (s[k] == '+' || s[k] == '-'))
				k++;
			if (k < n && isdigit((unsigned char)s[k])) {
				j = digits_run(s, k, n, isdigit);
				is_float = 1;
			}
		}
		if (is_float)
			i = j;
	}
	char *txt = xmalloc(i - start + 1);
	size_t k = 0;
	for (size_t p = start; p < i; p++)
		if (s[p] != '_')
			txt[k++] = s[p];
	txt[k] = '\0';
	long long iv = 0;
	if (!is_float) {
		errno = 0;
		iv = strtoll(base == 10 ? txt : txt + 2, NULL, base);
		/* beyond 64 bits: a float, where Python would keep a big int */
		is_float = errno == ERANGE && base == 10;
	}
	struct token *t = push(lx, is_float ? T_FLOAT : T_INT, start);
	if (is_float)
		t->fval = strtod(txt, NULL);
	else
		t->ival = iv;
	t->s = txt;
	lx->i = i;
	return 0;
}

static const char *const ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "*",
                                  "/",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                  ">",  "<",  "=",  ".",  ":",  "|",  ",", ";", NULL};

/*
 * Tokens of one tag's body, up to the end marker `end` ("}}" or "%}") at
 * bracket depth 0, or to the end of the text when end is NULL.
 */
static int lex_tokens(struct lexer *lx, const char *end, int raw_strings)
{
	int depth = 0;
	while (lx->i < lx->n) {
		const char *s = lx->s + lx->i;
		char c = *s;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			lx->i++;
			continue;
		}
		if (end && depth == 0) {
			size_t el = strlen(end);
			if (c == '-' && !strncmp(s + 1, end, el))
				return 0;
			if (!strncmp(s, end, el))
				return 0;
		}
		if (c == '\'' || c == '"') {
			if (lex_string(lx, raw_strings) < 0)
				return -1;
			continue;
		}
		if (isdigit((unsigned char)c)) {
			lex_number(lx);
			continue;
		}
		if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
			size_t st = lx->i;
			while (lx->i < lx->n &&
			       (isalnum((unsigned char)lx->s[lx->i]) || lx->s[lx->i] == '_' ||
			        (unsigned char)lx->s[lx->i] >= 0x80))
				lx->i++;
			struct token *t = push(lx, T_NAME, st);
			t->s = xstrndup(lx->s + st, lx->i - st);
			t->len = lx->i - st;
			continue;
		}
		int k;
		for (k = 0; ops[k]; k++)
			if (!strncmp(s, ops[k], strlen(ops[k])))
				break;
		if (!ops[k]) {
			char m[64];
			snprintf(m, sizeof(m), "unexpected char '%c'", c);
			return lex_fail(lx, lx->i, m);
		}
		if (strchr("([{", c))
			depth++;
		else if (strchr(")]}", c)) {
			if (depth == 0)
				return lex_fail(lx, lx->i, "unexpected closing bracket");
			depth--;
		}
		struct token *t = push(lx, T_OP, lx->i);
		t->s = xstrdup(ops[k]);
		t->len = strlen(ops[k]);
		lx->i += t->len;
	}
	if (end)
		return lex_fail(
		    lx, lx->n,
		    strcmp(end, "}}")
		        ? "unexpected end of template, expected end of block statement ('%}')"
		        : "unexpected end of template, expected end of print statement ('}}')");
	return 0;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* After a tag's end marker: `-` strips all whitespace, trim_blocks one newline. */
static void after_tag(struct lexer *lx, int minus, int trim)
{
	if (minus) {
		lx->i = skip_ws(lx->s, lx->i, lx->n);
	} else if (trim) {
		if (lx->i < lx->n && lx->s[lx->i] == '\n')
			lx->i++;
		else if (lx->i + 1 < lx->n && lx->s[lx->i] == '\r' && lx->s[lx->i + 1] == '\n')
			lx->i += 2;
		else if (lx->i < lx->n && lx->s[lx->i] == '\r')
			lx->i++;
	}
}

/* Is there `{% raw %}` (with optional -) at i? Sets *endtag past it. */
static int match_word_tag(const char *s, size_t i, size_t n, const char *word, size_t *after,
                          int *lminus, int *rminus)
{
	if (i + 2 > n || s[i] != '{' || s[i + 1] != '%')
		return 0;
	size_t j = i + 2;
	*lminus = j < n && s[j] == '-';
	if (*lminus || (j < n && s[j] == '+'))
		j++;
	j = skip_ws(s, j, n);
	size_t wl = strlen(word);
	if (j + wl > n || strncmp(s + j, word, wl))
		return 0;
	j = skip_ws(s, j + wl, n);
	*rminus = j < n && s[j] == '-';
	if (*rminus)
		j++;
	if (j + 2 > n || s[j] != '%' || s[j + 1] != '}')
		return 0;
	*after = j + 2;
	return 1;
}

static size_t rstrip_len(const char *p, size_t len)
{
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	return len;
}

/* lstrip_blocks: spaces and tabs between a line's start and a block tag go */
static size_t lstrip_line(const char *text, size_t start, size_t len)
{
	size_t k = len;
	while (k > 0 && (text[start + k - 1] == ' ' || text[start + k - 1] == '\t'))
		k--;
	size_t at = start + k;
	if (at == 0 || text[at - 1] == '\n')
		return k;
	return len;
}

static int lex_raw(struct lexer *lx, size_t data_start, int trim)
{
	size_t after;
	int lm, rm;
	for (size_t j = lx->i; j < lx->n; j++) {
		if (match_word_tag(lx->s, j, lx->n, "endraw", &after, &lm, &rm)) {
			size_t len = j - lx->i;
			if (lm)
				len = rstrip_len(lx->s + lx->i, len);
			push_data(lx, lx->i, lx->s + lx->i, len);
			lx->i = after;
			after_tag(lx, rm, trim);
			return 0;
		}
	}
	return lex_fail(lx, data_start, "missing end of raw directive");
}

static int lex_tag(struct lexer *lx, int trim)
{
	const char *s = lx->s;
	size_t tag = lx->i;
	char kind = s[tag + 1];
	size_t after;
	int lm, rm;
	if (kind == '%' && match_word_tag(s, tag, lx->n, "raw", &after, &lm, &rm)) {
		lx->i = after;
		after_tag(lx, rm, 0); /* Jinja: no trim_blocks after {% raw %} */
		return lex_raw(lx, tag, trim);
	}
	lx->i = tag + 2;
	if (lx->i < lx->n && (s[lx->i] == '-' || s[lx->i] == '+'))
		lx->i++;
	if (kind == '#') {
		const char *end = strstr(s + lx->i, "#}");
		if (!end)
			return lex_fail(lx, tag, "missing end of comment tag");
		size_t e = (size_t)(end - s);
		lx->i = e + 2;
		after_tag(lx, e > 0 && s[e - 1] == '-', trim);
		return 0;
	}
	push(lx, kind == '{' ? T_VAR_BEGIN : T_BLOCK_BEGIN, tag);
	const char *endm = kind == '{' ? "}}" : "%}";
	if (lex_tokens(lx, endm, kind == '{' && lx->raw_var_strings) < 0)
		return -1;
	int minus = s[lx->i] == '-';
	push(lx, kind == '{' ? T_VAR_END : T_BLOCK_END, lx->i);
	lx->i += minus + 2;
	after_tag(lx, minus, kind == '%' && trim);
	return 0;
}

int lex_template(const char *text, int flags, struct toklist *out, int *errpos, char *msg,
                 size_t msgsize)
{
	struct lexer lx = {text, strlen(text), 0, out, 0, 0, msg, msgsize};
	int trim_blocks = flags & LEX_TRIM_BLOCKS;
	lx.raw_var_strings =
	    !(flags & LEX_RAW_BACKSLASHES) && strchr(text, '\\') && strstr(text, "{{");
	/* keep_trailing_newline=False: one trailing newline of the source goes */
	if (lx.n && text[lx.n - 1] == '\n')
		lx.n -= (lx.n > 1 && text[lx.n - 2] == '\r') ? 2 : 1;
	else if (lx.n && text[lx.n - 1] == '\r')
		lx.n--;
	while (lx.i < lx.n) {
		size_t start = lx.i, j = lx.i;
		while (j + 1 < lx.n &&
		       !(text[j] == '{' &&
		         (text[j + 1] == '{' || text[j + 1] == '%' || text[j + 1] == '#')))
			j++;
		if (j + 1 >= lx.n) {
			push_data(&lx, start, text + start, lx.n - start);
			break;
		}
		size_t len = j - start;
		if (j + 2 < lx.n && text[j + 2] == '-')
			len = rstrip_len(text + start, len);
		else if ((flags & LEX_LSTRIP_BLOCKS) && text[j + 1] != '{' &&
		         !(j + 2 < lx.n && text[j + 2] == '+'))
			len = lstrip_line(text, start, len);
		push_data(&lx, start, text + start, len);
		lx.i = j;
		if (lex_tag(&lx, trim_blocks) < 0) {
			*errpos = lx.errpos;
			return -1;
		}
	}
	push(&lx, T_EOF, lx.n);
	return 0;
}

int lex_expr(const char *text, struct toklist *out, int *errpos, char *msg, size_t msgsize)
{
	struct lexer lx = {text, strlen(text), 0, out, 0, 0, msg, msgsize};
	if (lex_tokens(&lx, NULL, 0) < 0) {
		*errpos = lx.errpos;
		return -1;
	}
	push(&lx, T_EOF, lx.n);
	return 0;
}
