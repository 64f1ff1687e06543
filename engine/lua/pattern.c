/*
 * pattern.c - string.find, match, gmatch and gsub for the sandbox, with
 * Lua 5.4's pattern semantics and one difference: matching counts its steps
 * against the call's instruction budget and time limit.
 *
 * Lua's own matcher runs inside one C call, where the count hook never
 * fires, and backtracks: ("a"):rep(3000):find(".-.-.-b") runs for hours.
 * A hook that does that by mistake must not block the run, so the sandbox
 * replaces these four functions. Plain finds go to Lua's own string.find.
 */
#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#include "lua/sandbox.h"

#define MAXCAPS        32
#define MAXDEPTH       200
#define CAP_UNFINISHED (-1)
#define CAP_POSITION   (-2)
#define SPECIALS       "^$*+?.([%-"
#define STEP_CHUNK     1024

struct ms {
	const char *src_init, *src_end, *p_end;
	lua_State *L;
	int level, depth;
	unsigned steps;
	struct {
		const char *init;
		ptrdiff_t len;
	} cap[MAXCAPS];
};

static const char *do_match(struct ms *ms, const char *s, const char *p);

static void step(struct ms *ms)
{
	if ((++ms->steps % STEP_CHUNK) == 0)
		sandbox_charge(ms->L, STEP_CHUNK);
}

static const char *class_end(struct ms *ms, const char *p)
{
	char c = *p++;
	if (c == '%') {
		if (p == ms->p_end)
			luaL_error(ms->L, "malformed pattern (ends with '%%')");
		return p + 1;
	}
	if (c == '[') {
		if (*p == '^')
			p++;
		do { /* the first char after [ or [^ may be ']' */
			if (p == ms->p_end)
				luaL_error(ms->L, "malformed pattern (missing ']')");
			if (*(p++) == '%' && p < ms->p_end)
				p++;
		} while (*p != ']');
		return p + 1;
	}
	return p;
}

static int match_class(int c, int cl)
{
	int res;
	switch (tolower(cl)) {
	case 'a':
		res = isalpha(c);
		break;
	case 'c':
		res = iscntrl(c);
		break;
	case 'd':
		res = isdigit(c);
		break;
	case 'g':
		res = isgraph(c);
		break;
	case 'l':
		res = islower(c);
		break;
	case 'p':
		res = ispunct(c);
		break;
	case 's':
		res = isspace(c);
		break;
	case 'u':
		res = isupper(c);
		break;
	case 'w':
		res = isalnum(c);
		break;
	case 'x':
		res = isxdigit(c);
		break;
	case 'z': /* deprecated, as in Lua 5.4 */
		res = c == 0;
		break;
	default:
		return cl == c;
	}
	if (isupper(cl))
		res = !res;
	return res != 0;
}

/* p at '[', ec at the closing ']'. */
static int match_bracket(int c, const char *p, const char *ec)
{
	int sig = 1;
	p++;
	if (*p == '^') {
		sig = 0;
		p++;
	}
	while (p < ec) {
		if (*p == '%' && p + 1 < ec) {
			if (match_class(c, (unsigned char)p[1]))
				return sig;
			p += 2;
		} else if (p[1] == '-' && p + 2 < ec) {
			if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
				return sig;
			p += 3;
		} else {
			if ((unsigned char)*p == c)
				return sig;
			p++;
		}
	}
	return !sig;
}

static int single_match(struct ms *ms, const char *s, const char *p, const char *ep)
{
	int c;
	if (s >= ms->src_end)
		return 0;
	c = (unsigned char)*s;
	switch (*p) {
	case '.':
		return 1;
	case '%':
		return match_class(c, (unsigned char)p[1]);
	case '[':
		return match_bracket(c, p, ep - 1);
	default:
		return (unsigned char)*p == c;
	}
}

static const char *match_balance(struct ms *ms, const char *s, const char *p)
{
	int open, close, cont = 1;
	if (p >= ms->p_end - 1)
		luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
	if (s >= ms->src_end || *s != *p)
		return NULL;
	open = *p;
	close = p[1];
	while (++s < ms->src_end) {
		step(ms);
		if (*s == close) {
			if (--cont == 0)
				return s + 1;
		} else if (*s == open) {
			cont++;
		}
	}
	return NULL;
}

