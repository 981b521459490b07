/* The descriptor calls shared by emulated sockets and remoteproc state files
 * (read, write and their variants, lseek, close, dup). A descriptor the shim
 * does not emulate goes straight to the next definition after one lock-free
 * table lookup: rmtfs does all its storage I/O through these. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "emulated_file.h"
#include "qrtr_socket.h"
#include "real_libc.h"
#include "remoteproc_file.h"
#include "shim_config.h"

static ssize_t fail(int error)
{
    errno = error;
    return -1;
}

static bool iovec_count_valid(int count) { return count >= 0 && count <= UIO_MAXIOV; }

static size_t iovec_bytes(const struct iovec *parts, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += parts[i].iov_len;
    return total;
}

/* read()/readv() on an emulated file: a socket reads like recv(fd, 0), except
 * that an empty buffer returns 0 at once (sock_read_iter). */
static ssize_t read_parts(struct emulated_file *file, int fd, const struct iovec *parts, size_t count)
{
    if (file->kind == EMULATED_REMOTEPROC_STATE)
        return remoteproc_file_read(file, fd, parts, count, true, 0);
    if (iovec_bytes(parts, count) == 0)
        return 0;
    struct sockaddr_qrtr source;
    int message_flags;
    return qrtr_socket_receive(file, fd, parts, count, 0, &source, &message_flags);
}

/* write() sends even an empty datagram; writev() of nothing returns 0 before
 * the socket is asked (do_iter_write). */
static ssize_t write_parts(struct emulated_file *file, int fd, const struct iovec *parts, size_t count,
                           bool vectored)
{
    if (file->kind == EMULATED_REMOTEPROC_STATE)
        return remoteproc_file_write(file, fd, parts, count, true);
    if (vectored && iovec_bytes(parts, count) == 0)
        return 0;
    return qrtr_socket_send(file, fd, parts, count, 0, NULL, 0);
}

/* pread()/pwrite(): sockets are not seekable (ESPIPE); sysfs files ignore
 * the offset of a write. */
static ssize_t read_at(struct emulated_file *file, int fd, void *buffer, size_t length, off_t offset)
{
    if (file->kind != EMULATED_REMOTEPROC_STATE)
        return fail(ESPIPE);
    if (offset < 0)
        return fail(EINVAL);
    struct iovec part = {buffer, length};
    return remoteproc_file_read(file, fd, &part, 1, false, offset);
}

static ssize_t write_at(struct emulated_file *file, int fd, const void *buffer, size_t length, off_t offset)
{
    if (file->kind != EMULATED_REMOTEPROC_STATE)
        return fail(ESPIPE);
    if (offset < 0)
        return fail(EINVAL);
    struct iovec part = {(void *)buffer, length};
    return remoteproc_file_write(file, fd, &part, 1, false);
}

static off_t seek(struct emulated_file *file, off_t offset, int whence)
{
    if (file->kind != EMULATED_REMOTEPROC_STATE)
        return fail(ESPIPE);
    return remoteproc_file_seek(file, offset, whence);
}

#define SHIM_ON_FILE(fd, pass_through, emulated)               \
    do {                                                       \
        struct emulated_file *file = fd_table_acquire(fd);     \
        if (file == NULL)                                      \
            return (pass_through);                             \
        __typeof__(pass_through) result = (emulated);          \
        emulated_file_release(file);                           \
        return result;                                         \
    } while (0)

SHIM_EXPORT ssize_t read(int fd, void *buffer, size_t length)
{
    SHIM_ON_FILE(fd, real_read()(fd, buffer, length), read_parts(file, fd, &(struct iovec){buffer, length}, 1));
}

extern void __chk_fail(void) __attribute__((noreturn));
ssize_t __read_chk(int fd, void *buffer, size_t length, size_t buffer_bytes);
ssize_t __pread_chk(int fd, void *buffer, size_t length, off_t offset, size_t buffer_bytes);
ssize_t __pread64_chk(int fd, void *buffer, size_t length, off64_t offset, size_t buffer_bytes);

SHIM_EXPORT ssize_t __read_chk(int fd, void *buffer, size_t length, size_t buffer_bytes)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_FILE(fd, real___read_chk()(fd, buffer, length, buffer_bytes),
                 read_parts(file, fd, &(struct iovec){buffer, length}, 1));
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *parts, int count)
{
    SHIM_ON_FILE(fd, real_readv()(fd, parts, count),
                 iovec_count_valid(count) ? read_parts(file, fd, parts, (size_t)count) : fail(EINVAL));
}

