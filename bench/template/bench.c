/*
 * Render the bench templates N times with drover's engine and print the
 * time per render; with -p, print each rendering once instead (run.sh
 * compares that output with ansible-core's Templar before timing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template/tmpl.h"
#include "util/mem.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench [-p] VARS.json N TEMPLATE...\n");
		return 2;
	}
	int print = !strcmp(argv[1], "-p");
	int a = print ? 2 : 1;
	json_error_t je;
	json_t *vars = json_load_file(argv[a], 0, &je);
	if (!vars) {
		fprintf(stderr, "%s: %s\n", argv[a], je.text);
		return 1;
	}
	long n = atol(argv[a + 1]);
	for (int t = a + 2; t < argc; t++) {
		size_t len;
		char *text = read_file(argv[t], &len);
		if (!text) {
			perror(argv[t]);
			return 1;
		}
		struct tmpl_ctx ctx = {vars, argv[t], 1, 1, ".", 1, 0, 0};
		double start = now();
		for (long i = 0; i < (print ? 1 : n); i++) {
			struct err e;
			err_init(&e);
			json_t *r = tmpl_render(text, &ctx, &e);
			if (!r) {
				char msg[4096];
				fprintf(stderr, "%s\n", err_format(&e, msg, sizeof(msg)));
				return 1;
			}
			if (print)
				fputs(json_string_value(r), stdout);
			json_decref(r);
		}
		if (!print)
			printf("%s %.2f us\n", argv[t], (now() - start) / (double)n * 1e6);
		free(text);
	}
	json_decref(vars);
	return 0;
}
