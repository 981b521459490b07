/* Remoteproc state files. Only a path ending in "/remoteproc/<name>/state"
 * (after resolving a relative path against its directory descriptor) is asked
 * about; the harness answers ENOENT for a remoteproc it does not model, and
 * then the real file is opened as if the shim were not there. */
#define _GNU_SOURCE
#include "remoteproc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control_channel.h"
#include "raw_syscall.h"
#include "real_libc.h"
#include "shim_config.h"

static const char state_file_name[] = "state";
static const char remoteproc_directory[] = "/remoteproc";

static int fail(int error)
{
    errno = error;
    return -1;
}

static bool names_a_state_file(const char *path)
{
    size_t length = strlen(path);
    size_t name_length = sizeof state_file_name - 1;
    return length >= name_length && memcmp(path + length - name_length, state_file_name, name_length) == 0 &&
           (length == name_length || path[length - name_length - 1] == '/');
}

/* ".../remoteproc/<name>/state": the class directory or a device's own
 * remoteproc/ directory, the rule the harness matches by. */
static bool names_a_remoteproc_state_file(const char *path)
{
    const char *end = path + strlen(path) - (sizeof state_file_name - 1);
    if (end <= path || end[-1] != '/')
        return false;
    const char *name_end = end - 1;
    const char *name = name_end;
    while (name > path && name[-1] != '/')
        name--;
    if (name == name_end || name == path)
        return false;
    size_t parent_length = (size_t)(name - 1 - path);
    size_t marker_length = sizeof remoteproc_directory - 1;
    return parent_length >= marker_length &&
           memcmp(path + parent_length - marker_length, remoteproc_directory, marker_length) == 0;
}

/* The kernel's view of the path: raw syscalls, because a preload after this
 * one (umockdev) may redirect readlink() and getcwd(). */
static bool resolve(int dirfd, const char *path, char *resolved, size_t capacity)
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

static bool open_state_file(const char *path, int flags, int *result)
{
    int fd = control_channel_connect(shim_config()->harness_socket_path, false, (flags & O_CLOEXEC) != 0);
    if (fd < 0) {
        shim_debug("open(%s): harness unreachable (%s): the real file is opened", path, strerror(errno));
        return false;
    }
    struct iovec name = {(void *)path, strlen(path)};
    struct control_call call = {
        .request = {.op = SHIM_OP_RPROC_OPEN},
        .payload = &name,
        .payload_parts = 1,
        .passed_fd = -1,
    };
    int rc = control_channel_call(fd, &call);
    if (rc != 0 || call.reply.error == ENOENT) {
        shim_debug("open(%s): %s: the real file is opened", path, rc != 0 ? "harness failed" : "not modelled");
        raw_close(fd);
        return false;
    }
    if (call.reply.error != 0) {
        shim_debug("open(%s) = %s", path, strerror(call.reply.error));
        raw_close(fd);
        *result = fail(call.reply.error);
        return true;
    }
    struct emulated_file *file = emulated_file_new(EMULATED_REMOTEPROC_STATE);
    if (file == NULL) {
        raw_close(fd);
        *result = fail(ENOMEM);
        return true;
    }
    file->remoteproc.id = call.reply.value;
    file->remoteproc.access_mode = flags & O_ACCMODE;
    if (fd_table_install(fd, file) != 0) {
        int error = errno;
        emulated_file_release(file);
        raw_close(fd);
        *result = fail(error);
        return true;
    }
    shim_debug("open(%s) = %d (remoteproc state, id %u)", path, fd, file->remoteproc.id);
    *result = fd;
    return true;
}

/* true when the open was the shim's (then *result is the descriptor, or -1
 * with errno); false to open the real file, with errno as it was. */
