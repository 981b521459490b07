/* Environment, read once, and the debug log (written with the real write() so
 * it neither recurses into the shim nor takes stdio locks). */
#define _GNU_SOURCE
#include "shim_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raw_syscall.h"
#include "shim_path.h"
#include "shim_protocol.h"

enum { debug_line_max_bytes = 512 };

static struct shim_config config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void copy_env(char *destination, size_t capacity, const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || strlen(value) >= capacity) {
        /* A path that does not fit is treated as absent rather than cut. */
        destination[0] = '\0';
        return;
    }
    strcpy(destination, value);
}

/* Inside the pthread_once that shim_debug() itself would wait for: logs
 * through shim_debug_write() directly, after config.debug is known. */
static void ignore_watch_entry(const char *entry, size_t length, const char *why)
{
    if (config.debug)
        shim_debug_write("%s entry \"%.*s\" ignored: %s", SHIM_ENV_WATCH, (int)(length > 256 ? 256 : length), entry,
                         why);
}

/* ':'-separated absolute paths into the fixed table, tidied as the paths
 * they are matched against are; empty entries are skipped, bad ones logged and
 * skipped. */
static void read_watch_list(void)
{
    const char *entry = getenv(SHIM_ENV_WATCH);
    if (entry == NULL || !shim_emulates_harness_objects(&config))
        return; /* nobody to report to: nothing is watched */
    for (;;) {
        const char *end = strchrnul(entry, ':');
        size_t length = (size_t)(end - entry);
        if (length == 0) {
            /* "a::b", a leading or trailing ':' */
        } else if (entry[0] != '/') {
            ignore_watch_entry(entry, length, "not an absolute path");
        } else if (length >= PATH_MAX) {
            ignore_watch_entry(entry, length, "too long");
        } else if (config.watched_count == (size_t)shim_watch_entries_max) {
            ignore_watch_entry(entry, length, "more entries than the table holds");
        } else {
            struct shim_watch_entry *watched = &config.watched[config.watched_count++];
            memcpy(watched->path, entry, length);
            watched->path[length] = '\0';
            shim_path_tidy(watched->path);
            watched->length = strlen(watched->path);
        }
        if (*end == '\0')
            break;
        entry = end + 1;
    }
}

static void read_config(void)
{
    int saved_errno = errno;
    copy_env(config.harness_socket_path, sizeof config.harness_socket_path, SHIM_ENV_SOCKET);
    copy_env(config.world_dir, sizeof config.world_dir, SHIM_ENV_WORLD);
    copy_env(config.umockdev_dir, sizeof config.umockdev_dir, "UMOCKDEV_DIR");
    const char *debug = getenv(SHIM_ENV_DEBUG);
    config.debug = debug != NULL && strcmp(debug, "1") == 0;
    read_watch_list();
    errno = saved_errno;
}

const struct shim_config *shim_config(void)
{
    pthread_once(&config_once, read_config);
    return &config;
}

bool shim_watches(const struct shim_config *watching, const char *path)
{
    for (size_t i = 0; i < watching->watched_count; i++) {
        const struct shim_watch_entry *entry = &watching->watched[i];
        bool directory = entry->path[entry->length - 1] == '/';
        if (directory ? strncmp(path, entry->path, entry->length) == 0 && path[entry->length] != '\0'
                      : strcmp(path, entry->path) == 0)
            return true;
    }
    return false;
}

void shim_debug_write(const char *format, ...)
{
    int saved_errno = errno;
    char line[debug_line_max_bytes];
    int prefix = snprintf(line, sizeof line, "rmtfs-hil-shim[%d]: ", (int)getpid());
    va_list arguments;
    va_start(arguments, format);
    int body = vsnprintf(line + prefix, sizeof line - (size_t)prefix - 1, format, arguments);
    va_end(arguments);
    size_t length = (size_t)prefix + (body < 0 ? 0 : (size_t)body);
    if (length > sizeof line - 2)
        length = sizeof line - 2;
    line[length++] = '\n';
    (void)raw_write(STDERR_FILENO, line, length);
    errno = saved_errno;
}
