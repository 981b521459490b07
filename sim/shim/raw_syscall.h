/* Direct system calls for the shim's private descriptors (control and data
 * channels, the device list, the debug log). Going through libc's symbols
 * would reach the next preload (umockdev), whose wrappers call fstat() and
 * friends, which are this shim's hooks again: re-entry, and deadlock inside a
 * pthread_once. The program's own descriptors still go through real_*(). */
#ifndef RMTFS_HIL_SHIM_RAW_SYSCALL_H
#define RMTFS_HIL_SHIM_RAW_SYSCALL_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline int raw_socket(int domain, int type, int protocol)
{
    return (int)syscall(SYS_socket, domain, type, protocol);
}

static inline int raw_socketpair(int domain, int type, int protocol, int fds[2])
{
    return (int)syscall(SYS_socketpair, domain, type, protocol, fds);
}

static inline int raw_connect(int fd, const struct sockaddr *address, socklen_t address_bytes)
{
    return (int)syscall(SYS_connect, fd, address, address_bytes);
}

static inline ssize_t raw_sendmsg(int fd, const struct msghdr *message, int flags)
{
    return (ssize_t)syscall(SYS_sendmsg, fd, message, flags);
}

static inline ssize_t raw_recvmsg(int fd, struct msghdr *message, int flags)
{
    return (ssize_t)syscall(SYS_recvmsg, fd, message, flags);
}

static inline int raw_fcntl(int fd, int command, long argument)
{
    return (int)syscall(SYS_fcntl, fd, command, argument);
}

static inline int raw_openat(int dirfd, const char *path, int flags)
{
    return (int)syscall(SYS_openat, dirfd, path, flags, 0);
}

static inline ssize_t raw_read(int fd, void *buffer, size_t length)
{
    return (ssize_t)syscall(SYS_read, fd, buffer, length);
}

static inline ssize_t raw_write(int fd, const void *buffer, size_t length)
{
    return (ssize_t)syscall(SYS_write, fd, buffer, length);
}

static inline int raw_close(int fd) { return (int)syscall(SYS_close, fd); }
static inline pid_t raw_getpid(void) { return (pid_t)syscall(SYS_getpid); }

#endif
