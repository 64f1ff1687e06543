/*
 * http.c - HTTP from the controller through libcurl, for uri and get_url.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	buf_add(ud, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	json_t *h = ud;
	size_t len = size * n;
	const char *colon = memchr(p, ':', len);
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		json_object_clear(h); /* a redirect: keep the last response's headers */
		return len;
	}
	if (!colon)
		return len;
	char *k = xstrndup(p, (size_t)(colon - p));
	for (char *c = k; *c; c++)
		*c = *c == '-' ? '_' : (char)tolower((unsigned char)*c);
	const char *v = colon + 1;
	while (v < p + len && *v == ' ')
		v++;
	size_t vl = (size_t)(p + len - v);
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	json_object_set_new(h, k, json_stringn(v, vl));
	free(k);
	return len;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int mod_http_do(struct mod_http *h)
{
	CURL *c;
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	pthread_once(&once, global_init);
	h->status = -1;
	h->resp_headers = json_object();
	if (!(c = curl_easy_init())) {
		snprintf(h->error, sizeof(h->error), "cannot start libcurl");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "drover/" DROVER_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->content);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h->resp_headers);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, h->follow ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(h->timeout > 0 ? h->timeout : 30));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->validate_certs ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->validate_certs ? 2L : 0L);
	if (h->method && strcmp(h->method, "GET")) {
		if (!strcmp(h->method, "HEAD"))
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		else
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, h->method);
	}
	if (h->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)h->body_len);
	}
	if (h->user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, h->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, h->password ? h->password : "");
	}
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)h->headers, k, v) {
		char *line =
		    xasprintf("%s: %s", k, json_string_value(v) ? json_string_value(v) : "");
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		char *eff = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
		curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
		snprintf(h->final_url, sizeof(h->final_url), "%s", eff ? eff : h->url);
	} else {
		snprintf(h->error, sizeof(h->error), "Request failed: %s", curl_easy_strerror(rc));
		snprintf(h->final_url, sizeof(h->final_url), "%s", h->url);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

void mod_http_release(struct mod_http *h)
{
	buf_release(&h->content);
	json_decref(h->resp_headers);
	h->resp_headers = NULL;
}
