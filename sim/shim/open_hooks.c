/* The interposed opens. Each is offered to the remoteproc state files (a path
 * ending in ".../remoteproc/<name>/state"), then to the watched files
 * (RMTFS_HIL_WATCH), and otherwise made as the program asked through the
 * next definition of the same function. Before all that, an open that
 * would reach a block device of the host is refused (host_devices.h). Both checks are a few compares when
 * the path is neither, which is nearly every open the program makes. */
#define _GNU_SOURCE
#include "open_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "emulated_file.h"
#include "fd_hooks.h"
#include "host_devices.h"
#include "raw_syscall.h"
#include "real_libc.h"
#include "remoteproc_file.h"
#include "shim_config.h"
#include "watched_file.h"

enum { stream_creation_mode = 0666 /* what fopen() creates with, before the umask */ };

static int fail(int error)
{
    errno = error;
    return -1;
}

int open_call_perform(const struct open_call *c)
{
    switch (c->variant) {
    case OPEN_PLAIN: return real_open()(c->path, c->flags, c->mode);
    case OPEN_64: return real_open64()(c->path, c->flags, c->mode);
    case OPEN_AT: return real_openat()(c->dirfd, c->path, c->flags, c->mode);
    case OPEN_AT_64: return real_openat64()(c->dirfd, c->path, c->flags, c->mode);
    case OPEN_2: return real___open_2()(c->path, c->flags);
    case OPEN_64_2: return real___open64_2()(c->path, c->flags);
    case OPEN_AT_2: return real___openat_2()(c->dirfd, c->path, c->flags);
    case OPEN_AT_64_2: return real___openat64_2()(c->dirfd, c->path, c->flags);
    }
    return fail(EINVAL);
}

/* true when the open was the shim's business: *fd is its result. */
static bool open_specially(const struct open_call *call, int *fd)
{
    return remoteproc_file_open(call->dirfd, call->path, call->flags, fd) || watched_file_open(call, fd);
}

static int open_dispatch(const struct open_call *call)
{
    if (host_block_device_refused(call->dirfd, call->path, call->flags))
        return -1;
    int fd;
    if (open_specially(call, &fd))
        return fd;
    return fd_table_fresh(open_call_perform(call));
}

static bool takes_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

#define SHIM_MODE_ARGUMENT(flags, mode)               \
    mode_t mode = 0;                                  \
    if (takes_mode(flags)) {                          \
        va_list arguments;                            \
        va_start(arguments, flags);                   \
        mode = (mode_t)va_arg(arguments, int);        \
        va_end(arguments);                            \
    }

SHIM_EXPORT int open(const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    return open_dispatch(&(struct open_call){OPEN_PLAIN, AT_FDCWD, path, flags, mode});
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    return open_dispatch(&(struct open_call){OPEN_64, AT_FDCWD, path, flags, mode});
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    return open_dispatch(&(struct open_call){OPEN_AT, dirfd, path, flags, mode});
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    return open_dispatch(&(struct open_call){OPEN_AT_64, dirfd, path, flags, mode});
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

SHIM_EXPORT int __open_2(const char *path, int flags)
{
    return open_dispatch(&(struct open_call){OPEN_2, AT_FDCWD, path, flags, 0});
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
    return open_dispatch(&(struct open_call){OPEN_64_2, AT_FDCWD, path, flags, 0});
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return open_dispatch(&(struct open_call){OPEN_AT_2, dirfd, path, flags, 0});
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return open_dispatch(&(struct open_call){OPEN_AT_64_2, dirfd, path, flags, 0});
}

/* ---- fopen: a stdio stream over the emulated or watched descriptor -------- */

/* libc's stdio reads and writes through its internal syscall wrappers, never
 * through read() and write(): a stream whose I/O the shim must see (emulate,
 * or ask the harness about) is a fopencookie() stream whose functions are
 * fd_hooks.c's. Such a stream has no fileno(). */

/* fopen()'s mode string as open() flags, or -1 when glibc would refuse it. */
static int stream_flags(const char *mode)
{
    int flags;
    switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return -1;
    }
    for (const char *c = mode + 1; *c != '\0' && *c != ','; c++) {
        if (*c == '+')
            flags = (flags & ~O_ACCMODE) | O_RDWR;
        else if (*c == 'e')
            flags |= O_CLOEXEC;
        else if (*c == 'x')
            flags |= O_EXCL;
    }
    return flags;
}

static int stream_fd(void *cookie) { return (int)(intptr_t)cookie; }

static ssize_t stream_read(void *cookie, char *buffer, size_t size)
{
    struct emulated_file *file = fd_table_acquire(stream_fd(cookie));
    if (file == NULL)
        return fail(EBADF);
    struct iovec part = {buffer, size};
    ssize_t n = emulated_file_read(file, stream_fd(cookie), &part, 1, false);
    emulated_file_release(file);
    return n;
}

static ssize_t stream_write(void *cookie, const char *buffer, size_t size)
{
    struct emulated_file *file = fd_table_acquire(stream_fd(cookie));
    if (file == NULL)
        return fail(EBADF);
    struct iovec part = {(void *)buffer, size};
    ssize_t n = emulated_file_write(file, stream_fd(cookie), &part, 1, false);
    emulated_file_release(file);
    /* A refused write reported as 0 would make stdio retry forever. */
    return n;
}

static int stream_seek(void *cookie, off64_t *position, int whence)
{
    struct emulated_file *file = fd_table_acquire(stream_fd(cookie));
    if (file == NULL)
        return fail(EBADF);
    off64_t at = emulated_file_seek(file, stream_fd(cookie), *position, whence);
    emulated_file_release(file);
    if (at < 0)
        return -1;
    *position = at;
    return 0;
}

/* A remoteproc stream's descriptor is the shim's own channel; a watched
 * one's is the program's real file, closed through the next close() (umockdev
 * keeps track of the descriptors it redirected). The channel of a watched
 * file closes after the file: the harness sees the close once it happened. */
static int stream_close(void *cookie)
{
    int fd = stream_fd(cookie);
    struct emulated_file *file = fd_table_acquire(fd);
    bool real = file != NULL && file->kind == EMULATED_WATCHED_FILE;
    fd_table_remove(fd);
    int rc = real ? real_close()(fd) : raw_close(fd);
    emulated_file_release(file);
    return rc;
}

static FILE *open_stream(const char *path, const char *mode, enum open_variant variant, bool *handled)
{
    *handled = false;
    int flags = mode == NULL ? -1 : stream_flags(mode);
    if (flags >= 0 && host_block_device_refused(AT_FDCWD, path, flags)) {
        *handled = true;
        return NULL;
    }
    int fd;
    if (flags < 0 || !open_specially(&(struct open_call){variant, AT_FDCWD, path, flags, stream_creation_mode}, &fd))
        return NULL;
    *handled = true;
    if (fd < 0)
        return NULL;
    cookie_io_functions_t io = {.read = stream_read, .write = stream_write, .seek = stream_seek, .close = stream_close};
    FILE *stream = fopencookie((void *)(intptr_t)fd, mode, io);
    if (stream == NULL) {
        int error = errno;
        stream_close((void *)(intptr_t)fd);
        errno = error;
    }
    return stream;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
    bool handled;
    FILE *stream = open_stream(path, mode, OPEN_PLAIN, &handled);
    return handled ? stream : real_fopen()(path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    bool handled;
    FILE *stream = open_stream(path, mode, OPEN_64, &handled);
    return handled ? stream : real_fopen64()(path, mode);
}
