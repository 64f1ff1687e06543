/*
 * get_url.c - get_url: download a file onto the host.
 *
 * By default the host downloads it itself (curl, else wget) into a temp
 * file beside dest, checks the checksum, and renames it over dest only
 * when the content differs: one round trip. With remote_src: false the
 * controller downloads it (libcurl) and copies it over, for hosts that
 * cannot reach the URL.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

/* "sha256:abc" -> algo and digest; -1 when malformed. */
static int split_checksum(const char *c, char *algo, size_t an, const char **digest)
{
	const char *colon = c ? strchr(c, ':') : NULL;
	if (!c || !*c)
		return 1;
	if (!colon || colon == c || !colon[1])
		return -1;
	snprintf(algo, an, "%.*s", (int)(colon - c), c);
	*digest = colon + 1;
	if (strcmp(algo, "md5") && strcmp(algo, "sha1") && strcmp(algo, "sha224") &&
	    strcmp(algo, "sha256") && strcmp(algo, "sha384") && strcmp(algo, "sha512"))
		return -1;
	return 0;
}

static const char *url_base(const char *url)
{
	const char *q = url + strcspn(url, "?#");
	const char *s = q;
	while (s > url && s[-1] != '/')
		s--;
	return s;
}

/* The download on the host: curl, else wget, into "$t"; head only asks
 * whether the URL answers (check mode, as Ansible's HEAD request). */
static void add_client(struct buf *b, const json_t *args, int head)
{
	const char *k;
	json_t *v;
	long long timeout = mod_int(args, "timeout");
	int insecure = !mod_bool(args, "validate_certs");
	struct buf hdr = BUF_INIT, whdr = BUF_INIT;
	json_object_foreach ((json_t *)json_object_get(args, "headers"), k, v) {
		char *h = xasprintf("%s: %s", k, json_string_value(v) ? json_string_value(v) : "");
		buf_adds(&hdr, " -H ");
		buf_add_shquote(&hdr, h);
		buf_adds(&whdr, " --header=");
		buf_add_shquote(&whdr, h);
		free(h);
	}
	/* no -f: curl would then hide the status; a 4xx or 5xx fails here */
	buf_addf(b,
	         "if command -v curl >/dev/null 2>&1; then s=$(curl -sSL%s -w '%%{http_code}' "
	         "--max-time %lld%s%s -o %s \"$u\") || exit $?; echo \"@status $s\"; "
	         "[ \"$s\" -lt 400 ] || { echo \"HTTP Error $s\" >&2; exit 22; }; "
	         "elif command -v wget >/dev/null 2>&1; then wget -q%s -T %lld%s%s -O %s \"$u\"; "
	         "else echo 'neither curl nor wget is on the host' >&2; exit 3; fi || exit $?\n",
	         head ? " -I" : "", timeout, insecure ? " -k" : "", buf_str(&hdr),
	         head ? "/dev/null" : "\"$t\"", head ? " --spider" : "", timeout,
	         insecure ? " --no-check-certificate" : "", buf_str(&whdr),
	         head ? "/dev/null" : "\"$t\"");
	buf_release(&hdr);
	buf_release(&whdr);
}

static void download_script(const json_t *args, const char *algo, const char *digest, int check,
                            struct buf *b)
{
	const char *url = mod_str(args, "url");
	char *base = xstrndup(url_base(url), strcspn(url_base(url), "?#"));
	buf_adds(b, "d=");
	buf_add_shquote(b, mod_str(args, "dest"));
	buf_adds(b, "; u=");
	buf_add_shquote(b, url);
	/* a directory gets the URL's file name, without a doubled slash */
	buf_adds(b, "; [ -d \"$d\" ] && d=\"${d%/}\"/");
	buf_add_shquote(b, *base ? base : "index.html");
	buf_adds(b, "\necho \"@dest $d\"\n");
	buf_adds(b, "if [ -e \"$d\" ]; then : ; ");
	if (digest) {
		buf_addf(b, "[ \"$(%ssum < \"$d\" | cut -d' ' -f1)\" = ", algo);
		buf_add_shquote(b, digest);
		buf_adds(b,
		         " ] && { echo \"@ok $(sha1sum < \"$d\" | cut -d' ' -f1)\"; exit 0; }; ");
	} else if (!mod_bool(args, "force")) {
		buf_adds(b, "echo \"@ok $(sha1sum < \"$d\" | cut -d' ' -f1)\"; exit 0; ");
	}
	buf_adds(
	    b,
	    "fi\n[ -d \"$(dirname \"$d\")\" ] || { echo \"@nodir $(dirname \"$d\")\"; exit 0; }\n");
	free(base);
	if (check) {
		add_client(b, args, 1);
		buf_adds(b, "echo '@would'; exit 0\n");
		return;
	}
	buf_adds(b, "t=$(mktemp \"$(dirname \"$d\")/.drover-get.XXXXXX\") || exit 1\n"
	            "trap 'rm -f \"$t\"' EXIT\n");
	add_client(b, args, 0);
	if (digest)
		buf_addf(b,
		         "got=$(%ssum < \"$t\" | cut -d' ' -f1); [ \"$got\" = '%s' ] || { echo "
		         "\"@badsum $got\"; exit 0; }\n",
		         algo, digest);
	buf_adds(b,
	         "new=$(sha1sum < \"$t\" | cut -d' ' -f1); echo \"@size $(wc -c < \"$t\")\"\n"
	         "[ -e \"$d\" ] && echo \"@old $(sha1sum < \"$d\" | cut -d' ' -f1)\"\n"
	         "if [ -e \"$d\" ] && [ \"$(sha1sum < \"$d\" | cut -d' ' -f1)\" = \"$new\" ]; then "
	         "echo \"@ok $new\"; exit 0; fi\n"
	         "if [ -e \"$d\" ]; then chmod \"$(stat -c %a \"$d\")\" \"$t\"; else chmod 644 "
	         "\"$t\"; fi\nmv -f \"$t\" \"$d\" && echo \"@changed $new\"\n");
}

