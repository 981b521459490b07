/* The descriptor calls shared by emulated sockets, remoteproc state files and
 * watched files (read, write and their variants, syncs, lseek, close, dup). A
 * descriptor the shim neither emulates nor watches goes straight to the next
 * definition after one lock-free table lookup: rmtfs does all its storage I/O
 * through these. */
#define _GNU_SOURCE
#include "fd_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "emulated_file.h"
#include "qrtr_socket.h"
#include "real_libc.h"
#include "remoteproc_file.h"
#include "shim_config.h"
#include "watched_file.h"

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

static ssize_t watched(struct emulated_file *file, enum watched_entry entry, int fd, const struct iovec *parts,
                       size_t count, off64_t offset, unsigned flags)
{
    struct watched_call call = {
        .entry = entry, .fd = fd, .parts = parts, .part_count = count, .offset = offset, .flags = flags};
    return watched_file_call(file, &call);
}

/* read()/readv() on an emulated file: a socket reads like recv(fd, 0), except
 * that an empty buffer returns 0 at once (sock_read_iter). */
ssize_t emulated_file_read(struct emulated_file *file, int fd, const struct iovec *parts, size_t count, bool vectored)
{
    if (file->kind == EMULATED_WATCHED_FILE)
        return watched(file, vectored ? WATCHED_READV : WATCHED_READ, fd, parts, count, 0, 0);
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
ssize_t emulated_file_write(struct emulated_file *file, int fd, const struct iovec *parts, size_t count,
                            bool vectored)
{
    if (file->kind == EMULATED_WATCHED_FILE)
        return watched(file, vectored ? WATCHED_WRITEV : WATCHED_WRITE, fd, parts, count, 0, 0);
    if (file->kind == EMULATED_REMOTEPROC_STATE)
        return remoteproc_file_write(file, fd, parts, count, true);
    if (vectored && iovec_bytes(parts, count) == 0)
        return 0;
    return qrtr_socket_send(file, fd, parts, count, 0, NULL, 0);
}

/* pread()/pwrite() and their vectored forms: sockets are not seekable
 * (ESPIPE); sysfs files ignore the offset of a write. */
static ssize_t read_at(struct emulated_file *file, enum watched_entry entry, int fd, const struct iovec *parts,
                       size_t count, off64_t offset)
{
    if (file->kind == EMULATED_WATCHED_FILE)
        return watched(file, entry, fd, parts, count, offset, 0);
    if (file->kind != EMULATED_REMOTEPROC_STATE)
        return fail(ESPIPE);
    if (offset < 0)
        return fail(EINVAL);
    return remoteproc_file_read(file, fd, parts, count, false, (off_t)offset);
}

static ssize_t write_at(struct emulated_file *file, enum watched_entry entry, int fd, const struct iovec *parts,
                        size_t count, off64_t offset)
{
    if (file->kind == EMULATED_WATCHED_FILE)
        return watched(file, entry, fd, parts, count, offset, 0);
    if (file->kind != EMULATED_REMOTEPROC_STATE)
        return fail(ESPIPE);
    if (offset < 0)
        return fail(EINVAL);
    return remoteproc_file_write(file, fd, parts, count, false);
}

/* preadv2()/pwritev2(): offset -1 is the file position (readv(), writev());
 * the RWF_* flags mean nothing to an emulated file. */
static ssize_t read_v2(struct emulated_file *file, enum watched_entry entry, int fd, const struct iovec *parts,
                       int count, off64_t offset, int flags)
{
    if (!iovec_count_valid(count))
        return fail(EINVAL);
    if (file->kind == EMULATED_WATCHED_FILE)
        return watched(file, entry, fd, parts, (size_t)count, offset, (unsigned)flags);
    if (offset == -1)
        return emulated_file_read(file, fd, parts, (size_t)count, true);
    return read_at(file, entry, fd, parts, (size_t)count, offset);
}

static ssize_t write_v2(struct emulated_file *file, enum watched_entry entry, int fd, const struct iovec *parts,
                        int count, off64_t offset, int flags)
{
    if (!iovec_count_valid(count))
        return fail(EINVAL);
    if (file->kind == EMULATED_WATCHED_FILE)
        return watched(file, entry, fd, parts, (size_t)count, offset, (unsigned)flags);
    if (offset == -1)
        return emulated_file_write(file, fd, parts, (size_t)count, true);
    return write_at(file, entry, fd, parts, (size_t)count, offset);
}

off64_t emulated_file_seek(struct emulated_file *file, int fd, off64_t offset, int whence)
{
    if (file->kind == EMULATED_WATCHED_FILE)
        return real_lseek64()(fd, offset, whence);
    if (file->kind != EMULATED_REMOTEPROC_STATE)
        return fail(ESPIPE);
    return remoteproc_file_seek(file, (off_t)offset, whence);
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

#define SHIM_ONE_PART(buffer, length) (&(struct iovec){(void *)(buffer), (length)})

SHIM_EXPORT ssize_t read(int fd, void *buffer, size_t length)
{
    SHIM_ON_FILE(fd, real_read()(fd, buffer, length),
                 emulated_file_read(file, fd, SHIM_ONE_PART(buffer, length), 1, false));
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
                 emulated_file_read(file, fd, SHIM_ONE_PART(buffer, length), 1, false));
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *parts, int count)
{
    SHIM_ON_FILE(fd, real_readv()(fd, parts, count),
                 iovec_count_valid(count) ? emulated_file_read(file, fd, parts, (size_t)count, true) : fail(EINVAL));
}

SHIM_EXPORT ssize_t pread(int fd, void *buffer, size_t length, off_t offset)
{
    SHIM_ON_FILE(fd, real_pread()(fd, buffer, length, offset),
                 read_at(file, WATCHED_PREAD, fd, SHIM_ONE_PART(buffer, length), 1, offset));
}

SHIM_EXPORT ssize_t pread64(int fd, void *buffer, size_t length, off64_t offset)
{
    SHIM_ON_FILE(fd, real_pread64()(fd, buffer, length, offset),
                 read_at(file, WATCHED_PREAD64, fd, SHIM_ONE_PART(buffer, length), 1, offset));
}

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buffer, size_t length, off_t offset, size_t buffer_bytes)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_FILE(fd, real___pread_chk()(fd, buffer, length, offset, buffer_bytes),
                 read_at(file, WATCHED_PREAD, fd, SHIM_ONE_PART(buffer, length), 1, offset));
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buffer, size_t length, off64_t offset, size_t buffer_bytes)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_FILE(fd, real___pread64_chk()(fd, buffer, length, offset, buffer_bytes),
                 read_at(file, WATCHED_PREAD64, fd, SHIM_ONE_PART(buffer, length), 1, offset));
}

