/*
 * k3s_release: the k3s version a channel points at, asked of the release
 * channel service (update.k3s.io) from the controller through libcurl.
 *
 * The channel URL answers a redirect whose Location ends in the release
 * tag; the redirect is not followed, its Location is read. When that fails
 * the channels collection (JSON) is asked instead. A pinned `version` skips
 * the network entirely: the service has had outages and stale answers.
 */
#include "modules/k3s.h"
#include "util/buf.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const char *const release_aliases[] = {"drover.k3s.k3s_release", NULL};

static const struct module_arg release_args[] = {
    {"channel", ARG_STR, 0, "\"stable\"", NULL, 0, NULL,
     "Release channel: stable, latest, testing, or a minor line such as v1.31."},
    {"version", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Pin the version (v1.31.4+k3s1); no network request is made."},
    {"channel_url", ARG_STR, 0, "\"https://update.k3s.io/v1-release/channels\"", NULL, 0, NULL,
     "Base URL of the channel service (a mirror, or a lab stand-in)."},
    {"timeout", ARG_INT, 0, "10", NULL, 0, NULL, "Seconds before the request gives up."},
    {"ca_path", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "CA bundle to verify the channel service with (default: the system's)."},
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *json_str_or(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? s : "";
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	if (b->len + size * n > (1u << 20))
		return 0; /* a channel answer is small: cap what we keep */
	buf_add(b, p, size * n);
	return size * n;
}

struct http_answer {
	long status;
	struct buf body;
	char *location;
	char error[CURL_ERROR_SIZE];
};

static int http_get(const char *url, long timeout, const char *ca, struct http_answer *a)
{
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(a->error, sizeof(a->error), "cannot start libcurl");
		return -1;
	}
	a->error[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->error);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "drover/" DROVER_VERSION);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		if (!a->error[0])
			snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(rc));
		curl_easy_cleanup(h);
		return -1;
	}
	char *loc = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
	a->location = loc ? xstrdup(loc) : NULL;
	curl_easy_cleanup(h);
	return 0;
}

static void http_answer_release(struct http_answer *a)
{
	buf_release(&a->body);
	free(a->location);
	a->location = NULL;
}

/* The release tag in a Location: its last path segment, URL-decoded. */
static char *tag_from_location(const char *loc)
{
	const char *end = loc + strcspn(loc, "?#");
	const char *seg = end;
	while (seg > loc && seg[-1] != '/')
		seg--;
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	int n = 0;
	char *dec = curl_easy_unescape(h, seg, (int)(end - seg), &n);
	char *tag = dec ? xstrndup(dec, (size_t)n) : NULL;
	curl_free(dec);
	curl_easy_cleanup(h);
	return tag;
}

static char *from_redirect(const char *base, const char *channel, long timeout, const char *ca,
                           struct buf *why)
{
	struct http_answer a = {0};
	char *url = xasprintf("%s/%s", base, channel);
	char *tag = NULL;
	if (http_get(url, timeout, ca, &a)) {
		buf_addf(why, "GET %s: %s", url, a.error);
	} else if (a.status < 300 || a.status >= 400 || !a.location) {
		buf_addf(why, "GET %s answered HTTP %ld without a redirect", url, a.status);
	} else {
		tag = tag_from_location(a.location);
		struct k3s_version v;
		if (!tag || k3s_version_parse(tag, &v)) {
			buf_addf(why, "GET %s redirected to %s, which names no k3s version", url,
			         a.location);
			free(tag);
			tag = NULL;
		}
	}
	http_answer_release(&a);
	free(url);
	return tag;
}

static char *from_collection(const char *base, const char *channel, long timeout, const char *ca,
                             struct buf *why)
{
	struct http_answer a = {0};
	char *tag = NULL;
	json_t *doc = NULL;
	if (http_get(base, timeout, ca, &a)) {
		buf_addf(why, "; GET %s: %s", base, a.error);
		goto out;
	}
	if (a.status != 200) {
		buf_addf(why, "; GET %s answered HTTP %ld", base, a.status);
		goto out;
	}
	doc = json_loadb(buf_str(&a.body), a.body.len, 0, NULL);
	size_t i;
	json_t *ch;
	json_array_foreach (json_object_get(doc, "data"), i, ch) {
		if (strcmp(json_str_or(json_object_get(ch, "id")), channel))
			continue;
		const char *latest = json_string_value(json_object_get(ch, "latest"));
		struct k3s_version v;
		if (latest && !k3s_version_parse(latest, &v))
			tag = xstrdup(latest);
		break;
	}
	if (!tag)
		buf_addf(why, "; %s lists no channel '%s' with a valid latest version", base,
		         channel);
out:
	json_decref(doc);
	http_answer_release(&a);
	return tag;
}

char *k3s_channel_version(const char *channel_url, const char *channel, long timeout,
                          const char *ca, struct buf *why, const char **source)
{
	char *base = xstrdup(channel_url);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		base[--bl] = '\0';
	*source = "redirect";
	char *tag = from_redirect(base, channel, timeout, ca, why);
	if (!tag) {
		*source = "channels";
		tag = from_collection(base, channel, timeout, ca, why);
	}
	free(base);
	return tag;
}

static int release_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	(void)ctx;
	(void)e;
	const char *channel = json_string_value(json_object_get(args, "channel"));
	const char *pinned = json_string_value(json_object_get(args, "version"));
	json_object_set_new(result, "changed", json_false());
	json_object_set_new(result, "channel", json_string(channel));
	if (pinned && *pinned) {
		struct k3s_version v;
		if (k3s_version_parse(pinned, &v)) {
			mod_fail(result,
			         "version '%s' is not a k3s version (expected e.g. "
			         "v1.31.4+k3s1)",
			         pinned);
			return 0;
		}
		json_object_set_new(result, "version", json_string(pinned));
		json_object_set_new(result, "source", json_string("pinned"));
		return 0;
	}
	long timeout = (long)json_integer_value(json_object_get(args, "timeout"));
	const char *ca = json_string_value(json_object_get(args, "ca_path"));
	struct buf why = BUF_INIT;
	const char *source;
	char *tag = k3s_channel_version(json_string_value(json_object_get(args, "channel_url")),
	                                channel, timeout, ca, &why, &source);
	if (tag) {
		json_object_set_new(result, "version", json_string(tag));
		json_object_set_new(result, "source", json_string(source));
	} else {
		mod_fail(result,
		         "cannot find the k3s version of channel '%s': %s. Pin a version with "
		         "'version:' (or k3s_version) to upgrade without the channel service, or "
		         "point channel_url at a reachable mirror.",
		         channel, buf_str(&why));
	}
	free(tag);
	buf_release(&why);
	return 0;
}

const struct module_def module_k3s_release = {
    .name = "k3s_release",
    .aliases = release_aliases,
    .flags = MOD_CONTROLLER | MOD_CHECK_MODE,
    .args = release_args,
    .summary = "Find the k3s version a release channel points at",
    .description = "Asks the k3s release channel service (update.k3s.io) from the controller which "
                   "version a channel points at: reads the Location of the channel's redirect "
                   "(without following it), and falls back to the channels JSON collection. "
                   "'version' pins the answer and makes no request. Returns 'version' (e.g. "
                   "v1.31.4+k3s1), 'channel' and 'source' (redirect, channels or pinned). "
                   "Read-only: never changed.",
    .run = release_run,
};