static const char *tag(const char *out, const char *t)
{
	const char *p = strstr(out, t);
	return p ? p + strlen(t) : NULL;
}

static int on_host(struct task_ctx *ctx, const json_t *args, const char *algo, const char *digest,
                   json_t *result, struct err *e)
{
	struct buf cmd = BUF_INIT, attrs = BUF_INIT;
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	struct mod_stat st;
	int ret, changed = 0;
	memset(&st, 0, sizeof(st));
	download_script(args, algo, digest, ctx->check, &cmd);
	o.timeout = (int)mod_int(args, "timeout") + 30;
	if ((ret = conn_exec(ctx->conn, buf_str(&cmd), &o, &r, e)) < 0)
		goto out;
	const char *out = buf_str(&r.out), *p;
	char dest[1024] = "", sum[41] = "";
	if ((p = tag(out, "@dest ")))
		snprintf(dest, sizeof(dest), "%.*s", (int)strcspn(p, "\n"), p);
	json_object_set_new(result, "url", json_string(mod_str(args, "url")));
	json_object_set_new(result, "dest", json_string(dest));
	if (r.rc != 0) {
		/* as Ansible: "Request failed" with the server's status when one
		 * answered (curl's -w), and the client's words as response */
		long status = (p = tag(out, "@status ")) ? atol(p) : 0;
		mod_fail(result, "Request failed");
		if (status > 0)
			json_object_set_new(result, "status_code", json_integer(status));
		json_object_set_new(result, "response",
		                    json_stringn(buf_str(&r.err), strcspn(buf_str(&r.err), "\n")));
		goto out;
	}
	if ((p = tag(out, "@nodir "))) {
		mod_fail(result, "Destination %.*s does not exist", (int)strcspn(p, "\n"), p);
		goto out;
	}
	if ((p = tag(out, "@badsum "))) {
		mod_fail(result, "The checksum for %s did not match %s; it was %.*s.", dest, digest,
		         (int)strcspn(p, "\n"), p);
		goto out;
	}
	if ((p = tag(out, "@changed ")) || (p = tag(out, "@ok ")))
		snprintf(sum, sizeof(sum), "%.40s", p);
	changed = tag(out, "@changed ") != NULL || tag(out, "@would") != NULL;
	json_object_set_new(result, "checksum_src", json_string(sum));
	/* checksum_dest is what dest held before: null for a new file */
	const char *old = tag(out, "@old ");
	json_t *cd = old && *old != '\n' ? json_stringn(old, strcspn(old, "\n"))
	             : changed           ? json_null()
	                                 : json_string(sum);
	json_object_set_new(result, "checksum_dest", cd);
	const char *size = tag(out, "@size ");
	json_object_set_new(result, "msg",
	                    changed && size ? json_sprintf("OK (%lld bytes)", atoll(size))
	                                    : json_string(changed ? "OK" : "file already exists"));
	if (ctx->check && tag(out, "@would")) {
		mod_set_changed(result, 1);
		goto out;
	}
	/* mode/owner/group, then the file's state for the result */
	if ((ret = mod_stat(ctx, dest, 0, &st, e)) < 0)
		goto out;
	if (mod_attrs_cmd(args, dest, &st, &attrs, &changed, result) < 0)
		goto out;
	if (attrs.len && !ctx->check) {
		buf_adds(&attrs, "true\n");
		if ((ret = mod_sh_checked(ctx, buf_str(&attrs), result, e)) != 0)
			goto out;
		mod_stat_release(&st);
		if ((ret = mod_stat(ctx, dest, 0, &st, e)) < 0)
			goto out;
	}
	mod_result_file(result, &st);
	json_object_set_new(result, "status_code", json_integer(200));
	mod_set_changed(result, changed);
out:
	if (ret > 0)
		ret = 0;
	mod_stat_release(&st);
	conn_result_release(&r);
	buf_release(&cmd);
	buf_release(&attrs);
	return ret;
}

