/*
 * json.c - Jansson values <-> Lua values, and drover.json.
 *
 * Lua has one table type for JSON's two containers. Decoded arrays and
 * objects carry a marker metatable so they encode back as what they were
 * (an empty array stays []); a plain table encodes as an array when its keys
 * are exactly 1..n (n >= 1), else as an object; an empty plain table is {}.
 * drover.json.array(t) / drover.json.object(t) mark a table explicitly.
 * JSON null is drover.json.null, a unique value that is not nil, so it
 * survives in tables.
 */
#include <lauxlib.h>
#include <math.h>
#include <string.h>

#include "lua/sandbox.h"
#include "util/buf.h"

#define MAX_DEPTH 100

static const char null_key = 'N', array_key = 'A', object_key = 'O';

void lua_json_push_null(lua_State *L)
{
	lua_pushlightuserdata(L, (void *)&null_key);
}

static int is_null(lua_State *L, int idx)
{
	return lua_touserdata(L, idx) == (void *)&null_key;
}

static void set_marker(lua_State *L, const char *key)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushstring(L, key == &array_key ? "array" : "object");
		lua_setfield(L, -2, "__jsontype");
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, key);
	}
	lua_setmetatable(L, -2);
}

static void push_depth(lua_State *L, const json_t *v, int depth)
{
	size_t i;
	const char *k;
	json_t *x;
	luaL_checkstack(L, 4, "JSON nested too deep");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach ((json_t *)v, k, x) {
			push_depth(L, x, depth + 1);
			lua_setfield(L, -2, k);
		}
		set_marker(L, &object_key);
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach (v, i, x) {
			push_depth(L, x, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		set_marker(L, &array_key);
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(v));
		break;
	default:
		lua_json_push_null(L);
		break;
	}
}

void lua_json_push(lua_State *L, const json_t *v)
{
	if (!v)
		lua_pushnil(L);
	else
		push_depth(L, v, 0);
}

/* "array", "object" or NULL from a table's marker metatable. */
static const char *marker(lua_State *L, int idx)
{
	const char *t = NULL;
	if (lua_getmetatable(L, idx)) {
		if (lua_getfield(L, -1, "__jsontype") == LUA_TSTRING)
			t = lua_tostring(L, -1);
		lua_pop(L, 2);
	}
	return t;
}

/* n when the keys are exactly 1..n, else -1. */
static lua_Integer sequence_len(lua_State *L, int idx)
{
	lua_Integer n = 0, max = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
			lua_pop(L, 1);
			return -1;
		}
		if (lua_tointeger(L, -1) > max)
			max = lua_tointeger(L, -1);
		n++;
	}
	return n == max ? n : -1;
}

static json_t *get_depth(lua_State *L, int idx, int depth, const char **why);

static json_t *get_array(lua_State *L, int idx, lua_Integer n, int depth, const char **why)
{
	json_t *a = json_array();
	for (lua_Integer i = 1; i <= n; i++) {
		json_t *x;
		lua_rawgeti(L, idx, i);
		x = lua_isnil(L, -1) ? json_null() : get_depth(L, lua_gettop(L), depth + 1, why);
		lua_pop(L, 1);
		if (!x) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, x);
	}
	return a;
}

static json_t *get_object(lua_State *L, int idx, int depth, const char **why)
{
	json_t *o = json_object();
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		json_t *x;
		const char *k;
		int t = lua_type(L, -2);
		if (t != LUA_TSTRING && t != LUA_TNUMBER) {
			*why = "a table key is neither a string nor a number";
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		x = get_depth(L, lua_gettop(L), depth + 1, why);
		if (!x) {
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		lua_pushvalue(L, -2); /* tostring a copy: lua_next needs the key */
		k = lua_tostring(L, -1);
		json_object_set_new(o, k, x);
		lua_pop(L, 2);
	}
	return o;
}

static json_t *get_table(lua_State *L, int idx, int depth, const char **why)
{
	const char *m;
	lua_Integer n;
	if (depth > MAX_DEPTH) {
		*why = "tables nested too deep (a table that contains itself?)";
		return NULL;
	}
	luaL_checkstack(L, 6, "tables nested too deep");
	if (lua_getmetatable(L, idx)) {
		/* a read-only view: encode what it shows */
		if (lua_getfield(L, -1, "__jsonreal") == LUA_TTABLE) {
			json_t *v = get_table(L, lua_gettop(L), depth + 1, why);
			lua_pop(L, 2);
			return v;
		}
		lua_pop(L, 2);
	}
	m = marker(L, idx);
	if (m && !strcmp(m, "object"))
		return get_object(L, idx, depth, why);
	if (m && !strcmp(m, "array"))
		return get_array(L, idx, (lua_Integer)lua_rawlen(L, idx), depth, why);
	n = sequence_len(L, idx);
	if (n > 0)
		return get_array(L, idx, n, depth, why);
	return get_object(L, idx, depth, why);
}

static json_t *get_depth(lua_State *L, int idx, int depth, const char **why)
{
	size_t len;
	const char *s;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		if (!isfinite(lua_tonumber(L, idx))) {
			*why = "NaN and infinity have no JSON form";
			return NULL;
		}
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		return json_stringn(s, len);
	case LUA_TTABLE:
		return get_table(L, idx, depth, why);
	case LUA_TLIGHTUSERDATA:
		if (is_null(L, idx))
			return json_null();
		/* fall through */
	default:
		*why = lua_type(L, idx) == LUA_TFUNCTION ? "a function has no JSON form"
		                                         : "a value of this type has no JSON form";
		return NULL;
	}
}

