/*
 * The position table: an open-addressing hash from a json_t (or an object's
 * internal key string) to where it came from. It holds a reference to every
 * value it records, so a recorded pointer is never freed and reused while
 * its entry exists.
 */
#include "yaml/yaml.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

struct ent {
	const void *key; /* json_t *, or an object's internal key */
	json_t *owner;   /* the reference held */
	struct srcpos pos;
	int unsafe;
};

static struct ent *tab;
static size_t tab_cap, tab_len;
static char **files;
static size_t files_len;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t hash_ptr(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static struct ent *find(const void *key, int create)
{
	if (create && (tab_len + 1) * 2 > tab_cap) {
		size_t ncap = tab_cap ? tab_cap * 2 : 1024;
		struct ent *nt = xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < tab_cap; i++) {
			if (!tab[i].key)
				continue;
			size_t j = hash_ptr(tab[i].key) & (ncap - 1);
			while (nt[j].key)
				j = (j + 1) & (ncap - 1);
			nt[j] = tab[i];
		}
		free(tab);
		tab = nt;
		tab_cap = ncap;
	}
	if (!tab_cap)
		return NULL;
	size_t i = hash_ptr(key) & (tab_cap - 1);
	while (tab[i].key) {
		if (tab[i].key == key)
			return &tab[i];
		i = (i + 1) & (tab_cap - 1);
	}
	if (!create)
		return NULL;
	tab[i].key = key;
	tab_len++;
	return &tab[i];
}

static const char *intern(const char *file)
{
	for (size_t i = 0; i < files_len; i++)
		if (!strcmp(files[i], file))
			return files[i];
	files = xrealloc(files, (files_len + 1) * sizeof(*files));
	files[files_len] = xstrdup(file);
	return files[files_len++];
}

static int is_singleton(const json_t *v)
{
	return !v || json_is_boolean(v) || json_is_null(v);
}

static void record(const void *key, json_t *owner, const char *file, int line, int col)
{
	struct ent *e = find(key, 1);
	if (!e->owner)
		e->owner = json_incref(owner);
	e->pos.file = intern(file);
	e->pos.line = line;
	e->pos.col = col;
}

void srcpos_set(json_t *v, const char *file, int line, int col)
{
	if (is_singleton(v) || !file)
		return;
	pthread_mutex_lock(&lock);
	record(v, v, file, line, col);
	pthread_mutex_unlock(&lock);
}

/* Internal: a key's position, keyed by the object's own key storage. */
void srcpos_set_key(json_t *obj, const char *key, const char *file, int line, int col);
void srcpos_set_key(json_t *obj, const char *key, const char *file, int line, int col)
{
	void *it = json_object_iter_at(obj, key);
	if (!it || !file)
		return;
	pthread_mutex_lock(&lock);
	record(json_object_iter_key(it), obj, file, line, col);
	pthread_mutex_unlock(&lock);
}

int srcpos_get(const json_t *v, struct srcpos *out)
{
	int rc = -1;
	if (is_singleton(v))
		return -1;
	pthread_mutex_lock(&lock);
	struct ent *e = find(v, 0);
	if (e && e->pos.file) {
		*out = e->pos;
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int srcpos_key(const json_t *obj, const char *key, struct srcpos *out)
{
	int rc = -1;
	void *it = json_object_iter_at((json_t *)obj, key);
	if (!it)
		return -1;
	pthread_mutex_lock(&lock);
	struct ent *e = find(json_object_iter_key(it), 0);
	if (e) {
		*out = e->pos;
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	if (rc)
		rc = srcpos_get(json_object_get(obj, key), out);
	return rc;
}

void yaml_mark_unsafe(json_t *v)
{
	if (!json_is_string(v))
		return;
	pthread_mutex_lock(&lock);
	struct ent *e = find(v, 1);
	if (!e->owner)
		e->owner = json_incref(v);
	e->unsafe = 1;
	pthread_mutex_unlock(&lock);
}

int yaml_is_unsafe(const json_t *v)
{
	int rc = 0;
	if (!json_is_string(v))
		return 0;
	pthread_mutex_lock(&lock);
	struct ent *e = find(v, 0);
	rc = e && e->unsafe;
	pthread_mutex_unlock(&lock);
	return rc;
}

void srcpos_free_all(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < tab_cap; i++)
		if (tab[i].key)
			json_decref(tab[i].owner);
	free(tab);
	tab = NULL;
	tab_cap = tab_len = 0;
	for (size_t i = 0; i < files_len; i++)
		free(files[i]);
	free(files);
	files = NULL;
	files_len = 0;
	pthread_mutex_unlock(&lock);
}
