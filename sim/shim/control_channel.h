/* The control channel to the harness: connecting, and one request/reply
 * exchange as shim_protocol.h frames it. */
#ifndef RMTFS_HIL_SHIM_CONTROL_CHANNEL_H
#define RMTFS_HIL_SHIM_CONTROL_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "shim_protocol.h"

/* Connects to the harness's listening socket. hidden: moved to a descriptor
 * >= SHIM_CONTROL_FD_MIN so the program's own numbering is undisturbed.
 * Returns the descriptor, or -1 with errno. */
int control_channel_connect(const char *socket_path, bool hidden, bool close_on_exec);

struct control_call {
    struct shim_request request;
    const struct iovec *payload;     /* appended to the request */
    size_t payload_parts;
    int passed_fd;                   /* sent with SCM_RIGHTS when >= 0 */
    struct shim_reply reply;
    void *reply_payload;             /* where a reply's payload goes */
    size_t reply_payload_capacity;
    size_t reply_payload_bytes;
};

/* Sends call->request and waits for the reply. 0 when a reply came (its
 * error field may be set); -1 with errno when the channel itself failed (the
 * harness died or broke the framing). Signals do not interrupt the exchange:
 * a reply left unread would answer the next request. */
int control_channel_call(int fd, struct control_call *call);

/* Sends a request that has no reply (SHIM_OP_CONSUMED). */
int control_channel_notify(int fd, const struct shim_request *request);

#endif