json_t *lua_json_get(lua_State *L, int idx, const char **why)
{
	*why = NULL;
	return get_depth(L, lua_absindex(L, idx), 0, why);
}

static int l_encode(lua_State *L)
{
	const char *why;
	char *s;
	json_t *v;
	int flags = JSON_ENCODE_ANY | JSON_COMPACT;
	luaL_checkany(L, 1);
	if (lua_toboolean(L, 2))
		flags = JSON_ENCODE_ANY | JSON_INDENT(2) | JSON_SORT_KEYS;
	v = lua_json_get(L, 1, &why);
	if (!v)
		return luaL_error(L, "drover.json.encode: %s", why);
	s = json_dumps(v, flags);
	json_decref(v);
	if (!s)
		return luaL_error(L, "drover.json.encode: cannot encode (a string is not UTF-8?)");
	lua_pushstring(L, s);
	free(s);
	return 1;
}

static int l_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	json_error_t je;
	json_t *v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!v) {
		/* nil, message: bad JSON from a remote is an answer, not a bug */
		lua_pushnil(L);
		lua_pushfstring(L, "invalid JSON at line %d column %d: %s", je.line, je.column,
		                je.text);
		return 2;
	}
	lua_json_push(L, v);
	json_decref(v);
	return 1;
}

static int l_mark(lua_State *L, const char *key)
{
	if (lua_isnoneornil(L, 1))
		lua_newtable(L);
	else
		luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	set_marker(L, key);
	return 1;
}

static int l_array(lua_State *L)
{
	return l_mark(L, &array_key);
}

static int l_object(lua_State *L)
{
	return l_mark(L, &object_key);
}

/* ---- read-only views (drover.vars) ---- */

static void push_view(lua_State *L, int real);

static int ro_newindex(lua_State *L)
{
	return luaL_error(L, "drover.vars() is read-only: copy what you need into a table of "
	                     "your own");
}

static int ro_index(lua_State *L)
{
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	if (lua_istable(L, -1))
		push_view(L, lua_gettop(L));
	return 1;
}

static int ro_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
	return 1;
}

static int ro_next(lua_State *L)
{
	lua_settop(L, 2);
	if (!lua_next(L, lua_upvalueindex(1)))
		return 0;
	if (lua_istable(L, -1)) {
		push_view(L, lua_gettop(L));
		lua_replace(L, -2);
	}
	return 2;
}

static int ro_pairs(lua_State *L)
{
	lua_getmetatable(L, 1);
	lua_getfield(L, -1, "__jsonreal");
	lua_pushcclosure(L, ro_next, 1);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* Replaces nothing: pushes a proxy for the table at real. */
static void push_view(lua_State *L, int real)
{
	const char *m = marker(L, real);
	real = lua_absindex(L, real);
	luaL_checkstack(L, 6, "tables nested too deep");
	lua_newtable(L);
	lua_createtable(L, 0, 7);
	lua_pushvalue(L, real);
	lua_setfield(L, -2, "__jsonreal");
	lua_pushvalue(L, real);
	lua_pushcclosure(L, ro_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, real);
	lua_pushcclosure(L, ro_len, 1);
	lua_setfield(L, -2, "__len");
	lua_pushcfunction(L, ro_pairs);
	lua_setfield(L, -2, "__pairs");
	if (m) {
		lua_pushstring(L, m);
		lua_setfield(L, -2, "__jsontype");
	}
	lua_pushliteral(L, "read-only");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

void lua_json_push_readonly(lua_State *L, const json_t *v)
{
	lua_json_push(L, v);
	if (lua_istable(L, -1)) {
		push_view(L, -1);
		lua_remove(L, -2);
	}
}

void lua_json_open(lua_State *L)
{
	static const luaL_Reg fns[] = {{"encode", l_encode},
	                               {"decode", l_decode},
	                               {"array", l_array},
	                               {"object", l_object},
	                               {NULL, NULL}};
	luaL_newlib(L, fns);
	lua_json_push_null(L);
	lua_setfield(L, -2, "null");
}
