/*
 * libFuzzer target for the template engine: any bytes as a template, as a
 * conditional and as a bare expression, against a fixed set of variables
 * (lists, dicts, lazy templates, a cycle). Nothing may crash, hang, leak
 * or trip a sanitizer; errors are fine.
 *
 *   cmake -S . -B build-fuzz -DDROVER_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   cmake --build build-fuzz --target fuzz_template
 *   build-fuzz/fuzz_template -max_total_time=300 -max_len=512
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/tmpl.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *vars;

static void init_vars(void)
{
	json_error_t je;
	vars = json_loads(
	    "{\"x\": 4, \"s\": \"hello\", \"l\": [1, 2, 3], \"d\": {\"a\": 1, \"b\": "
	    "[true, null]}, \"lazy\": \"{{ x + 1 }}\", \"c1\": \"{{ c2 }}\", \"c2\": "
	    "\"{{ c1 }}\", \"n\": null, \"f\": 1.5, \"u\": [{\"name\": \"a\", \"v\": 1}, "
	    "{\"name\": \"b\"}]}",
	    0, &je);
	if (!vars)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vars)
		init_vars();
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* lookups would run commands and read files: keep them out */
	if (strstr(text, "lookup") || strstr(text, "query") || strstr(text, "q(") ||
	    strstr(text, " is file") || strstr(text, "exists") || strstr(text, "directory")) {
		free(text);
		return 0;
	}
	struct tmpl_ctx ctx = {vars, "fuzz", 1, 1, "/nonexistent", 1, 0, 0};
	struct err e;
	err_init(&e);
	json_decref(tmpl_render(text, &ctx, &e));
	err_init(&e);
	json_decref(tmpl_eval(text, &ctx, &e));
	err_init(&e);
	int res;
	json_t *cond = json_string(text);
	if (cond)
		tmpl_cond(cond, &ctx, &res, &e);
	json_decref(cond);
	free(text);
	return 0;
}
