/* The next definition (libc, or a preload library after this one such as
 * umockdev's) of every function the shim interposes. The shim itself calls
 * only these, never its own exported hooks. */
#ifndef RMTFS_HIL_SHIM_REAL_LIBC_H
#define RMTFS_HIL_SHIM_REAL_LIBC_H

#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define SHIM_REAL_FUNCTIONS(X)                                                                  \
    X(int, socket, (int, int, int))                                                             \
    X(int, socketpair, (int, int, int, int *))                                                  \
    X(int, bind, (int, const struct sockaddr *, socklen_t))                                     \
    X(int, connect, (int, const struct sockaddr *, socklen_t))                                  \
    X(int, getsockname, (int, struct sockaddr *, socklen_t *))                                  \
    X(int, getpeername, (int, struct sockaddr *, socklen_t *))                                  \
    X(int, getsockopt, (int, int, int, void *, socklen_t *))                                    \
    X(int, setsockopt, (int, int, int, const void *, socklen_t))                                \
    X(int, listen, (int, int))                                                                  \
    X(int, accept, (int, struct sockaddr *, socklen_t *))                                       \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                                 \
    X(int, shutdown, (int, int))                                                                \
    X(ssize_t, send, (int, const void *, size_t, int))                                          \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t))    \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                      \
    X(int, sendmmsg, (int, struct mmsghdr *, unsigned int, int))                                \
    X(ssize_t, recv, (int, void *, size_t, int))                                                \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))            \
    X(ssize_t, recvmsg, (int, struct msghdr *, int))                                            \
    X(int, recvmmsg, (int, struct mmsghdr *, unsigned int, int, struct timespec *))             \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))                                  \
    X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *)) \
    X(ssize_t, read, (int, void *, size_t))                                                     \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                       \
    X(ssize_t, pread, (int, void *, size_t, off_t))                                             \
    X(ssize_t, pread64, (int, void *, size_t, off64_t))                                         \
    X(ssize_t, __pread_chk, (int, void *, size_t, off_t, size_t))                               \
    X(ssize_t, __pread64_chk, (int, void *, size_t, off64_t, size_t))                           \
    X(ssize_t, readv, (int, const struct iovec *, int))                                         \
    X(ssize_t, write, (int, const void *, size_t))                                              \
    X(ssize_t, pwrite, (int, const void *, size_t, off_t))                                      \
    X(ssize_t, pwrite64, (int, const void *, size_t, off64_t))                                  \
    X(ssize_t, writev, (int, const struct iovec *, int))                                        \
    X(ssize_t, preadv, (int, const struct iovec *, int, off_t))                                 \
    X(ssize_t, preadv64, (int, const struct iovec *, int, off64_t))                             \
    X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int))                           \
    X(ssize_t, preadv64v2, (int, const struct iovec *, int, off64_t, int))                      \
    X(ssize_t, pwritev, (int, const struct iovec *, int, off_t))                                \
    X(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t))                            \
    X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int))                          \
    X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off64_t, int))                     \
    X(int, fsync, (int))                                                                        \
    X(int, fdatasync, (int))                                                                    \
    X(int, sync_file_range, (int, off64_t, off64_t, unsigned int))                              \
    X(off_t, lseek, (int, off_t, int))                                                          \
    X(off64_t, lseek64, (int, off64_t, int))                                                    \
    X(int, close, (int))                                                                        \
    X(int, close_range, (unsigned int, unsigned int, int))                                      \
    X(int, dup, (int))                                                                          \
    X(int, dup2, (int, int))                                                                    \
    X(int, dup3, (int, int, int))                                                               \
    X(int, open, (const char *, int, ...))                                                      \
    X(int, open64, (const char *, int, ...))                                                    \
    X(int, openat, (int, const char *, int, ...))                                               \
    X(int, openat64, (int, const char *, int, ...))                                             \
    X(int, __open_2, (const char *, int))                                                       \
    X(int, __open64_2, (const char *, int))                                                     \
    X(int, __openat_2, (int, const char *, int))                                                \
    X(int, __openat64_2, (int, const char *, int))                                              \
    X(FILE *, fopen, (const char *, const char *))                                              \
    X(FILE *, fopen64, (const char *, const char *))                                            \
    X(int, fstat, (int, struct stat *))                                                         \
    X(int, fstat64, (int, struct stat64 *))                                                     \
    X(int, fstatat, (int, const char *, struct stat *, int))                                    \
    X(int, fstatat64, (int, const char *, struct stat64 *, int))                                \
    X(int, __fxstat, (int, int, struct stat *))                                                 \
    X(int, __fxstat64, (int, int, struct stat64 *))                                             \
    X(int, __fxstatat, (int, int, const char *, struct stat *, int))                            \
    X(int, __fxstatat64, (int, int, const char *, struct stat64 *, int))                        \
    X(int, statx, (int, const char *, int, unsigned int, struct statx *))

/* real_read() returns the next read(); it never returns NULL (a missing
 * definition aborts with a message: the program could not have called the
 * function either). */
#define SHIM_DECLARE_REAL(result, name, parameters) \
    typedef result(*real_##name##_fn) parameters;   \
    real_##name##_fn real_##name(void);
SHIM_REAL_FUNCTIONS(SHIM_DECLARE_REAL)
#undef SHIM_DECLARE_REAL

#endif
