/* Control channel framing over UNIX SOCK_SEQPACKET: one message per request
 * and per reply, so a request's payload travels with it in one sendmsg(). */
#define _GNU_SOURCE
#include "control_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "raw_syscall.h"
#include "shim_config.h"

enum {
    /* iovecs sent in place; a longer payload list is copied into one buffer
     * (the kernel refuses more than UIO_MAXIOV parts, and the request header
     * takes one). */
    request_parts_inline_max = 16,
};

int control_channel_connect(const char *socket_path, bool hidden, bool close_on_exec)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t path_bytes = strlen(socket_path);
    if (path_bytes >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(address.sun_path, socket_path, path_bytes + 1);

    int fd = raw_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = raw_connect(fd, (const struct sockaddr *)&address, sizeof address);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int saved_errno = errno;
        raw_close(fd);
        errno = saved_errno;
        return -1;
    }
    if (hidden) {
        int high = raw_fcntl(fd, F_DUPFD_CLOEXEC, SHIM_CONTROL_FD_MIN);
        if (high >= 0) {
            raw_close(fd);
            fd = high;
        } else {
            /* RLIMIT_NOFILE below SHIM_CONTROL_FD_MIN: keep the low one. */
            shim_debug("control channel stays at fd %d: F_DUPFD to %d failed: %s", fd, SHIM_CONTROL_FD_MIN,
                       strerror(errno));
        }
    }
    if (!close_on_exec)
        raw_fcntl(fd, F_SETFD, 0);
    return fd;
}

static size_t total_bytes(const struct iovec *parts, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += parts[i].iov_len;
    return total;
}

static int send_request(int fd, struct control_call *call)
{
    struct iovec parts[request_parts_inline_max + 1];
    void *flattened = NULL;
    size_t payload_bytes = total_bytes(call->payload, call->payload_parts);
    size_t part_count = 1;
    parts[0] = (struct iovec){&call->request, sizeof call->request};
    if (call->payload_parts <= request_parts_inline_max) {
        for (size_t i = 0; i < call->payload_parts; i++)
            parts[part_count++] = call->payload[i];
    } else {
        flattened = malloc(payload_bytes == 0 ? 1 : payload_bytes);
        if (flattened == NULL)
            return -1;
        size_t at = 0;
        for (size_t i = 0; i < call->payload_parts; i++) {
            memcpy((char *)flattened + at, call->payload[i].iov_base, call->payload[i].iov_len);
            at += call->payload[i].iov_len;
        }
        parts[part_count++] = (struct iovec){flattened, payload_bytes};
    }

    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr message = {.msg_iov = parts, .msg_iovlen = part_count};
    if (call->passed_fd >= 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.bytes;
        message.msg_controllen = sizeof control.bytes;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &call->passed_fd, sizeof(int));
    }

    ssize_t sent;
    do
        sent = raw_sendmsg(fd, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    int saved_errno = errno;
    free(flattened);
    if (sent < 0) {
        errno = saved_errno;
        return -1;
    }
    if ((size_t)sent != sizeof call->request + payload_bytes) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static int receive_reply(int fd, struct control_call *call)
{
    struct iovec parts[2] = {
        {&call->reply, sizeof call->reply},
        {call->reply_payload, call->reply_payload_capacity},
    };
    struct msghdr message = {.msg_iov = parts, .msg_iovlen = call->reply_payload_capacity > 0 ? 2 : 1};
    ssize_t got;
    do
        got = raw_recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -1;
    if (got == 0) {
        errno = ECONNRESET; /* the harness hung up */
        return -1;
    }
    if ((size_t)got < sizeof call->reply || (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        errno = EIO;
        return -1;
    }
    call->reply_payload_bytes = (size_t)got - sizeof call->reply;
    return 0;
}

int control_channel_call(int fd, struct control_call *call)
{
    if (send_request(fd, call) != 0 || receive_reply(fd, call) != 0) {
        shim_debug("control channel fd %d, op %u: %s", fd, call->request.op, strerror(errno));
        return -1;
    }
    return 0;
}

int control_channel_notify(int fd, const struct shim_request *request)
{
    struct control_call call = {.request = *request, .passed_fd = -1};
    if (send_request(fd, &call) != 0) {
        shim_debug("control channel fd %d, op %u: %s", fd, request->op, strerror(errno));
        return -1;
    }
    return 0;
}
