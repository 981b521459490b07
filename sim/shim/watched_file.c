/* Watched files. Only the open of a path on the watch list costs a round trip
 * to the harness; afterwards the program's descriptor is the real file and
 * only the kinds of call the harness asked about (SHIM_OP_FILE_OPEN's
 * reply.node) wait for it. The control channel is private (raw syscalls); the
 * real file is reached through the next definitions (real_*()), so a later
 * preload such as umockdev still sees the program's own I/O. */
#define _GNU_SOURCE
#include "watched_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "device_list.h"
#include "control_channel.h"
#include "raw_syscall.h"
#include "real_libc.h"
#include "shim_config.h"
#include "shim_path.h"

enum { all_file_ops = SHIM_FILE_READ | SHIM_FILE_WRITE | SHIM_FILE_SYNC };

static int fail(int error)
{
    errno = error;
    return -1;
}

/* ---- the open -------------------------------------------------------------- */

/* After SHIM_OP_FILE_OPEN said "watched": the real file, and the emulated file
 * that owns the channel from now on. */
static int open_real_file(const struct open_call *open_call, const char *path, int control_fd,
                          const struct shim_reply *reply)
{
    /* Before the real open, so that running out of memory leaves nothing (a
     * file O_CREAT made) behind. */
    struct emulated_file *file = emulated_file_new(EMULATED_WATCHED_FILE);
    if (file == NULL) {
        raw_close(control_fd);
        return fail(ENOMEM);
    }
    file->watched.control_fd = control_fd;
    file->watched.id = reply->value;
    file->watched.ask = reply->node & all_file_ops;
    file->watched.append = (open_call->flags & O_APPEND) != 0;
    int fd = open_call_perform(open_call);
    if (fd < 0) {
        shim_debug("open(%s) of a watched file = %s", path, strerror(errno));
        emulated_file_release(file); /* the harness sees EOF: nothing stays open */
        return -1;
    }
    if (fd_table_install(fd, file) != 0) {
        int error = errno;
        emulated_file_release(file);
        real_close()(fd);
        return fail(error);
    }
    struct device_identity device;
    struct stat st;
    if (device_of_fd(fd, &device) && device.type == 'c' && real_fstat()(fd, &st) == 0)
        file->watched.device_size = st.st_size;
    shim_debug("open(%s) = %d (watched, id %u, asking about %#x)", path, fd, file->watched.id, file->watched.ask);
    return fd;
}

static bool open_watched(const struct open_call *open_call, const char *path, int *result)
{
    /* Hidden: the program's descriptor is the real file, and its numbering
     * must not move. */
    int control_fd = control_channel_connect(shim_config()->harness_socket_path, true, true);
    if (control_fd < 0) {
        shim_debug("open(%s): harness unreachable (%s): opened unwatched", path, strerror(errno));
        return false;
    }
    struct iovec name = {(void *)path, strlen(path)};
    struct control_call call = {
        .request = {.op = SHIM_OP_FILE_OPEN, .value = (uint32_t)open_call->flags},
        .payload = &name,
        .payload_parts = 1,
        .passed_fd = -1,
    };
    if (control_channel_call(control_fd, &call) != 0) {
        shim_debug("open(%s): harness failed: opened unwatched", path);
        raw_close(control_fd);
        return false;
    }
    if (call.reply.error != 0) {
        shim_debug("open(%s) refused by the harness: %s", path, strerror(call.reply.error));
        raw_close(control_fd);
        *result = fail(call.reply.error);
        return true;
    }
    if (call.reply.value == 0) {
        shim_debug("open(%s): not of interest to the harness", path);
        raw_close(control_fd);
        return false;
    }
    *result = open_real_file(open_call, path, control_fd, &call.reply);
    return true;
}

bool watched_file_open(const struct open_call *call, int *result)
{
    /* The cheap test first: this runs for every open() of the program. */
    const struct shim_config *config = shim_config();
    if (!shim_watches_anything(config) || call->path == NULL || call->path[0] == '\0' ||
        (call->flags & (O_DIRECTORY | O_PATH)))
        return false;
    int saved_errno = errno;
    char path[PATH_MAX];
    bool handled = false;
    if (shim_path_absolute(call->dirfd, call->path, path, sizeof path)) {
        shim_path_tidy(path);
        handled = shim_watches(config, path) && open_watched(call, path, result);
    }
    if (!handled || *result >= 0)
        errno = saved_errno; /* a successful open leaves errno alone */
    return handled;
}

/* ---- what a call is ----------------------------------------------------------- */

static enum shim_file_op op_of(enum watched_entry entry)
{
    if (entry >= WATCHED_FSYNC)
        return SHIM_FILE_SYNC;
    return entry >= WATCHED_WRITE ? SHIM_FILE_WRITE : SHIM_FILE_READ;
}

