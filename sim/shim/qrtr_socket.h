/* Emulated AF_QIPCRTR sockets: the kernel's socket semantics (net/qrtr/
 * af_qrtr.c) over a data channel the program holds and a hidden control
 * channel to the harness. */
#ifndef RMTFS_HIL_SHIM_QRTR_SOCKET_H
#define RMTFS_HIL_SHIM_QRTR_SOCKET_H

#include <linux/qrtr.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "emulated_file.h"

/* sendmsg() on the socket: address NULL for "no address" (send(), write()). */
ssize_t qrtr_socket_send(struct emulated_file *socket, int fd, const struct iovec *parts, size_t part_count, int flags,
                         const struct sockaddr *address, socklen_t address_bytes);

/* recvmsg() on the socket. *source receives the sender (family set, hole
 * zeroed) and *message_flags what the kernel would put in msg_flags. */
ssize_t qrtr_socket_receive(struct emulated_file *socket, int fd, const struct iovec *parts, size_t part_count,
                            int flags, struct sockaddr_qrtr *source, int *message_flags);

#endif