static const char *max_expand(struct ms *ms, const char *s, const char *p, const char *ep)
{
	ptrdiff_t i = 0;
	while (single_match(ms, s + i, p, ep)) {
		step(ms);
		i++;
	}
	for (; i >= 0; i--) {
		const char *res = do_match(ms, s + i, ep + 1);
		if (res)
			return res;
	}
	return NULL;
}

static const char *min_expand(struct ms *ms, const char *s, const char *p, const char *ep)
{
	for (;;) {
		const char *res = do_match(ms, s, ep + 1);
		if (res)
			return res;
		if (!single_match(ms, s, p, ep))
			return NULL;
		s++;
	}
}

static const char *start_capture(struct ms *ms, const char *s, const char *p, int what)
{
	const char *res;
	if (ms->level >= MAXCAPS)
		luaL_error(ms->L, "too many captures");
	ms->cap[ms->level].init = s;
	ms->cap[ms->level].len = what;
	ms->level++;
	if (!(res = do_match(ms, s, p)))
		ms->level--;
	return res;
}

static const char *end_capture(struct ms *ms, const char *s, const char *p)
{
	int l = ms->level - 1;
	const char *res;
	while (l >= 0 && ms->cap[l].len != CAP_UNFINISHED)
		l--;
	if (l < 0)
		luaL_error(ms->L, "invalid pattern capture");
	ms->cap[l].len = s - ms->cap[l].init;
	if (!(res = do_match(ms, s, p)))
		ms->cap[l].len = CAP_UNFINISHED;
	return res;
}

static const char *match_capture(struct ms *ms, const char *s, int d)
{
	int l = d - '1';
	ptrdiff_t len;
	if (l < 0 || l >= ms->level || ms->cap[l].len == CAP_UNFINISHED)
		luaL_error(ms->L, "invalid capture index %%%d", l + 1);
	len = ms->cap[l].len;
	if (len >= 0 && ms->src_end - s >= len && memcmp(ms->cap[l].init, s, (size_t)len) == 0)
		return s + len;
	return NULL;
}

/* %f[set]: the frontier where the previous char is not in set and this one is. */
static const char *frontier(struct ms *ms, const char *s, const char **pp)
{
	const char *p = *pp + 2, *ep;
	int prev, cur;
	if (*p != '[')
		luaL_error(ms->L, "missing '[' after '%%f' in pattern");
	ep = class_end(ms, p);
	prev = (s == ms->src_init) ? '\0' : (unsigned char)s[-1];
	cur = (s < ms->src_end) ? (unsigned char)*s : '\0';
	if (!match_bracket(prev, p, ep - 1) && match_bracket(cur, p, ep - 1)) {
		*pp = ep;
		return s;
	}
	return NULL;
}

/* One pattern item with its quantifier; *pp advances when matching goes on
 * in the loop of do_match, else the final answer is returned in *done. */
static const char *match_item(struct ms *ms, const char *s, const char **pp, int *done)
{
	const char *p = *pp, *ep = class_end(ms, p), *res;
	*done = 1;
	if (!single_match(ms, s, p, ep)) {
		if (*ep == '*' || *ep == '?' || *ep == '-') {
			*pp = ep + 1;
			*done = 0;
			return s;
		}
		return NULL;
	}
	switch (*ep) {
	case '?':
		if ((res = do_match(ms, s + 1, ep + 1)))
			return res;
		*pp = ep + 1;
		*done = 0;
		return s;
	case '+':
		return max_expand(ms, s + 1, p, ep);
	case '*':
		return max_expand(ms, s, p, ep);
	case '-':
		return min_expand(ms, s, p, ep);
	default:
		*pp = ep;
		*done = 0;
		return s + 1;
	}
}