static int on_controller(struct task_ctx *ctx, const json_t *args, const char *algo,
                         const char *digest, json_t *result, struct err *e)
{
	struct mod_http h = {0};
	int ret = 0;
	h.url = mod_str(args, "url");
	h.method = "GET";
	h.headers = json_object_get(args, "headers");
	h.user = mod_str(args, "url_username");
	h.password = mod_str(args, "url_password");
	h.validate_certs = mod_bool(args, "validate_certs");
	h.follow = 1;
	h.timeout = (int)mod_int(args, "timeout");
	if (mod_http_do(&h) < 0 || h.status >= 400) {
		mod_fail(result, "Request failed: %s", h.status < 0 ? h.error : "HTTP error");
		json_object_set_new(result, "status_code", json_integer(h.status));
		goto out;
	}
	if (digest && !strcmp(algo, "sha1")) {
		char got[41];
		mod_sha1(buf_str(&h.content), h.content.len, got);
		if (strcmp(got, digest)) {
			mod_fail(result, "The checksum for %s did not match %s; it was %s.",
			         mod_str(args, "dest"), digest, got);
			goto out;
		}
	} else if (digest) {
		mod_fail(result, "remote_src: false checks sha1 checksums only; got %s", algo);
		goto out;
	}
	const char *base = url_base(h.url);
	char *b = xstrndup(base, strcspn(base, "?#"));
	ret = mod_copy_data(ctx, args, buf_str(&h.content), h.content.len, *b ? b : "index.html",
	                    h.url, result, e);
	free(b);
	json_object_set_new(result, "url", json_string(h.url));
	json_object_set_new(result, "status_code", json_integer(h.status));
out:
	mod_http_release(&h);
	return ret;
}

static int get_url_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	char algo[16] = "";
	const char *digest = NULL;
	if (split_checksum(mod_str(args, "checksum"), algo, sizeof(algo), &digest) < 0) {
		mod_fail(result,
		         "The checksum parameter has to be in format <algorithm>:<checksum> "
		         "with algorithm one of md5, sha1, sha224, sha256, sha384, sha512");
		return 0;
	}
	if (!mod_bool(args, "remote_src"))
		return on_controller(ctx, args, algo, digest, result, e);
	return on_host(ctx, args, algo, digest, result, e);
}

static const struct module_arg get_url_args[] = {
    {"url", ARG_STR, 1, NULL, NULL, 0, NULL, "http, https or ftp URL."},
    {"dest", ARG_PATH, 1, NULL, NULL, 0, NULL,
     "Where to save it; a directory gets the URL's file name."},
    {"checksum", ARG_STR, 0, "\"\"", NULL, 0, NULL,
     "algorithm:digest (sha256:...); an existing dest that matches is not downloaded "
     "again."},
    {"force", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Download even when dest exists (replaced only if the content differs)."},
    MOD_ARGS_ATTRS("dest"),
    {"timeout", ARG_INT, 0, "10", NULL, 0, NULL, "Seconds for the download."},
    {"headers", ARG_DICT, 0, NULL, NULL, 0, NULL, "Request headers."},
    {"validate_certs", ARG_BOOL, 0, "true", NULL, 0, NULL, "Check the TLS certificate."},
    {"url_username", ARG_STR, 0, NULL, NULL, 0, "username", "User for HTTP authentication."},
    {"url_password", ARG_STR, 0, NULL, NULL, 1, "password", "Password for HTTP authentication."},
    {"remote_src", ARG_BOOL, 0, "true", NULL, 0, NULL,
     "drover: true downloads on the host (curl or wget); false downloads on the "
     "controller and copies the file over."},
    MOD_ARG_BACKUP("With remote_src: false, keep a backup."),
    {"tmp_dest", ARG_PATH, 0, NULL, NULL, 0, NULL, "Accepted; the temp file sits beside dest."},
    {NULL},
};

static const char *const get_url_aliases[] = {"ansible.builtin.get_url", "ansible.legacy.get_url",
                                              NULL};

const struct module_def module_get_url = {
    "get_url",
    get_url_aliases,
    MOD_CHECK_MODE,
    get_url_args,
    "Download a file onto the host",
    "The host downloads url with curl or wget into a temp file beside dest, checks "
    "checksum, and replaces dest only when the content differs. An existing dest is "
    "left alone unless force is set or checksum does not match. remote_src: false "
    "downloads on the controller instead.",
    get_url_run,
};
