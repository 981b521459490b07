/* Remoteproc state files. Only a path ending in "/remoteproc/<name>/state"
 * (after resolving a relative path against its directory descriptor) is asked
 * about; the harness answers ENOENT for a remoteproc it does not model, and
 * then the real file is opened as if the shim were not there. */
#define _GNU_SOURCE
#include "remoteproc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "control_channel.h"
#include "raw_syscall.h"
#include "shim_config.h"
#include "shim_path.h"

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

bool remoteproc_file_open(int dirfd, const char *path, int flags, int *result)
{
    /* The cheap test first: this runs for every open() of the program. */
    if (path == NULL || !names_a_state_file(path) || (flags & (O_DIRECTORY | O_PATH)))
        return false;
    if (!shim_emulates_harness_objects(shim_config()))
        return false;
    int saved_errno = errno;
    char resolved[PATH_MAX];
    bool handled = shim_path_absolute(dirfd, path, resolved, sizeof resolved) && names_a_remoteproc_state_file(resolved) &&
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