static bool is_vectored(enum watched_entry entry)
{
    switch (entry) {
    case WATCHED_READV:
    case WATCHED_PREADV:
    case WATCHED_PREADV64:
    case WATCHED_PREADV2:
    case WATCHED_PREADV64V2:
    case WATCHED_WRITEV:
    case WATCHED_PWRITEV:
    case WATCHED_PWRITEV64:
    case WATCHED_PWRITEV2:
    case WATCHED_PWRITEV64V2:
        return true;
    default:
        return false;
    }
}

static bool takes_offset_or_position(enum watched_entry entry)
{
    return entry == WATCHED_PREADV2 || entry == WATCHED_PREADV64V2 || entry == WATCHED_PWRITEV2 ||
           entry == WATCHED_PWRITEV64V2;
}

/* read(), write() and their vectored forms, and p*v2() with offset -1. */
static bool at_position(const struct watched_call *call)
{
    switch (call->entry) {
    case WATCHED_READ:
    case WATCHED_READV:
    case WATCHED_WRITE:
    case WATCHED_WRITEV:
        return true;
    default:
        return takes_offset_or_position(call->entry) && call->offset == -1;
    }
}

/* Bytes the call asks for; false for a call the kernel refuses before it
 * looks at the file (a negative offset, a total beyond SSIZE_MAX): the
 * harness is not asked about those. */
static bool bytes_asked(const struct watched_call *call, size_t *total)
{
    *total = 0;
    if (op_of(call->entry) == SHIM_FILE_SYNC)
        return call->entry != WATCHED_SYNC_FILE_RANGE || (call->offset >= 0 && call->length >= 0);
    if (!at_position(call) && call->offset < 0)
        return false;
    for (size_t i = 0; i < call->part_count; i++) {
        if (call->parts[i].iov_len > (size_t)SSIZE_MAX - *total)
            return false;
        *total += call->parts[i].iov_len;
    }
    return true;
}

/* ---- the real call ------------------------------------------------------------ */

static ssize_t real_call(const struct watched_call *c, const struct iovec *parts, size_t count)
{
    int n = (int)count;
    switch (c->entry) {
    case WATCHED_READ: return real_read()(c->fd, parts[0].iov_base, parts[0].iov_len);
    case WATCHED_READV: return real_readv()(c->fd, parts, n);
    case WATCHED_PREAD: return real_pread()(c->fd, parts[0].iov_base, parts[0].iov_len, (off_t)c->offset);
    case WATCHED_PREAD64: return real_pread64()(c->fd, parts[0].iov_base, parts[0].iov_len, c->offset);
    case WATCHED_PREADV: return real_preadv()(c->fd, parts, n, (off_t)c->offset);
    case WATCHED_PREADV64: return real_preadv64()(c->fd, parts, n, c->offset);
    case WATCHED_PREADV2: return real_preadv2()(c->fd, parts, n, (off_t)c->offset, (int)c->flags);
    case WATCHED_PREADV64V2: return real_preadv64v2()(c->fd, parts, n, c->offset, (int)c->flags);
    case WATCHED_WRITE: return real_write()(c->fd, parts[0].iov_base, parts[0].iov_len);
    case WATCHED_WRITEV: return real_writev()(c->fd, parts, n);
    case WATCHED_PWRITE: return real_pwrite()(c->fd, parts[0].iov_base, parts[0].iov_len, (off_t)c->offset);
    case WATCHED_PWRITE64: return real_pwrite64()(c->fd, parts[0].iov_base, parts[0].iov_len, c->offset);
    case WATCHED_PWRITEV: return real_pwritev()(c->fd, parts, n, (off_t)c->offset);
    case WATCHED_PWRITEV64: return real_pwritev64()(c->fd, parts, n, c->offset);
    case WATCHED_PWRITEV2: return real_pwritev2()(c->fd, parts, n, (off_t)c->offset, (int)c->flags);
    case WATCHED_PWRITEV64V2: return real_pwritev64v2()(c->fd, parts, n, c->offset, (int)c->flags);
    case WATCHED_FSYNC: return real_fsync()(c->fd);
    case WATCHED_FDATASYNC: return real_fdatasync()(c->fd);
    case WATCHED_SYNC_FILE_RANGE: return real_sync_file_range()(c->fd, c->offset, c->length, c->flags);
    }
    return fail(EINVAL);
}

/* The real call on the first `allowed` of the bytes asked for: a short read
 * or write. The kernel sees an ordinary call with shorter buffers. */
static ssize_t real_call_cut(const struct watched_call *call, size_t asked, size_t allowed)
{
    if (allowed >= asked)
        return real_call(call, call->parts, call->part_count);
    if (!is_vectored(call->entry)) {
        struct iovec part = {call->parts[0].iov_base, allowed};
        return real_call(call, &part, 1);
    }
    struct iovec cut[UIO_MAXIOV];
    size_t count = 0;
    for (size_t left = allowed; count < call->part_count && left > 0; count++) {
        cut[count] = call->parts[count];
        if (cut[count].iov_len > left)
            cut[count].iov_len = left;
        left -= cut[count].iov_len;
    }
    return real_call(call, cut, count);
}

