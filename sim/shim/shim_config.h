/* What the shim learns from its environment (read once, on first need) and
 * its debug log. */
#ifndef RMTFS_HIL_SHIM_CONFIG_H
#define RMTFS_HIL_SHIM_CONFIG_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

enum { shim_watch_entries_max = 16 };

struct shim_watch_entry {
    char path[PATH_MAX]; /* absolute; ends in '/' for a directory's files */
    size_t length;
};

struct shim_config {
    /* RMTFS_HIL_SOCKET: when empty, sockets and state files are not emulated. */
    char harness_socket_path[PATH_MAX];
    /* RMTFS_HIL_WORLD: when empty, no file is dressed up as a device. */
    char world_dir[PATH_MAX];
    /* UMOCKDEV_DIR: the testbed umockdev's preload redirects /dev, /proc and
     * /sys paths to (empty: none). */
    char umockdev_dir[PATH_MAX];
    /* RMTFS_HIL_WATCH, its usable entries; none without a harness socket. */
    struct shim_watch_entry watched[shim_watch_entries_max];
    size_t watched_count;
    bool debug;
};

const struct shim_config *shim_config(void);

static inline bool shim_emulates_harness_objects(const struct shim_config *config)
{
    return config->harness_socket_path[0] != '\0';
}

/* The whole cost of the watch list for an open when there is none. */
static inline bool shim_watches_anything(const struct shim_config *config) { return config->watched_count != 0; }

/* true when the absolute, tidied path is a watched file: an entry itself, or
 * below an entry that ends in '/'. */
bool shim_watches(const struct shim_config *config, const char *path);

/* One line on stderr when RMTFS_HIL_SHIM_DEBUG=1. A macro so that, with the
 * log off, the arguments (strerror() calls) cost nothing; errno is kept. */
#define shim_debug(...)                              \
    do {                                             \
        if (shim_config()->debug) {                  \
            int shim_debug_saved_errno_ = errno;     \
            shim_debug_write(__VA_ARGS__);           \
            errno = shim_debug_saved_errno_;         \
        }                                            \
    } while (0)

void shim_debug_write(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