SHIM_EXPORT ssize_t pread(int fd, void *buffer, size_t length, off_t offset)
{
    SHIM_ON_FILE(fd, real_pread()(fd, buffer, length, offset), read_at(file, fd, buffer, length, offset));
}

SHIM_EXPORT ssize_t pread64(int fd, void *buffer, size_t length, off64_t offset)
{
    SHIM_ON_FILE(fd, real_pread64()(fd, buffer, length, offset), read_at(file, fd, buffer, length, (off_t)offset));
}

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buffer, size_t length, off_t offset, size_t buffer_bytes)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_FILE(fd, real___pread_chk()(fd, buffer, length, offset, buffer_bytes),
                 read_at(file, fd, buffer, length, offset));
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buffer, size_t length, off64_t offset, size_t buffer_bytes)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_FILE(fd, real___pread64_chk()(fd, buffer, length, offset, buffer_bytes),
                 read_at(file, fd, buffer, length, (off_t)offset));
}

SHIM_EXPORT ssize_t write(int fd, const void *buffer, size_t length)
{
    SHIM_ON_FILE(fd, real_write()(fd, buffer, length),
                 write_parts(file, fd, &(struct iovec){(void *)buffer, length}, 1, false));
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *parts, int count)
{
    SHIM_ON_FILE(fd, real_writev()(fd, parts, count),
                 iovec_count_valid(count) ? write_parts(file, fd, parts, (size_t)count, true) : fail(EINVAL));
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buffer, size_t length, off_t offset)
{
    SHIM_ON_FILE(fd, real_pwrite()(fd, buffer, length, offset), write_at(file, fd, buffer, length, offset));
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buffer, size_t length, off64_t offset)
{
    SHIM_ON_FILE(fd, real_pwrite64()(fd, buffer, length, offset), write_at(file, fd, buffer, length, (off_t)offset));
}

SHIM_EXPORT off_t lseek(int fd, off_t offset, int whence)
{
    SHIM_ON_FILE(fd, real_lseek()(fd, offset, whence), seek(file, offset, whence));
}

SHIM_EXPORT off64_t lseek64(int fd, off64_t offset, int whence)
{
    SHIM_ON_FILE(fd, real_lseek64()(fd, offset, whence), (off64_t)seek(file, (off_t)offset, whence));
}

/* Closing the data channel drops the table's reference; the last reference
 * closes the hidden control channel, which the harness takes as release. */
SHIM_EXPORT int close(int fd)
{
    if (!fd_table_contains(fd))
        return real_close()(fd);
    shim_debug("close(%d)", fd);
    fd_table_remove(fd);
    return real_close()(fd);
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    int rc = real_close_range()(first, last, flags);
    if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        fd_table_remove_range(first, last);
    return rc;
}

/* A duplicate shares the emulated file, as it shares the open file
 * description. Only dup, dup2 and dup3 are followed: a copy made with
 * fcntl(F_DUPFD) is a bare UNIX socket to the shim, and so is a descriptor
 * passed to another process or inherited across exec. After fork() parent and
 * child share the control channel; requests from both at once would mix. */
SHIM_EXPORT int dup(int fd)
{
    if (!fd_table_contains(fd))
        return fd_table_fresh(real_dup()(fd));
    int copy = real_dup()(fd);
    if (copy >= 0)
        fd_table_share(fd, copy);
    return copy;
}

static int after_dup_onto(int from, int to, int rc)
{
    if (rc >= 0 && from != to)
        fd_table_share(from, to); /* also forgets what `to` was */
    return rc;
}

SHIM_EXPORT int dup2(int from, int to)
{
    if (!fd_table_contains(from) && !fd_table_contains(to))
        return real_dup2()(from, to);
    return after_dup_onto(from, to, real_dup2()(from, to));
}

SHIM_EXPORT int dup3(int from, int to, int flags)
{
    if (!fd_table_contains(from) && !fd_table_contains(to))
        return real_dup3()(from, to, flags);
    return after_dup_onto(from, to, real_dup3()(from, to, flags));
}
