/* Path arithmetic shared by the remoteproc state files and watched files. */
#define _GNU_SOURCE
#include "shim_path.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's view of the base directory: raw syscalls, because a preload
 * after this one (umockdev) may redirect readlink() and getcwd(). */
bool shim_path_absolute(int dirfd, const char *path, char *resolved, size_t capacity)
{
    char base[PATH_MAX];
    if (path[0] == '/') {
        base[0] = '\0';
    } else if (dirfd == AT_FDCWD) {
        if (syscall(SYS_getcwd, base, sizeof base) < 0)
            return false;
    } else {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
        long length = syscall(SYS_readlinkat, AT_FDCWD, link, base, sizeof base - 1);
        if (length <= 0)
            return false;
        base[length] = '\0';
        if (base[0] != '/')
            return false; /* not a directory in the file system */
    }
    bool at_root = strcmp(base, "/") == 0;
    int written = path[0] == '/' ? snprintf(resolved, capacity, "%s", path)
                                 : snprintf(resolved, capacity, "%s/%s", at_root ? "" : base, path);
    return written > 0 && (size_t)written < capacity;
}

void shim_path_tidy(char *path)
{
    /* out never passes in: every name written was preceded by at least one
     * '/' read, and one '/' is written for it. */
    char *out = path;
    const char *in = path;
    for (;;) {
        while (*in == '/')
            in++;
        const char *name = in;
        while (*in != '\0' && *in != '/')
            in++;
        size_t length = (size_t)(in - name);
        bool dot = length == 1 && name[0] == '.';
        if (length == 0 || (dot && *in == '\0')) {
            *out++ = '/'; /* "/", or a path naming a directory */
            break;
        }
        if (dot)
            continue;
        *out++ = '/';
        memmove(out, name, length);
        out += length;
        if (*in == '\0')
            break;
    }
    *out = '\0';
}