static bool open_if_state_file(int dirfd, const char *path, int flags, int *result)
{
    /* The cheap test first: this runs for every open() of the program. */
    if (path == NULL || !names_a_state_file(path) || (flags & (O_DIRECTORY | O_PATH)))
        return false;
    if (!shim_emulates_harness_objects(shim_config()))
        return false;
    int saved_errno = errno;
    char resolved[PATH_MAX];
    bool handled = resolve(dirfd, path, resolved, sizeof resolved) && names_a_remoteproc_state_file(resolved) &&
                   open_state_file(resolved, flags, result);
    if (!handled)
        errno = saved_errno;
    return handled;
}

/* ---- reads and writes ----------------------------------------------------- */

static int state_call(struct emulated_file *file, int fd, struct control_call *call)
{
    call->request.value = file->remoteproc.id;
    call->passed_fd = -1;
    if (control_channel_call(fd, call) != 0)
        return fail(EIO);
    return 0;
}

ssize_t remoteproc_file_read(struct emulated_file *file, int fd, const struct iovec *parts, size_t part_count,
                             bool at_position, off_t offset)
{
    struct remoteproc_state_file *state = &file->remoteproc;
    if (state->access_mode == O_WRONLY)
        return fail(EBADF);
    char text[remoteproc_state_text_max_bytes];
    struct control_call call = {
        .request = {.op = SHIM_OP_RPROC_READ},
        .reply_payload = text,
        .reply_payload_capacity = sizeof text,
    };
    pthread_mutex_lock(&file->rpc_lock);
    if (state_call(file, fd, &call) != 0 || call.reply.error != 0) {
        pthread_mutex_unlock(&file->rpc_lock);
        if (call.reply.error != 0)
            errno = call.reply.error;
        shim_debug("read(%d) of remoteproc state = %s", fd, strerror(errno));
        return -1;
    }
    off_t from = at_position ? state->position : offset;
    size_t copied = 0;
    for (size_t i = 0; i < part_count && from >= 0 && (size_t)from + copied < call.reply_payload_bytes; i++) {
        size_t left = call.reply_payload_bytes - (size_t)from - copied;
        size_t n = parts[i].iov_len < left ? parts[i].iov_len : left;
        memcpy(parts[i].iov_base, text + from + copied, n);
        copied += n;
    }
    if (at_position)
        state->position += (off_t)copied;
    pthread_mutex_unlock(&file->rpc_lock);
    shim_debug("read(%d) of remoteproc state at %lld = %zu", fd, (long long)from, copied);
    return (ssize_t)copied;
}

ssize_t remoteproc_file_write(struct emulated_file *file, int fd, const struct iovec *parts, size_t part_count,
                              bool at_position)
{
    struct remoteproc_state_file *state = &file->remoteproc;
    if (state->access_mode == O_RDONLY)
        return fail(EBADF);
    /* kernfs hands a store() at most a page, and nothing at all for 0 bytes. */
    char text[remoteproc_state_text_max_bytes];
    size_t length = 0;
    for (size_t i = 0; i < part_count && length < sizeof text; i++) {
        size_t n = parts[i].iov_len < sizeof text - length ? parts[i].iov_len : sizeof text - length;
        memcpy(text + length, parts[i].iov_base, n);
        length += n;
    }
    if (length == 0)
        return 0;
    struct iovec payload = {text, length};
    struct control_call call = {
        .request = {.op = SHIM_OP_RPROC_WRITE},
        .payload = &payload,
        .payload_parts = 1,
    };
    pthread_mutex_lock(&file->rpc_lock);
    int rc = state_call(file, fd, &call);
    if (rc == 0 && call.reply.error == 0 && at_position)
        state->position += (off_t)call.reply.value;
    pthread_mutex_unlock(&file->rpc_lock);
    if (rc != 0)
        return -1;
    shim_debug("write(%d, \"%.*s\") of remoteproc state = %s", fd, (int)length, text,
               call.reply.error ? strerror(call.reply.error) : "ok");
    if (call.reply.error != 0)
        return fail(call.reply.error);
    return (ssize_t)call.reply.value;
}

