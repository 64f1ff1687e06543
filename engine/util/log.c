#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int log_verbosity;
int log_color;
static int warn_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(void)
{
	log_color = isatty(2) && !getenv("NO_COLOR");
}

void log_lock(void)
{
	pthread_mutex_lock(&lock);
}

void log_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

static void emit(const char *pre, const char *color, const char *fmt, va_list ap)
{
	log_lock();
	if (log_color && color)
		fputs(color, stderr);
	fputs(pre, stderr);
	vfprintf(stderr, fmt, ap);
	if (log_color && color)
		fputs("\033[0m", stderr);
	fputc('\n', stderr);
	fflush(stderr);
	log_unlock();
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	__atomic_add_fetch(&warn_count, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	emit("[WARNING]: ", "\033[1;35m", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("ERROR! ", "\033[0;31m", fmt, ap);
	va_end(ap);
}

void log_verbose(int level, const char *fmt, ...)
{
	va_list ap;
	if (log_verbosity < level)
		return;
	va_start(ap, fmt);
	emit("", "\033[0;34m", fmt, ap);
	va_end(ap);
}

int log_warn_count(void)
{
	return __atomic_load_n(&warn_count, __ATOMIC_RELAXED);
}
