/*
 * uri.c - uri: talk to a web service from the controller (libcurl).
 *
 * Results follow Ansible's: status, url, redirected, msg "OK (N bytes)",
 * the response headers lower-cased with '_' for '-', json when the
 * content type is JSON, content when return_content is set.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const formats[] = {"raw", "json", "form-urlencoded", "form-multipart", NULL};

static void urlencode(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c))
			buf_addc(b, (char)c);
		else if (c == ' ')
			buf_addc(b, '+');
		else
			buf_addf(b, "%%%02X", c);
	}
}

/* The request body as text, and the content type it implies. */
static char *make_body(const json_t *args, const char **ctype, json_t *result)
{
	const json_t *body = json_object_get(args, "body");
	const char *fmt = mod_str(args, "body_format");
	*ctype = NULL;
	if (!body || json_is_null(body))
		return NULL;
	if (!strcmp(fmt, "json")) {
		*ctype = "application/json";
		return json_is_string(body) ? xstrdup(json_string_value(body))
		                            : json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
	}
	if (!strcmp(fmt, "form-urlencoded")) {
		*ctype = "application/x-www-form-urlencoded";
		if (json_is_string(body))
			return xstrdup(json_string_value(body));
		if (!json_is_object(body)) {
			mod_fail(result, "failed to parse body as form_urlencoded: not a dict");
			return NULL;
		}
		struct buf b = BUF_INIT;
		const char *k;
		json_t *v;
		json_object_foreach ((json_t *)body, k, v) {
			char *t =
			    json_is_string(v) ? xstrdup(json_string_value(v)) : tmpl_to_text(v);
			if (b.len)
				buf_addc(&b, '&');
			urlencode(&b, k);
			buf_addc(&b, '=');
			urlencode(&b, t);
			free(t);
		}
		return buf_detach(&b);
	}
	return json_is_string(body) ? xstrdup(json_string_value(body))
	                            : json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
}

static int status_ok(const json_t *codes, long status)
{
	size_t i;
	json_t *c;
	json_array_foreach (codes, i, c) {
		long want = json_is_integer(c)
		                ? (long)json_integer_value(c)
		                : atol(json_string_value(c) ? json_string_value(c) : "");
		if (want == status)
			return 1;
	}
	return 0;
}

static int is_json(const char *ctype)
{
	if (!ctype)
		return 0;
	char sub[128];
	const char *slash = strchr(ctype, '/');
	snprintf(sub, sizeof(sub), "%.*s", slash ? (int)strcspn(slash + 1, ";") : 0,
	         slash ? slash + 1 : "");
	const char *plus = strchr(sub, '+');
	const char *t = plus ? plus + 1 : sub;
	return !strcasecmp(t, "json") || !strcasecmp(t, "javascript");
}

static int uri_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct mod_http h = {0};
	const char *ctype;
	json_t *hdrs = json_deep_copy(json_object_get(args, "headers"));
	char *body = make_body(args, &ctype, result);
	(void)ctx;
	(void)e;
	if (json_is_true(json_object_get(result, "failed")))
		goto out;
	if (!hdrs)
		hdrs = json_object();
	if (ctype && !json_object_get(hdrs, "Content-Type"))
		json_object_set_new(hdrs, "Content-Type", json_string(ctype));
	h.url = mod_str(args, "url");
	h.method = mod_str(args, "method");
	h.body = body;
	h.body_len = body ? strlen(body) : 0;
	h.headers = hdrs;
	h.user = mod_str(args, "url_username");
	h.password = mod_str(args, "url_password");
	h.validate_certs = mod_bool(args, "validate_certs");
	h.follow = strcmp(mod_str(args, "follow_redirects"), "none") != 0;
	h.timeout = (int)mod_int(args, "timeout");
	int rc = mod_http_do(&h);
	const json_t *codes = json_object_get(args, "status_code");
	json_object_update(result, h.resp_headers);
	json_object_set_new(result, "status", json_integer(h.status));
	json_object_set_new(result, "url", json_string(h.final_url));
	json_object_set_new(result, "redirected", json_boolean(strcmp(h.final_url, h.url) != 0));
	json_object_set_new(result, "elapsed", json_integer(0));
	mod_set_changed(result, 0);
	const char *rtype = json_string_value(json_object_get(h.resp_headers, "content_type"));
	if (rc == 0 && is_json(rtype)) {
		json_t *js = json_loadb(buf_str(&h.content), h.content.len, JSON_DECODE_ANY, NULL);
		if (js)
			json_object_set_new(result, "json", js);
	}
	if (mod_bool(args, "return_content") || (rc == 0 && !status_ok(codes, h.status)))
		json_object_set_new(result, "content",
		                    json_stringn(buf_str(&h.content), h.content.len));
	char okmsg[64];
	snprintf(okmsg, sizeof(okmsg), "OK (%zu bytes)", h.content.len);
	const char *msg = rc < 0 ? h.error : okmsg;
	if (!status_ok(codes, h.status)) {
		char *list = json_dumps(codes, JSON_ENCODE_ANY);
		mod_fail(result, "Status code was %ld and not %s: %s", h.status, list, msg);
		free(list);
	} else {
		json_object_set_new(result, "msg", json_string(msg));
	}
out:
	free(body);
	json_decref(hdrs);
	mod_http_release(&h);
	return 0;
}

static const char *const follows[] = {"all", "no", "none", "safe", "urllib2", "yes", NULL};

static const struct module_arg uri_args[] = {
    {"url", ARG_STR, 1, NULL, NULL, 0, NULL, "The URL (http or https)."},
    {"method", ARG_STR, 0, "\"GET\"", NULL, 0, NULL, "GET, POST, PUT, DELETE, HEAD, PATCH, ..."},
    {"body", ARG_RAW, 0, NULL, NULL, 0, NULL, "The request body; a dict with body_format json."},
    {"body_format", ARG_STR, 0, "\"raw\"", formats, 0, NULL,
     "json or form-urlencoded encode body and set Content-Type."},
    {"headers", ARG_DICT, 0, NULL, NULL, 0, NULL, "Request headers."},
    {"status_code", ARG_LIST, 0, "[200]", NULL, 0, NULL, "Statuses that count as success."},
    {"return_content", ARG_BOOL, 0, "false", NULL, 0, NULL, "Return the body as content."},
    {"validate_certs", ARG_BOOL, 0, "true", NULL, 0, NULL, "Check the server's TLS certificate."},
    {"timeout", ARG_INT, 0, "30", NULL, 0, NULL, "Seconds for the whole request."},
    {"url_username", ARG_STR, 0, NULL, NULL, 0, "user", "User for HTTP authentication."},
    {"url_password", ARG_STR, 0, NULL, NULL, 1, "password", "Password for HTTP authentication."},
    {"force_basic_auth", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Accepted; credentials are always sent as basic auth."},
    {"follow_redirects", ARG_STR, 0, "\"safe\"", follows, 0, NULL, "none stops at a redirect."},
    {NULL},
};

static const char *const uri_aliases[] = {"ansible.builtin.uri", "ansible.legacy.uri", NULL};

const struct module_def module_uri = {
    "uri",
    uri_aliases,
    MOD_CONTROLLER, /* no check mode, as in Ansible: skipped under --check */
    uri_args,
    "Call a web service from the controller",
    "Sends an HTTP request with libcurl from the controller and returns status, headers, "
    "json (for JSON responses) and content; fails when the status is not in status_code.",
    uri_run,
};