SHIM_EXPORT ssize_t preadv(int fd, const struct iovec *parts, int count, off_t offset)
{
    SHIM_ON_FILE(fd, real_preadv()(fd, parts, count, offset),
                 iovec_count_valid(count) ? read_at(file, WATCHED_PREADV, fd, parts, (size_t)count, offset)
                                          : fail(EINVAL));
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *parts, int count, off64_t offset)
{
    SHIM_ON_FILE(fd, real_preadv64()(fd, parts, count, offset),
                 iovec_count_valid(count) ? read_at(file, WATCHED_PREADV64, fd, parts, (size_t)count, offset)
                                          : fail(EINVAL));
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *parts, int count, off_t offset, int flags)
{
    SHIM_ON_FILE(fd, real_preadv2()(fd, parts, count, offset, flags),
                 read_v2(file, WATCHED_PREADV2, fd, parts, count, offset, flags));
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *parts, int count, off64_t offset, int flags)
{
    SHIM_ON_FILE(fd, real_preadv64v2()(fd, parts, count, offset, flags),
                 read_v2(file, WATCHED_PREADV64V2, fd, parts, count, offset, flags));
}

SHIM_EXPORT ssize_t write(int fd, const void *buffer, size_t length)
{
    SHIM_ON_FILE(fd, real_write()(fd, buffer, length),
                 emulated_file_write(file, fd, SHIM_ONE_PART(buffer, length), 1, false));
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *parts, int count)
{
    SHIM_ON_FILE(fd, real_writev()(fd, parts, count),
                 iovec_count_valid(count) ? emulated_file_write(file, fd, parts, (size_t)count, true) : fail(EINVAL));
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buffer, size_t length, off_t offset)
{
    SHIM_ON_FILE(fd, real_pwrite()(fd, buffer, length, offset),
                 write_at(file, WATCHED_PWRITE, fd, SHIM_ONE_PART(buffer, length), 1, offset));
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buffer, size_t length, off64_t offset)
{
    SHIM_ON_FILE(fd, real_pwrite64()(fd, buffer, length, offset),
                 write_at(file, WATCHED_PWRITE64, fd, SHIM_ONE_PART(buffer, length), 1, offset));
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *parts, int count, off_t offset)
{
    SHIM_ON_FILE(fd, real_pwritev()(fd, parts, count, offset),
                 iovec_count_valid(count) ? write_at(file, WATCHED_PWRITEV, fd, parts, (size_t)count, offset)
                                          : fail(EINVAL));
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *parts, int count, off64_t offset)
{
    SHIM_ON_FILE(fd, real_pwritev64()(fd, parts, count, offset),
                 iovec_count_valid(count) ? write_at(file, WATCHED_PWRITEV64, fd, parts, (size_t)count, offset)
                                          : fail(EINVAL));
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *parts, int count, off_t offset, int flags)
{
    SHIM_ON_FILE(fd, real_pwritev2()(fd, parts, count, offset, flags),
                 write_v2(file, WATCHED_PWRITEV2, fd, parts, count, offset, flags));
}

SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *parts, int count, off64_t offset, int flags)
{
    SHIM_ON_FILE(fd, real_pwritev64v2()(fd, parts, count, offset, flags),
                 write_v2(file, WATCHED_PWRITEV64V2, fd, parts, count, offset, flags));
}

/* Syncs mean something only to a watched file; an emulated one is a UNIX
 * socket underneath, which refuses them as an AF_QIPCRTR socket or a sysfs
 * attribute would (EINVAL). */
static int sync_file(struct emulated_file *file, enum watched_entry entry, int fd, off64_t offset, off64_t length,
                     unsigned flags)
{
    if (file->kind != EMULATED_WATCHED_FILE)
        return fail(EINVAL);
    struct watched_call call = {.entry = entry, .fd = fd, .offset = offset, .length = length, .flags = flags};
    return (int)watched_file_call(file, &call);
}

SHIM_EXPORT int fsync(int fd)
{
    SHIM_ON_FILE(fd, real_fsync()(fd), sync_file(file, WATCHED_FSYNC, fd, 0, 0, 0));
}

SHIM_EXPORT int fdatasync(int fd)
{
    SHIM_ON_FILE(fd, real_fdatasync()(fd), sync_file(file, WATCHED_FDATASYNC, fd, 0, 0, 0));
}

SHIM_EXPORT int sync_file_range(int fd, off64_t offset, off64_t length, unsigned int flags)
{
    SHIM_ON_FILE(fd, real_sync_file_range()(fd, offset, length, flags),
                 sync_file(file, WATCHED_SYNC_FILE_RANGE, fd, offset, length, flags));
}

/* A watched file's position is the real file's. */
SHIM_EXPORT off_t lseek(int fd, off_t offset, int whence)
{
    SHIM_ON_FILE(fd, real_lseek()(fd, offset, whence),
                 file->kind == EMULATED_WATCHED_FILE ? real_lseek()(fd, offset, whence)
                                                     : (off_t)emulated_file_seek(file, fd, offset, whence));
}

SHIM_EXPORT off64_t lseek64(int fd, off64_t offset, int whence)
{
    SHIM_ON_FILE(fd, real_lseek64()(fd, offset, whence), emulated_file_seek(file, fd, offset, whence));
}

/* Closing the descriptor drops the table's reference; the last reference
 * closes the hidden control channel, which the harness takes as release (a
 * socket) or the last close (a watched file). The file is held until the real
 * close is done, so the harness hears of it afterwards; it is forgotten
 * before, so a descriptor number another thread's open reuses meanwhile is
 * not mistaken for it. */
SHIM_EXPORT int close(int fd)
{
    if (!fd_table_contains(fd))
        return real_close()(fd);
    shim_debug("close(%d)", fd);
    struct emulated_file *file = fd_table_acquire(fd);
    fd_table_remove(fd);
    int rc = real_close()(fd);
    emulated_file_release(file); /* keeps errno */
    return rc;
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
