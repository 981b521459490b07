/* The socket calls of emulated AF_QIPCRTR sockets. Validation the kernel does
 * before it touches the fabric is done here, in the kernel's order; the rest
 * (ports, routing, flow control, resets) is the harness's, one RPC each.
 *
 * Not reproduced: a pending ENETRESET is a queued record, so poll() reports
 * POLLIN rather than POLLERR and getsockopt(SO_ERROR) does not show it;
 * FIONREAD/SIOCINQ count the record header; SO_SNDTIMEO does not bound a
 * send the harness holds back for flow control; recvmmsg() ignores its
 * timeout; SO_PEERCRED names the harness. */
#define _GNU_SOURCE
#include "qrtr_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control_channel.h"
#include "raw_syscall.h"
#include "real_libc.h"
#include "shim_config.h"
#include "shim_protocol.h"

_Static_assert(sizeof(struct sockaddr_qrtr) == 12, "sockaddr_qrtr: u16 family, 2-byte hole, u32 node, u32 port");
_Static_assert(AF_QIPCRTR == SHIM_AF_QIPCRTR, "AF_QIPCRTR");

enum {
    socket_type_mask = 0xf,       /* SOCK_TYPE_MASK in the kernel */
    socket_type_count = 11,       /* SOCK_MAX: SOCK_PACKET + 1 */
    sockaddr_storage_bytes = sizeof(struct sockaddr_storage),
    /* Message parts received in place after the datagram header; a longer
     * list is served from one bounce buffer. */
    receive_parts_inline_max = 16,
    mmsg_entries_max = UIO_MAXIOV, /* the kernel's clamp on vlen */
};

static int fail(int error)
{
    errno = error;
    return -1;
}