/* ---- the exchange ------------------------------------------------------------- */

/* Where the call acts, as SHIM_OP_FILE_IO reports it. */
static off64_t offset_of(const struct watched_file *watched, const struct watched_call *call)
{
    enum shim_file_op op = op_of(call->entry);
    if (op == SHIM_FILE_SYNC)
        return call->entry == WATCHED_SYNC_FILE_RANGE ? call->offset : 0;
    int saved_errno = errno;
    off64_t offset = call->offset;
    if (op == SHIM_FILE_WRITE && watched->append) {
        /* O_APPEND writes land at the end, whatever offset pwrite() names;
         * the kernel's size, without a preload's idea of it. */
        struct statx st;
        offset = syscall(SYS_statx, call->fd, "", AT_EMPTY_PATH, STATX_SIZE, &st) == 0 ? (off64_t)st.stx_size : 0;
    } else if (at_position(call)) {
        offset = real_lseek64()(call->fd, 0, SEEK_CUR);
        if (offset < 0)
            offset = 0; /* not seekable (a pipe, a char device): no position */
    }
    errno = saved_errno;
    return offset;
}

/* One request/reply under the file's rpc_lock. A channel that fails (the
 * harness died or broke the framing) stops the asking for good: every later
 * call, like this one, goes ahead unwatched rather than hang or fail. */
static int exchange(struct emulated_file *file, struct control_call *call)
{
    int saved_errno = errno;
    int rc = control_channel_call(file->watched.control_fd, call);
    if (rc != 0) {
        shim_debug("watched file %u: the harness is gone: no longer asked about", file->watched.id);
        __atomic_store_n(&file->watched.ask, 0u, __ATOMIC_RELAXED);
    }
    errno = saved_errno;
    return rc;
}

static struct shim_request file_request(enum shim_op op, enum shim_file_op file_op, uint32_t value, off64_t offset)
{
    uint64_t at = (uint64_t)offset;
    return (struct shim_request){
        .op = op, .flags = file_op, .value = value, .node = (uint32_t)at, .port = (uint32_t)(at >> 32)};
}

ssize_t watched_file_call(struct emulated_file *file, const struct watched_call *call)
{
    enum shim_file_op op = op_of(call->entry);
    size_t asked;
    bool counted = bytes_asked(call, &asked);
    /* A device ends where its region ends: past it a read or write moves
     * nothing (0), across it only what fits (qcom_rmtfs_mem's clamping). */
    size_t limit = counted ? asked : 0;
    bool clamped = false;
    off64_t device_size = file->watched.device_size;
    if (counted && device_size > 0 && op != SHIM_FILE_SYNC) {
        off64_t at = offset_of(&file->watched, call);
        limit = at >= device_size ? 0 : (size_t)(device_size - at) < asked ? (size_t)(device_size - at) : asked;
        clamped = limit < asked;
    }
    if (!(__atomic_load_n(&file->watched.ask, __ATOMIC_RELAXED) & op) || !counted)
        return clamped ? real_call_cut(call, asked, limit) : real_call(call, call->parts, call->part_count);

    /* One call at a time per file, from the question to the report: the
     * harness reads FILE_DONE as the end of the call FILE_IO announced. */
    pthread_mutex_lock(&file->rpc_lock);
    off64_t offset = offset_of(&file->watched, call);
    uint32_t value = asked > UINT32_MAX ? UINT32_MAX : (uint32_t)asked;
    struct control_call question = {.request = file_request(SHIM_OP_FILE_IO, op, value, offset), .passed_fd = -1};
    if (exchange(file, &question) != 0) {
        pthread_mutex_unlock(&file->rpc_lock);
        return real_call(call, call->parts, call->part_count);
    }
    if (question.reply.error != 0) {
        pthread_mutex_unlock(&file->rpc_lock);
        shim_debug("fd %d: op %#x of %zu bytes at %lld refused by the harness: %s", call->fd, op, asked,
                   (long long)offset, strerror(question.reply.error));
        return fail(question.reply.error);
    }
    bool report = question.reply.node != 0;
    if (!report)
        pthread_mutex_unlock(&file->rpc_lock);

    size_t allowed = question.reply.value < limit ? question.reply.value : limit;
    ssize_t result = real_call_cut(call, asked, allowed);
    if (!report)
        return result;

    /* The harness may hold the program here (or kill it): the call has
     * happened and it knows how. */
    int call_errno = errno;
    struct control_call done = {
        .request = file_request(SHIM_OP_FILE_DONE, op, result > 0 && op != SHIM_FILE_SYNC ? (uint32_t)result : 0,
                                offset),
        .passed_fd = -1,
    };
    done.request.reserved = result < 0 ? (uint32_t)call_errno : 0;
    (void)exchange(file, &done);
    pthread_mutex_unlock(&file->rpc_lock);
    errno = call_errno;
    return result;
}