off_t remoteproc_file_seek(struct emulated_file *file, off_t offset, int whence)
{
    struct remoteproc_state_file *state = &file->remoteproc;
    pthread_mutex_lock(&file->rpc_lock);
    off_t base = whence == SEEK_SET   ? 0
                 : whence == SEEK_CUR ? state->position
                 : whence == SEEK_END ? remoteproc_state_text_max_bytes /* sysfs i_size */
                                      : -1;
    off_t target = base < 0 ? -1 : base + offset;
    if (target >= 0)
        state->position = target;
    pthread_mutex_unlock(&file->rpc_lock);
    return target < 0 ? fail(EINVAL) : target;
}

/* ---- the interposed opens ------------------------------------------------- */

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
    int fd;
    if (open_if_state_file(AT_FDCWD, path, flags, &fd))
        return fd;
    return fd_table_fresh(real_open()(path, flags, mode));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    int fd;
    if (open_if_state_file(AT_FDCWD, path, flags, &fd))
        return fd;
    return fd_table_fresh(real_open64()(path, flags, mode));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    int fd;
    if (open_if_state_file(dirfd, path, flags, &fd))
        return fd;
    return fd_table_fresh(real_openat()(dirfd, path, flags, mode));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    SHIM_MODE_ARGUMENT(flags, mode)
    int fd;
    if (open_if_state_file(dirfd, path, flags, &fd))
        return fd;
    return fd_table_fresh(real_openat64()(dirfd, path, flags, mode));
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

SHIM_EXPORT int __open_2(const char *path, int flags)
{
    int fd;
    if (open_if_state_file(AT_FDCWD, path, flags, &fd))
        return fd;
    return fd_table_fresh(real___open_2()(path, flags));
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
    int fd;
    if (open_if_state_file(AT_FDCWD, path, flags, &fd))
        return fd;
    return fd_table_fresh(real___open64_2()(path, flags));
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_if_state_file(dirfd, path, flags, &fd))
        return fd;
    return fd_table_fresh(real___openat_2()(dirfd, path, flags));
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    int fd;
    if (open_if_state_file(dirfd, path, flags, &fd))
        return fd;
    return fd_table_fresh(real___openat64_2()(dirfd, path, flags));
}

/* ---- fopen: a stdio stream over the emulated descriptor ------------------- */

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
    ssize_t n = remoteproc_file_read(file, stream_fd(cookie), &part, 1, true, 0);
    emulated_file_release(file);
    return n;
}

static ssize_t stream_write(void *cookie, const char *buffer, size_t size)
{
    struct emulated_file *file = fd_table_acquire(stream_fd(cookie));
    if (file == NULL)
        return fail(EBADF);
    struct iovec part = {(void *)buffer, size};
    ssize_t n = remoteproc_file_write(file, stream_fd(cookie), &part, 1, true);
    emulated_file_release(file);
    /* A refused write reported as 0 would make stdio retry forever. */
    return n;
}

static int stream_seek(void *cookie, off64_t *position, int whence)
{
    struct emulated_file *file = fd_table_acquire(stream_fd(cookie));
    if (file == NULL)
        return fail(EBADF);
    off_t at = remoteproc_file_seek(file, (off_t)*position, whence);
    emulated_file_release(file);
    if (at < 0)
        return -1;
    *position = at;
    return 0;
}

static int stream_close(void *cookie)
{
    fd_table_remove(stream_fd(cookie));
    return raw_close(stream_fd(cookie));
}

static FILE *open_state_stream(const char *path, const char *mode, bool *handled)
{
    *handled = false;
    int flags = mode == NULL ? -1 : stream_flags(mode);
    int fd;
    if (flags < 0 || !open_if_state_file(AT_FDCWD, path, flags, &fd))
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
    FILE *stream = open_state_stream(path, mode, &handled);
    return handled ? stream : real_fopen()(path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    bool handled;
    FILE *stream = open_state_stream(path, mode, &handled);
    return handled ? stream : real_fopen64()(path, mode);
}