static const char *do_match(struct ms *ms, const char *s, const char *p)
{
	int done = 0;
	step(ms);
	if (ms->depth-- == 0)
		luaL_error(ms->L, "pattern too complex");
	while (s && !done && p != ms->p_end) {
		if (*p == '(') {
			s = p[1] == ')' ? start_capture(ms, s, p + 2, CAP_POSITION)
			                : start_capture(ms, s, p + 1, CAP_UNFINISHED);
			done = 1;
		} else if (*p == ')') {
			s = end_capture(ms, s, p + 1);
			done = 1;
		} else if (*p == '$' && p + 1 == ms->p_end) {
			s = s == ms->src_end ? s : NULL;
			done = 1;
		} else if (*p == '%' && p[1] == 'b') {
			if ((s = match_balance(ms, s, p + 2)))
				p += 4;
		} else if (*p == '%' && p[1] == 'f') {
			s = frontier(ms, s, &p);
		} else if (*p == '%' && isdigit((unsigned char)p[1])) {
			if ((s = match_capture(ms, s, (unsigned char)p[1])))
				p += 2;
		} else {
			s = match_item(ms, s, &p, &done);
		}
	}
	ms->depth++;
	return s;
}

static void prepare(struct ms *ms, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
	ms->L = L;
	ms->src_init = s;
	ms->src_end = s + ls;
	ms->p_end = p + lp;
	ms->steps = 0;
}

static void reprep(struct ms *ms)
{
	ms->level = 0;
	ms->depth = MAXDEPTH;
}

static void push_onecapture(struct ms *ms, int i, const char *s, const char *e)
{
	if (i >= ms->level) {
		if (i != 0)
			luaL_error(ms->L, "invalid capture index %%%d", i + 1);
		lua_pushlstring(ms->L, s, (size_t)(e - s));
	} else if (ms->cap[i].len == CAP_UNFINISHED) {
		luaL_error(ms->L, "unfinished capture");
	} else if (ms->cap[i].len == CAP_POSITION) {
		lua_pushinteger(ms->L, (ms->cap[i].init - ms->src_init) + 1);
	} else {
		lua_pushlstring(ms->L, ms->cap[i].init, (size_t)ms->cap[i].len);
	}
}

static int push_captures(struct ms *ms, const char *s, const char *e)
{
	int n = (ms->level == 0 && s) ? 1 : ms->level;
	luaL_checkstack(ms->L, n, "too many captures");
	for (int i = 0; i < n; i++)
		push_onecapture(ms, i, s, e);
	return n;
}

static size_t start_at(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return (size_t)pos;
	if (pos == 0 || pos < -(lua_Integer)len)
		return 1;
	return len + (size_t)pos + 1;
}

static int no_specials(const char *p, size_t lp)
{
	for (size_t i = 0; i < lp; i++)
		if (p[i] && strchr(SPECIALS, p[i]))
			return 0;
	return 1;
}

static int find_aux(lua_State *L, int find)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls), *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
	const char *s1;
	struct ms ms;
	int anchor;
	if (init > ls + 1) {
		lua_pushnil(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
		/* plain: Lua's own find is linear */
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_insert(L, 1);
		lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
		return lua_gettop(L);
	}
	anchor = *p == '^';
	if (anchor) {
		p++;
		lp--;
	}
	prepare(&ms, L, s, ls, p, lp);
	s1 = s + init - 1;
	do {
		const char *e;
		reprep(&ms);
		if ((e = do_match(&ms, s1, p))) {
			if (!find)
				return push_captures(&ms, s1, e);
			lua_pushinteger(L, (s1 - s) + 1);
			lua_pushinteger(L, e - s);
			return push_captures(&ms, NULL, NULL) + 2;
		}
	} while (s1++ < ms.src_end && !anchor);
	lua_pushnil(L);
	return 1;
}

static int sb_find(lua_State *L)
{
	return find_aux(L, 1);
}

static int sb_match(lua_State *L)
{
	return find_aux(L, 0);
}

struct gmatch_state {
	const char *src, *p, *lastmatch;
	int finished; /* init was past the end */
	struct ms ms;
};

