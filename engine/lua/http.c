/*
 * http.c - drover.http: one HTTP(S) request through libcurl.
 *
 *   drover.http{ method = "POST", url = "https://...", headers = {...},
 *                body = "text" or a table (sent as JSON), timeout = 10,
 *                ca = "/path/ca.pem", insecure = false, follow = false }
 *   -> { status = 200, headers = { ["content-type"] = "..." }, body = "..." }
 *   -> nil, "message" when no HTTP answer came (DNS, refused, TLS, timeout)
 *
 * Only http and https; the timeout never exceeds what is left of the Lua
 * call's time limit; a response body larger than MAX_BODY is an error.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <lauxlib.h>
#include <pthread.h>
#include <string.h>

#include "lua/sandbox.h"
#include "util/buf.h"
#include "util/mem.h"

#define MAX_BODY (16u * 1024 * 1024)

struct response {
	struct buf body;
	struct buf head; /* "name\0value\0" pairs, names lowercased */
	int too_big;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct response *r = ud;
	if (r->body.len + size * n > MAX_BODY) {
		r->too_big = 1;
		return 0;
	}
	buf_add(&r->body, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct response *r = ud;
	size_t len = size * n, i, j;
	char *colon = memchr(p, ':', len);
	if (!str_startswith(p, "HTTP/") && !colon)
		return len;
	if (str_startswith(p, "HTTP/")) {
		buf_reset(&r->head); /* a new response after 100-continue or a redirect */
		return len;
	}
	for (i = 0; p + i < colon; i++)
		buf_addc(&r->head, (char)tolower((unsigned char)p[i]));
	buf_addc(&r->head, 0);
	for (i = (size_t)(colon - p) + 1; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	for (j = len; j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' || p[j - 1] == ' '); j--)
		;
	buf_add(&r->head, p + i, j - i);
	buf_addc(&r->head, 0);
	return len;
}

/* Headers last, after every check that can raise, so nothing leaks. */
static struct curl_slist *get_headers(lua_State *L, int req, int json_body)
{
	struct curl_slist *list = NULL;
	if (json_body)
		list = curl_slist_append(list, "Content-Type: application/json");
	if (lua_getfield(L, req, "headers") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pushvalue(L, -2);
			if (lua_type(L, -1) == LUA_TSTRING && lua_type(L, -2) != LUA_TTABLE) {
				char *h =
				    xasprintf("%s: %s", lua_tostring(L, -1), lua_tostring(L, -2));
				list = curl_slist_append(list, h);
				free(h);
			}
			lua_pop(L, 2);
		}
	}
	lua_pop(L, 1);
	return list;
}

static void check_headers(lua_State *L, int req)
{
	int t = lua_getfield(L, req, "headers");
	if (t == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			if (lua_type(L, -2) != LUA_TSTRING ||
			    (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
				luaL_error(L, "drover.http: headers must map names to strings");
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		luaL_error(L, "drover.http: headers must be a table");
	}
	lua_pop(L, 1);
}

/* Leaves the body text (or nil) at index 2: a string as is, a table as
 * JSON. Returns 1 for a JSON body. */
static int get_body(lua_State *L, int req)
{
	int t = lua_getfield(L, req, "body");
	if (t == LUA_TTABLE) {
		const char *why;
		char *s;
		json_t *v = lua_json_get(L, -1, &why);
		if (!v)
			luaL_error(L, "drover.http: body: %s", why);
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(v);
		lua_pop(L, 1);
		lua_pushstring(L, s ? s : "null");
		free(s);
		return 1;
	}
	if (t != LUA_TSTRING && t != LUA_TNIL)
		luaL_error(L, "drover.http: body must be a string or a table");
	return 0;
}

static void push_response(lua_State *L, CURL *c, struct response *r)
{
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, status);
	lua_setfield(L, -2, "status");
	lua_newtable(L);
	for (size_t i = 0; i < r->head.len;) {
		const char *k = r->head.s + i, *v = k + strlen(k) + 1;
		lua_pushstring(L, v);
		lua_setfield(L, -2, k);
		i = (size_t)(v + strlen(v) + 1 - r->head.s);
	}
	lua_setfield(L, -2, "headers");
	lua_pushlstring(L, r->body.s ? r->body.s : "", r->body.len);
	lua_setfield(L, -2, "body");
}

/* A string field; it stays alive in the request table. */
static const char *opt_string(lua_State *L, int req, const char *key, const char *def)
{
	const char *s = def;
	int t = lua_getfield(L, req, key);
	if (t == LUA_TSTRING)
		s = lua_tostring(L, -1);
	else if (t != LUA_TNIL)
		luaL_error(L, "drover.http: %s must be a string", key);
	lua_pop(L, 1);
	return s;
}

static double opt_number(lua_State *L, int req, const char *key, double def)
{
	double v = def;
	int t = lua_getfield(L, req, key);
	if (t == LUA_TNUMBER)
		v = lua_tonumber(L, -1);
	else if (t != LUA_TNIL)
		luaL_error(L, "drover.http: %s must be a number", key);
	lua_pop(L, 1);
	return v;
}

static int opt_bool(lua_State *L, int req, const char *key)
{
	int v;
	lua_getfield(L, req, key);
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

struct request {
	const char *method, *url, *ca, *body;
	size_t body_len;
	double timeout;
	int insecure, follow;
	struct curl_slist *headers;
};

static void read_request(lua_State *L, struct request *q)
{
	struct sandbox *sb = sandbox_of(L);
	double left = sandbox_remaining(sb);
	int json_body;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	if (!(q->url = opt_string(L, 1, "url", NULL)))
		luaL_error(L, "drover.http: url is required");
	q->ca = opt_string(L, 1, "ca", NULL);
	q->timeout = opt_number(L, 1, "timeout", 10);
	if (q->timeout > left)
		q->timeout = left;
	q->insecure = opt_bool(L, 1, "insecure");
	q->follow = opt_bool(L, 1, "follow");
	check_headers(L, 1);
	json_body = get_body(L, 1);
	q->body = lua_tolstring(L, 2, &q->body_len);
	q->method = opt_string(L, 1, "method", q->body ? "POST" : "GET");
	q->headers = get_headers(L, 1, json_body);
}

static void setup(CURL *c, struct request *q, struct response *r)
{
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(q->timeout * 1000) + 1);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (!strcmp(q->method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, (long)q->follow);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "drover/" DROVER_VERSION);
	if (q->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	if (q->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, q->ca);
	if (q->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
}

int lua_http_request(lua_State *L)
{
	struct request q;
	struct response r;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;
	int nret;
	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	read_request(L, &q);
	pthread_once(&curl_once, curl_init_once);
	if (!(c = curl_easy_init())) {
		curl_slist_free_all(q.headers);
		return luaL_error(L, "drover.http: cannot start libcurl");
	}
	setup(c, &q, &r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		push_response(L, c, &r);
		nret = 1;
	} else {
		lua_pushnil(L);
		lua_pushfstring(L, "%s %s: %s", q.method, q.url,
		                r.too_big ? "response body larger than 16 MiB"
		                : *errbuf ? errbuf
		                          : curl_easy_strerror(rc));
		nret = 2;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(q.headers);
	buf_release(&r.body);
	buf_release(&r.head);
	return nret;
}