static uint32_t load_u32(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
static void store_u32(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }

static void raise_u32(uint32_t *word, uint32_t value)
{
    uint32_t seen = load_u32(word);
    while (seen < value && !__atomic_compare_exchange_n(word, &seen, value, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

/* The file behind fd when it is an emulated socket; *other_kind set when fd
 * is emulated but not a socket (a remoteproc state file: ENOTSOCK). */
static struct emulated_file *acquire_socket(int fd, bool *other_kind)
{
    *other_kind = false;
    struct emulated_file *file = fd_table_acquire(fd);
    if (file != NULL && file->kind != EMULATED_QRTR_SOCKET) {
        emulated_file_release(file);
        *other_kind = true;
        return NULL;
    }
    return file;
}

/* sockaddr_qrtr in, as bind/connect/sendto check it. */
static int read_address(const struct sockaddr *address, socklen_t address_bytes, struct sockaddr_qrtr *out)
{
    if ((int)address_bytes < 0 || address_bytes > sockaddr_storage_bytes)
        return EINVAL;
    if (address_bytes < sizeof *out)
        return EINVAL;
    if (address == NULL)
        return EFAULT;
    memcpy(out, address, sizeof *out);
    if (out->sq_family != AF_QIPCRTR)
        return EINVAL;
    return 0;
}

/* sockaddr_qrtr out, as the kernel's move_addr_to_user(): the caller's
 * buffer gets what fits, *address_bytes the real size. */
static int write_address(const struct sockaddr_qrtr *value, struct sockaddr *address, socklen_t *address_bytes)
{
    if (address_bytes == NULL)
        return EFAULT;
    int room = (int)*address_bytes;
    if (room < 0)
        return EINVAL;
    size_t copied = (size_t)room < sizeof *value ? (size_t)room : sizeof *value;
    if (copied > 0) {
        if (address == NULL)
            return EFAULT;
        memcpy(address, value, copied);
    }
    *address_bytes = sizeof *value;
    return 0;
}

/* Filled in place, not returned by value: a struct copy need not carry the
 * zeroed hole after sq_family, and the kernel promises it. */
static void fill_address(struct sockaddr_qrtr *address, uint32_t node, uint32_t port)
{
    memset(address, 0, sizeof *address);
    address->sq_family = AF_QIPCRTR;
    address->sq_node = node;
    address->sq_port = port;
}

static int validate_type(int type)
{
    if ((type & ~socket_type_mask) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return EINVAL;
    int base = type & socket_type_mask;
    if (base >= socket_type_count)
        return EINVAL;
    return base == SOCK_DGRAM ? 0 : EPROTOTYPE;
}

/* One request/reply under the socket's rpc lock. 0 or -1 with errno (the
 * harness is gone); reply errors are left in call->reply. */
static int socket_call(struct emulated_file *file, struct control_call *call)
{
    call->passed_fd = -1;
    pthread_mutex_lock(&file->rpc_lock);
    int rc = control_channel_call(file->socket.control_fd, call);
    pthread_mutex_unlock(&file->rpc_lock);
    if (rc != 0)
        errno = EIO;
    return rc;
}

static void note_own_port(struct qrtr_socket *socket, const struct shim_reply *reply)
{
    if (reply->port != 0)
        store_u32(&socket->port, reply->port);
}

static int open_socket(int type)
{
    int error = validate_type(type);
    if (error != 0)
        return fail(error);

    const char *harness = shim_config()->harness_socket_path;
    int pair[2];
    if (raw_socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return -1;
    int control = control_channel_connect(harness, true, true);
    if (control < 0) {
        shim_debug("socket(AF_QIPCRTR): harness at %s unreachable (%s): EAFNOSUPPORT, as without QRTR", harness,
                   strerror(errno));
        raw_close(pair[0]);
        raw_close(pair[1]);
        return fail(EAFNOSUPPORT);
    }
    struct control_call call = {
        .request = {.op = SHIM_OP_OPEN, .node = (uint32_t)getpid(), .value = SHIM_PROTOCOL_VERSION},
        .passed_fd = pair[1],
    };
    int rc = control_channel_call(control, &call);
    raw_close(pair[1]);
    if (rc != 0 || call.reply.error != 0) {
        error = rc != 0 ? EAFNOSUPPORT : call.reply.error;
        shim_debug("socket(AF_QIPCRTR): harness refused SHIM_OP_OPEN: %s", strerror(error));
        raw_close(control);
        raw_close(pair[0]);
        return fail(error);
    }

    int fd = pair[0];
    if (!(type & SOCK_CLOEXEC))
        raw_fcntl(fd, F_SETFD, 0);
    if (type & SOCK_NONBLOCK)
        raw_fcntl(fd, F_SETFL, raw_fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    struct emulated_file *file = emulated_file_new(EMULATED_QRTR_SOCKET);
    if (file == NULL) {
        raw_close(control);
        raw_close(fd);
        return fail(ENOMEM);
    }
    file->socket.control_fd = control;
    file->socket.local_node = call.reply.node;
    if (fd_table_install(fd, file) != 0) {
        error = errno;
        emulated_file_release(file);
        raw_close(fd);
        return fail(error);
    }
    shim_debug("socket(AF_QIPCRTR) = %d (control channel %d, local node %u)", fd, control, call.reply.node);
    return fd;
}

static int bind_socket(struct emulated_file *file, int fd, const struct sockaddr *address, socklen_t address_bytes)
{
    struct sockaddr_qrtr wanted;
    int error = read_address(address, address_bytes, &wanted);
    if (error != 0)
        return fail(error);
    struct control_call call = {.request = {.op = SHIM_OP_BIND, .node = wanted.sq_node, .port = wanted.sq_port}};
    if (socket_call(file, &call) != 0)
        return -1;
    shim_debug("bind(%d, %u:%#x) = %s", fd, wanted.sq_node, wanted.sq_port,
               call.reply.error ? strerror(call.reply.error) : "0");
    if (call.reply.error != 0)
        return fail(call.reply.error);
    note_own_port(&file->socket, &call.reply);
    return 0;
}

static int connect_socket(struct emulated_file *file, int fd, const struct sockaddr *address,
                          socklen_t address_bytes)
{
    struct sockaddr_qrtr peer;
    int error = read_address(address, address_bytes, &peer);
    if (error != 0)
        return fail(error);
    struct qrtr_socket *socket = &file->socket;
    struct control_call call = {.request = {.op = SHIM_OP_CONNECT, .node = peer.sq_node, .port = peer.sq_port}};
    call.passed_fd = -1;
    pthread_mutex_lock(&file->rpc_lock);
    /* The kernel disconnects first: a failed autobind leaves it unconnected. */
    socket->connected = false;
    int rc = control_channel_call(socket->control_fd, &call);
    if (rc == 0 && call.reply.error == 0) {
        socket->connected = true;
        socket->peer_node = peer.sq_node;
        socket->peer_port = peer.sq_port;
    }
    pthread_mutex_unlock(&file->rpc_lock);
    if (rc != 0)
        return fail(EIO);
    shim_debug("connect(%d, %u:%#x) = %s", fd, peer.sq_node, peer.sq_port,
               call.reply.error ? strerror(call.reply.error) : "0");
    if (call.reply.error != 0)
        return fail(call.reply.error);
    note_own_port(socket, &call.reply);
    return 0;
}

static bool add_lengths(const struct iovec *parts, size_t part_count, size_t *total)
{
    *total = 0;
    for (size_t i = 0; i < part_count; i++) {
        if (parts[i].iov_len > SSIZE_MAX - *total)
            return false;
        *total += parts[i].iov_len;
    }
    return true;
}

ssize_t qrtr_socket_send(struct emulated_file *file, int fd, const struct iovec *parts, size_t part_count, int flags,
                         const struct sockaddr *address, socklen_t address_bytes)
{
    struct qrtr_socket *socket = &file->socket;
    if (flags & ~MSG_DONTWAIT)
        return fail(EINVAL);
    size_t length;
    if (!add_lengths(parts, part_count, &length))
        return fail(EINVAL);
    if (length > SHIM_DATAGRAM_MAX_BYTES)
        return fail(EMSGSIZE);
    struct sockaddr_qrtr destination;
    if (address != NULL) {
        int error = read_address(address, address_bytes, &destination);
        if (error != 0)
            return fail(error);
    }
    int file_flags = raw_fcntl(fd, F_GETFL, 0);
    bool nonblocking = (flags & MSG_DONTWAIT) || (file_flags >= 0 && (file_flags & O_NONBLOCK));

    struct control_call call = {
        .request = {.op = SHIM_OP_SEND, .flags = nonblocking ? SHIM_SEND_NONBLOCK : 0},
        .payload = parts,
        .payload_parts = part_count,
        .passed_fd = -1,
    };
    pthread_mutex_lock(&file->rpc_lock);
    if (address == NULL) {
        if (!socket->connected) {
            pthread_mutex_unlock(&file->rpc_lock);
            return fail(ENOTCONN);
        }
        fill_address(&destination, socket->peer_node, socket->peer_port);
    }
    call.request.node = destination.sq_node;
    call.request.port = destination.sq_port;
    int rc = control_channel_call(socket->control_fd, &call);
    pthread_mutex_unlock(&file->rpc_lock);
    if (rc != 0)
        return fail(EIO);

    shim_debug("send(%d, %zu bytes to %u:%#x%s) = %s", fd, length, destination.sq_node, destination.sq_port,
               nonblocking ? ", nonblocking" : "", call.reply.error ? strerror(call.reply.error) : "ok");
    note_own_port(socket, &call.reply);
    if (call.reply.error != 0) {
        if (call.reply.error == ENETRESET)
            raise_u32(&socket->reset_generation_consumed, call.reply.value);
        return fail(call.reply.error);
    }
    return (ssize_t)call.reply.value;
}

/* One message from the data channel: its header into *header, its payload
 * into parts. Returns the datagram's whole payload size, which may exceed
 * capacity (the rest is lost, as the kernel drops it). */
static ssize_t receive_message(int fd, struct shim_datagram *header, const struct iovec *parts, size_t part_count,
                               size_t capacity, int flags)
{
    struct iovec message_parts[receive_parts_inline_max + 1];
    struct msghdr message = {.msg_iov = message_parts};
    message_parts[0] = (struct iovec){header, sizeof *header};
    char *bounce = NULL;
    size_t bounce_bytes = 0;
    if (part_count <= receive_parts_inline_max) {
        memcpy(&message_parts[1], parts, part_count * sizeof *parts);
        message.msg_iovlen = 1 + part_count;
    } else {
        bounce_bytes = capacity < SHIM_DATAGRAM_MAX_BYTES ? capacity : SHIM_DATAGRAM_MAX_BYTES;
        bounce = malloc(bounce_bytes + 1);
        if (bounce == NULL)
            return fail(ENOMEM);
        message_parts[1] = (struct iovec){bounce, bounce_bytes};
        message.msg_iovlen = 2;
    }
    /* MSG_TRUNC: the unix socket then reports the full length. */
    ssize_t got = raw_recvmsg(fd, &message, flags | MSG_TRUNC);
    if (bounce != NULL) {
        if (got > (ssize_t)sizeof *header) {
            size_t left = (size_t)got - sizeof *header;
            if (left > bounce_bytes)
                left = bounce_bytes;
            const char *from = bounce;
            for (size_t i = 0; i < part_count && left > 0; i++) {
                size_t n = parts[i].iov_len < left ? parts[i].iov_len : left;
                memcpy(parts[i].iov_base, from, n);
                from += n;
                left -= n;
            }
        }
        int saved_errno = errno;
        free(bounce);
        errno = saved_errno;
    }
    if (got < 0)
        return -1;
    if (got == 0)
        return fail(ECONNRESET); /* the harness closed the data channel */
    if ((size_t)got < sizeof *header)
        return fail(EIO);
    return got - (ssize_t)sizeof *header;
}

/* A peeked record that must not be seen again is taken off the queue. */
static void drop_peeked(int fd)
{
    struct shim_datagram header;
    struct iovec part = {&header, sizeof header};
    struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1};
    (void)raw_recvmsg(fd, &message, MSG_DONTWAIT);
}

static void report_error_seen(struct emulated_file *file, uint32_t generation)
{
    struct shim_request request = {.op = SHIM_OP_ERROR_SEEN, .node = generation};
    pthread_mutex_lock(&file->rpc_lock);
    (void)control_channel_notify(file->socket.control_fd, &request);
    pthread_mutex_unlock(&file->rpc_lock);
}

static void report_consumed(struct emulated_file *file, const struct shim_datagram *header)
{
    struct shim_request request = {.op = SHIM_OP_CONSUMED, .node = header->node, .port = header->port};
    pthread_mutex_lock(&file->rpc_lock);
    (void)control_channel_notify(file->socket.control_fd, &request);
    pthread_mutex_unlock(&file->rpc_lock);
}

ssize_t qrtr_socket_receive(struct emulated_file *file, int fd, const struct iovec *parts, size_t part_count,
                            int flags, struct sockaddr_qrtr *source, int *message_flags)
{
    struct qrtr_socket *socket = &file->socket;
    *message_flags = 0;
    if (load_u32(&socket->port) == 0)
        return fail(EADDRNOTAVAIL);
    size_t capacity;
    if (!add_lengths(parts, part_count, &capacity))
        return fail(EINVAL);
    /* MSG_TRUNC is not passed on: qrtr returns what it copied, always. */
    int channel_flags = flags & (MSG_DONTWAIT | MSG_PEEK);
    for (;;) {
        struct shim_datagram header;
        ssize_t payload = receive_message(fd, &header, parts, part_count, capacity, channel_flags);
        if (payload < 0) {
            shim_debug("recv(%d) = %s", fd, strerror(errno));
            return -1;
        }
        if (header.kind == SHIM_DATAGRAM_ERROR) {
            if (flags & MSG_PEEK)
                drop_peeked(fd); /* the kernel's sock_error() clears sk_err even when peeking */
            if (header.node <= load_u32(&socket->reset_generation_consumed)) {
                shim_debug("recv(%d): error record %u already reported by a send, skipped", fd, header.node);
                continue;
            }
            shim_debug("recv(%d) = %s (error record %u)", fd, strerror(header.error), header.node);
            report_error_seen(file, header.node);
            return fail(header.error > 0 ? header.error : EIO);
        }
        if (header.kind != SHIM_DATAGRAM_DATA) {
            if (flags & MSG_PEEK)
                drop_peeked(fd);
            shim_debug("recv(%d): unknown record kind %u skipped", fd, header.kind);
            continue;
        }
        size_t copied = (size_t)payload < capacity ? (size_t)payload : capacity;
        if ((size_t)payload > capacity)
            *message_flags |= MSG_TRUNC;
        fill_address(source, header.node, header.port);
        if ((header.flags & SHIM_DATAGRAM_CONFIRM_RX) && !(flags & MSG_PEEK))
            report_consumed(file, &header);
        shim_debug("recv(%d) = %zu of %zd bytes from %u:%#x%s%s", fd, copied, payload, header.node, header.port,
                   (flags & MSG_PEEK) ? ", peeked" : "",
                   (header.flags & SHIM_DATAGRAM_CONFIRM_RX) ? ", confirm_rx" : "");
        return (ssize_t)copied;
    }
}

/* ---- the interposed socket calls ---------------------------------------- */

#define SHIM_ON_SOCKET(fd, pass_through, emulated)         \
    do {                                                   \
        bool other_kind;                                   \
        struct emulated_file *file = acquire_socket((fd), &other_kind); \
        if (file == NULL) {                                \
            if (other_kind)                                \
                return fail(ENOTSOCK);                     \
            return (pass_through);                         \
        }                                                  \
        __typeof__(pass_through) result = (emulated);      \
        emulated_file_release(file);                       \
        return result;                                     \
    } while (0)

SHIM_EXPORT int socket(int domain, int type, int protocol)
{
    if (domain != AF_QIPCRTR || !shim_emulates_harness_objects(shim_config()))
        return fd_table_fresh(real_socket()(domain, type, protocol));
    return open_socket(type);
}

SHIM_EXPORT int socketpair(int domain, int type, int protocol, int fds[2])
{
    if (domain != AF_QIPCRTR || !shim_emulates_harness_objects(shim_config())) {
        int rc = real_socketpair()(domain, type, protocol, fds);
        if (rc == 0) {
            fd_table_fresh(fds[0]);
            fd_table_fresh(fds[1]);
        }
        return rc;
    }
    int error = validate_type(type);
    return fail(error != 0 ? error : EOPNOTSUPP); /* sock_no_socketpair */
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *address, socklen_t address_bytes)
{
    SHIM_ON_SOCKET(fd, real_bind()(fd, address, address_bytes), bind_socket(file, fd, address, address_bytes));
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *address, socklen_t address_bytes)
{
    SHIM_ON_SOCKET(fd, real_connect()(fd, address, address_bytes), connect_socket(file, fd, address, address_bytes));
}

static int own_name(struct emulated_file *file, struct sockaddr *address, socklen_t *address_bytes)
{
    struct sockaddr_qrtr own;
    fill_address(&own, file->socket.local_node, load_u32(&file->socket.port));
    int error = write_address(&own, address, address_bytes);
    return error != 0 ? fail(error) : 0;
}

static int peer_name(struct emulated_file *file, struct sockaddr *address, socklen_t *address_bytes)
{
    pthread_mutex_lock(&file->rpc_lock);
    bool connected = file->socket.connected;
    struct sockaddr_qrtr peer;
    fill_address(&peer, file->socket.peer_node, file->socket.peer_port);
    pthread_mutex_unlock(&file->rpc_lock);
    if (!connected)
        return fail(ENOTCONN);
    int error = write_address(&peer, address, address_bytes);
    return error != 0 ? fail(error) : 0;
}

SHIM_EXPORT int getsockname(int fd, struct sockaddr *address, socklen_t *address_bytes)
{
    SHIM_ON_SOCKET(fd, real_getsockname()(fd, address, address_bytes), own_name(file, address, address_bytes));
}

SHIM_EXPORT int getpeername(int fd, struct sockaddr *address, socklen_t *address_bytes)
{
    SHIM_ON_SOCKET(fd, real_getpeername()(fd, address, address_bytes), peer_name(file, address, address_bytes));
}

/* SO_DOMAIN, SO_PROTOCOL and SO_TYPE describe the socket, not the UNIX
 * channel under it; every other option is the channel's (SO_RCVTIMEO and
 * SO_RCVBUF then act on the queue the program really reads). */
static int socket_option(int fd, int level, int name, void *value, socklen_t *value_bytes)
{
    if (level != SOL_SOCKET || (name != SO_DOMAIN && name != SO_PROTOCOL && name != SO_TYPE))
        return real_getsockopt()(fd, level, name, value, value_bytes);
    int answer = name == SO_DOMAIN ? AF_QIPCRTR : name == SO_TYPE ? SOCK_DGRAM : 0;
    if (value_bytes == NULL)
        return fail(EFAULT);
    int room = (int)*value_bytes;
    if (room < 0)
        return fail(EINVAL);
    size_t copied = (size_t)room < sizeof answer ? (size_t)room : sizeof answer;
    if (copied > 0) {
        if (value == NULL)
            return fail(EFAULT);
        memcpy(value, &answer, copied);
    }
    *value_bytes = (socklen_t)copied;
    return 0;
}

SHIM_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *value_bytes)
{
    SHIM_ON_SOCKET(fd, real_getsockopt()(fd, level, name, value, value_bytes),
                   socket_option(fd, level, name, value, value_bytes));
}

SHIM_EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t value_bytes)
{
    SHIM_ON_SOCKET(fd, real_setsockopt()(fd, level, name, value, value_bytes),
                   real_setsockopt()(fd, level, name, value, value_bytes));
}

SHIM_EXPORT int listen(int fd, int backlog)
{
    SHIM_ON_SOCKET(fd, real_listen()(fd, backlog), fail(EOPNOTSUPP));
}

SHIM_EXPORT int accept(int fd, struct sockaddr *address, socklen_t *address_bytes)
{
    SHIM_ON_SOCKET(fd, fd_table_fresh(real_accept()(fd, address, address_bytes)), fail(EOPNOTSUPP));
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *address, socklen_t *address_bytes, int flags)
{
    SHIM_ON_SOCKET(fd, fd_table_fresh(real_accept4()(fd, address, address_bytes, flags)),
                   fail((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) ? EINVAL : EOPNOTSUPP));
}

SHIM_EXPORT int shutdown(int fd, int how)
{
    SHIM_ON_SOCKET(fd, real_shutdown()(fd, how), fail(EOPNOTSUPP));
}

static ssize_t send_buffer(struct emulated_file *file, int fd, const void *buffer, size_t length, int flags,
                           const struct sockaddr *address, socklen_t address_bytes)
{
    struct iovec part = {(void *)buffer, length};
    return qrtr_socket_send(file, fd, &part, 1, flags, address, address_bytes);
}

SHIM_EXPORT ssize_t send(int fd, const void *buffer, size_t length, int flags)
{
    SHIM_ON_SOCKET(fd, real_send()(fd, buffer, length, flags), send_buffer(file, fd, buffer, length, flags, NULL, 0));
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *address,
                           socklen_t address_bytes)
{
    /* A non-NULL address is an address, even with length 0 (then EINVAL). */
    SHIM_ON_SOCKET(fd, real_sendto()(fd, buffer, length, flags, address, address_bytes),
                   send_buffer(file, fd, buffer, length, flags, address, address_bytes));
}

static ssize_t send_message(struct emulated_file *file, int fd, const struct msghdr *message, int flags)
{
    if (message == NULL)
        return fail(EFAULT);
    if (message->msg_iovlen > UIO_MAXIOV)
        return fail(EMSGSIZE);
    if ((int)message->msg_namelen < 0)
        return fail(EINVAL);
    /* The kernel reads no address when either the pointer or the length is
     * zero, and clamps an oversized length. */
    const struct sockaddr *address = NULL;
    socklen_t address_bytes = 0;
    if (message->msg_name != NULL && message->msg_namelen != 0) {
        address = message->msg_name;
        address_bytes = message->msg_namelen > sockaddr_storage_bytes ? sockaddr_storage_bytes : message->msg_namelen;
    }
    return qrtr_socket_send(file, fd, message->msg_iov, message->msg_iovlen, flags, address, address_bytes);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *message, int flags)
{
    SHIM_ON_SOCKET(fd, real_sendmsg()(fd, message, flags), send_message(file, fd, message, flags));
}

static int send_messages(struct emulated_file *file, int fd, struct mmsghdr *messages, unsigned count, int flags)
{
    if (count > mmsg_entries_max)
        count = mmsg_entries_max;
    unsigned sent = 0;
    for (; sent < count; sent++) {
        /* The kernel marks all but the last message MSG_BATCH, which qrtr's
         * flag check refuses: only a single-message sendmmsg() succeeds. */
        int message_flags = sent + 1 < count ? flags | MSG_BATCH : flags;
        ssize_t n = send_message(file, fd, &messages[sent].msg_hdr, message_flags);
        if (n < 0)
            return sent > 0 ? (int)sent : -1;
        messages[sent].msg_len = (unsigned)n;
    }
    return (int)sent;
}

SHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags)
{
    SHIM_ON_SOCKET(fd, real_sendmmsg()(fd, messages, count, flags), send_messages(file, fd, messages, count, flags));
}

static ssize_t receive_into(struct emulated_file *file, int fd, void *buffer, size_t length, int flags,
                            struct sockaddr *address, socklen_t *address_bytes)
{
    struct iovec part = {buffer, length};
    struct sockaddr_qrtr source;
    int message_flags;
    ssize_t n = qrtr_socket_receive(file, fd, &part, 1, flags, &source, &message_flags);
    if (n >= 0 && address != NULL) {
        /* As the kernel: the datagram is gone even when this fails. */
        int error = write_address(&source, address, address_bytes);
        if (error != 0)
            return fail(error);
    }
    return n;
}

SHIM_EXPORT ssize_t recv(int fd, void *buffer, size_t length, int flags)
{
    SHIM_ON_SOCKET(fd, real_recv()(fd, buffer, length, flags),
                   receive_into(file, fd, buffer, length, flags, NULL, NULL));
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buffer, size_t length, int flags, struct sockaddr *address,
                             socklen_t *address_bytes)
{
    SHIM_ON_SOCKET(fd, real_recvfrom()(fd, buffer, length, flags, address, address_bytes),
                   receive_into(file, fd, buffer, length, flags, address, address_bytes));
}

extern void __chk_fail(void) __attribute__((noreturn));
ssize_t __recv_chk(int fd, void *buffer, size_t length, size_t buffer_bytes, int flags);
ssize_t __recvfrom_chk(int fd, void *buffer, size_t length, size_t buffer_bytes, int flags, struct sockaddr *address,
                       socklen_t *address_bytes);

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buffer, size_t length, size_t buffer_bytes, int flags)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_SOCKET(fd, real___recv_chk()(fd, buffer, length, buffer_bytes, flags),
                   receive_into(file, fd, buffer, length, flags, NULL, NULL));
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buffer, size_t length, size_t buffer_bytes, int flags,
                                   struct sockaddr *address, socklen_t *address_bytes)
{
    if (length > buffer_bytes)
        __chk_fail();
    SHIM_ON_SOCKET(fd, real___recvfrom_chk()(fd, buffer, length, buffer_bytes, flags, address, address_bytes),
                   receive_into(file, fd, buffer, length, flags, address, address_bytes));
}

static ssize_t receive_message_into(struct emulated_file *file, int fd, struct msghdr *message, int flags)
{
    if (message == NULL)
        return fail(EFAULT);
    if (message->msg_iovlen > UIO_MAXIOV)
        return fail(EMSGSIZE);
    if (message->msg_name != NULL && (int)message->msg_namelen < 0)
        return fail(EINVAL);
    struct sockaddr_qrtr source;
    int message_flags;
    ssize_t n = qrtr_socket_receive(file, fd, message->msg_iov, message->msg_iovlen, flags, &source, &message_flags);
    if (n < 0)
        return -1;
    if (message->msg_name != NULL) {
        size_t copied = message->msg_namelen < sizeof source ? message->msg_namelen : sizeof source;
        memcpy(message->msg_name, &source, copied);
        message->msg_namelen = sizeof source;
    }
    message->msg_controllen = 0; /* qrtr attaches no control messages */
    message->msg_flags = message_flags | (flags & MSG_CMSG_CLOEXEC);
    return n;
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *message, int flags)
{
    SHIM_ON_SOCKET(fd, real_recvmsg()(fd, message, flags), receive_message_into(file, fd, message, flags));
}

/* recvmmsg() without its timeout (a blocking call waits for the first
 * datagram only as long as the socket's own SO_RCVTIMEO). */
static int receive_messages(struct emulated_file *file, int fd, struct mmsghdr *messages, unsigned count, int flags)
{
    if (count > mmsg_entries_max)
        count = mmsg_entries_max;
    unsigned received = 0;
    for (; received < count; received++) {
        ssize_t n = receive_message_into(file, fd, &messages[received].msg_hdr, flags & ~MSG_WAITFORONE);
        if (n < 0)
            return received > 0 ? (int)received : -1;
        messages[received].msg_len = (unsigned)n;
        if (flags & MSG_WAITFORONE)
            flags |= MSG_DONTWAIT;
    }
    return (int)received;
}

SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags, struct timespec *timeout)
{
    SHIM_ON_SOCKET(fd, real_recvmmsg()(fd, messages, count, flags, timeout),
                   receive_messages(file, fd, messages, count, flags));
}