static int gmatch_next(lua_State *L)
{
	struct gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
	g->ms.L = L;
	for (; !g->finished && g->src <= g->ms.src_end; g->src++) {
		const char *e;
		reprep(&g->ms);
		if ((e = do_match(&g->ms, g->src, g->p)) && e != g->lastmatch) {
			const char *start = g->src;
			g->src = g->lastmatch = e;
			return push_captures(&g->ms, start, e);
		}
	}
	return 0;
}

static int sb_gmatch(lua_State *L)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls), *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
	struct gmatch_state *g;
	lua_settop(L, 2); /* the strings stay alive as upvalues */
	g = lua_newuserdatauv(L, sizeof(*g), 0);
	g->finished = init > ls + 1;
	if (g->finished)
		init = ls + 1;
	prepare(&g->ms, L, s, ls, p, lp);
	g->src = s + init - 1;
	g->p = p;
	g->lastmatch = NULL;
	lua_pushcclosure(L, gmatch_next, 3);
	return 1;
}

static void add_s(struct ms *ms, luaL_Buffer *b, const char *s, const char *e)
{
	size_t l;
	const char *news = lua_tolstring(ms->L, 3, &l), *end = news + l;
	for (const char *p = news; p < end; p++) {
		if (*p != '%') {
			luaL_addchar(b, *p);
			continue;
		}
		p++;
		if (*p == '%')
			luaL_addchar(b, '%');
		else if (*p == '0')
			luaL_addlstring(b, s, (size_t)(e - s));
		else if (isdigit((unsigned char)*p)) {
			push_onecapture(ms, *p - '1', s, e);
			luaL_tolstring(ms->L, -1, NULL);
			lua_remove(ms->L, -2);
			luaL_addvalue(b);
		} else {
			luaL_error(ms->L, "invalid use of '%%' in replacement string");
		}
	}
}

static void add_value(struct ms *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
	lua_State *L = ms->L;
	if (tr == LUA_TFUNCTION) {
		int n;
		lua_pushvalue(L, 3);
		n = push_captures(ms, s, e);
		lua_call(L, n, 1);
	} else if (tr == LUA_TTABLE) {
		push_onecapture(ms, 0, s, e);
		lua_gettable(L, 3);
	} else {
		add_s(ms, b, s, e);
		return;
	}
	if (!lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s)); /* keep the original text */
	} else if (!lua_isstring(L, -1)) {
		luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
	} else {
		luaL_addvalue(b);
	}
}

static int sb_gsub(lua_State *L)
{
	size_t srcl, lp;
	const char *src = luaL_checklstring(L, 1, &srcl), *p = luaL_checklstring(L, 2, &lp);
	const char *lastmatch = NULL;
	int tr = lua_type(L, 3), anchor = *p == '^';
	lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1), n = 0;
	struct ms ms;
	luaL_Buffer b;
	luaL_argexpected(
	    L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
	    "string/function/table");
	luaL_buffinit(L, &b);
	if (anchor) {
		p++;
		lp--;
	}
	prepare(&ms, L, src, srcl, p, lp);
	while (n < max_s) {
		const char *e;
		reprep(&ms);
		if ((e = do_match(&ms, src, p)) && e != lastmatch) {
			n++;
			add_value(&ms, &b, src, e, tr);
			src = lastmatch = e;
		} else if (src < ms.src_end) {
			luaL_addchar(&b, *src++);
		} else {
			break;
		}
		if (anchor)
			break;
	}
	luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
	luaL_pushresult(&b);
	lua_pushinteger(L, n);
	return 2;
}

void lua_pattern_open(lua_State *L)
{
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "find");
	lua_pushcclosure(L, sb_find, 1);
	lua_setfield(L, -2, "find");
	lua_pushcfunction(L, sb_match);
	lua_setfield(L, -2, "match");
	lua_pushcfunction(L, sb_gmatch);
	lua_setfield(L, -2, "gmatch");
	lua_pushcfunction(L, sb_gsub);
	lua_setfield(L, -2, "gsub");
	lua_pop(L, 1);
}
