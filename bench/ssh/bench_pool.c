/*
 * bench_pool.c - the connection layer alone: H hosts x T `true` commands
 * over pooled ssh connections, F worker threads, the linear strategy
 * (every host finishes a task before the next task starts), as the
 * playbook `command: true` x T would run without the engine around it.
 *
 * usage: bench_pool USER KEY KNOWN_HOSTS PORT TASKS FORKS ADDR...
 * Each ADDR is one host (one pooled session). Prints one line per phase.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn/conn.h"

struct bench {
	struct conn_pool *pool;
	char **addrs;
	int nhosts, next, failed;
	const char *user, *key, *kh;
	int port;
	pthread_mutex_t lock;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_one(struct bench *b, int i)
{
	char name[32], args[600];
	struct conn_result r;
	struct conn *c;
	struct err e;
	json_t *vars;

	snprintf(name, sizeof(name), "host%02d", i);
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s", b->kh);
	vars = json_pack("{s:s, s:i, s:s, s:s, s:s}", "ansible_host", b->addrs[i], "ansible_port",
	                 b->port, "ansible_user", b->user, "ansible_ssh_private_key_file", b->key,
	                 "ansible_ssh_common_args", args);
	err_init(&e);
	c = conn_pool_get(b->pool, name, vars, NULL, NULL, &e);
	json_decref(vars);
	if (c && !conn_exec(c, "true", NULL, &r, &e) && r.rc == 0) {
		conn_result_release(&r);
		return;
	}
	if (c)
		conn_result_release(&r);
	fprintf(stderr, "%s: %s\n", name, e.code ? e.msg : "command failed");
	pthread_mutex_lock(&b->lock);
	b->failed++;
	pthread_mutex_unlock(&b->lock);
}

static void *worker(void *arg)
{
	struct bench *b = arg;
	int i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		i = b->next < b->nhosts ? b->next++ : -1;
		pthread_mutex_unlock(&b->lock);
		if (i < 0)
			return NULL;
		run_one(b, i);
	}
}

static void one_task(struct bench *b, int forks)
{
	pthread_t t[256];
	int i, n = forks < b->nhosts ? forks : b->nhosts;

	b->next = 0;
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, b);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	struct conn_defaults d = {.host_key_checking = 1, .timeout = 10};
	struct bench b = {0};
	int tasks, forks, t;
	double t0, t1, t2;

	if (argc < 8) {
		fprintf(stderr,
		        "usage: bench_pool USER KEY KNOWN_HOSTS PORT TASKS FORKS ADDR...\n");
		return 2;
	}
	b.user = argv[1];
	b.key = argv[2];
	b.kh = argv[3];
	b.port = atoi(argv[4]);
	tasks = atoi(argv[5]);
	forks = atoi(argv[6]);
	if (forks < 1 || forks > 256 || tasks < 1)
		return 2;
	b.addrs = argv + 7;
	b.nhosts = argc - 7;
	pthread_mutex_init(&b.lock, NULL);
	b.pool = conn_pool_new(&d);

	t0 = now();
	one_task(&b, forks); /* connects every host */
	t1 = now();
	for (t = 1; t < tasks; t++)
		one_task(&b, forks);
	t2 = now();
	printf("drover conn pool: %d hosts x %d commands, forks %d: %.3f s total\n", b.nhosts,
	       tasks, forks, t2 - t0);
	printf("  first task (connect + auth + command): %.3f s\n", t1 - t0);
	if (tasks > 1)
		printf("  later tasks: %.2f ms per task (all hosts), %.2f ms per command\n",
		       (t2 - t1) * 1000 / (tasks - 1), (t2 - t1) * 1000 / (tasks - 1) / b.nhosts);
	conn_pool_free(b.pool);
	pthread_mutex_destroy(&b.lock);
	if (b.failed)
		fprintf(stderr, "%d commands failed\n", b.failed);
	return b.failed ? 1 : 0;
}
