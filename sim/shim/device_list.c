/* The world's device list, parsed once into a fixed table (no allocation:
 * fstat() may run anywhere). */
#define _GNU_SOURCE
#include "device_list.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "raw_syscall.h"
#include "shim_config.h"

enum {
    device_entries_max = 32,
    devices_file_max_bytes = 64 * 1024,
};

struct device {
    struct device_identity identity;
    char path[PATH_MAX];
};

static struct device devices[device_entries_max];
static size_t device_count;
static pthread_once_t devices_once = PTHREAD_ONCE_INIT;

static void parse_line(char *line, unsigned line_number)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\0' || *line == '#')
        return;
    char type = *line++;
    char *end;
    unsigned long major = strtoul(line, &end, 10);
    bool ok = (type == 'c' || type == 'b') && (*line == ' ' || *line == '\t') && end != line &&
              (*end == ' ' || *end == '\t');
    line = end;
    unsigned long minor = ok ? strtoul(line, &end, 10) : 0;
    ok = ok && end != line && (*end == ' ' || *end == '\t');
    line = end;
    while (ok && (*line == ' ' || *line == '\t'))
        line++;
    size_t path_length = strlen(line);
    while (path_length > 0 && (line[path_length - 1] == ' ' || line[path_length - 1] == '\t' ||
                               line[path_length - 1] == '\r'))
        line[--path_length] = '\0';
    ok = ok && line[0] == '/' && path_length < PATH_MAX && major <= 0xfff && minor <= 0xfffff;
    if (!ok || device_count == device_entries_max) {
        shim_debug("devices line %u ignored: %s", line_number,
                   ok ? "more than the table holds" : "want \"c|b MAJOR MINOR /absolute/path\"");
        return;
    }
    struct device *entry = &devices[device_count++];
    entry->identity.type = type;
    entry->identity.major = (unsigned)major;
    entry->identity.minor = (unsigned)minor;
    memcpy(entry->path, line, path_length + 1);
}

static void load_devices(void)
{
    int saved_errno = errno;
    const char *world = shim_config()->world_dir;
    char path[PATH_MAX];
    if (world[0] == '\0' || snprintf(path, sizeof path, "%s/devices", world) >= (int)sizeof path)
        goto out;
    static char text[devices_file_max_bytes + 1];
    int fd = raw_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        shim_debug("no device list in the world: %s: %s", path, strerror(errno));
        goto out;
    }
    size_t length = 0;
    for (;;) {
        ssize_t n = raw_read(fd, text + length, devices_file_max_bytes - length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        length += (size_t)n;
        if (length == devices_file_max_bytes)
            break;
    }
    raw_close(fd);
    text[length] = '\0';
    unsigned line_number = 0;
    for (char *line = text, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        parse_line(line, ++line_number);
    }
out:
    errno = saved_errno;
}

bool device_of_fd(int fd, struct device_identity *identity)
{
    if (shim_config()->world_dir[0] == '\0')
        return false;
    pthread_once(&devices_once, load_devices);
    if (device_count == 0 || fd < 0)
        return false;
    int saved_errno = errno;
    char link[64];
    char path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    /* The kernel's name for the file, not a preload's idea of it. */
    long length = syscall(SYS_readlinkat, AT_FDCWD, link, path, sizeof path - 1);
    errno = saved_errno;
    if (length <= 0)
        return false;
    path[length] = '\0';
    for (size_t i = 0; i < device_count; i++) {
        if (strcmp(path, devices[i].path) == 0) {
            *identity = devices[i].identity;
            return true;
        }
    }
    return false;
}
