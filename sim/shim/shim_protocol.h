/*
 * The contract between the preload shim (inside programs under test) and the
 * harness that serves it (the QRTR fabric and the device model). C, so the
 * shim can stay a libc-only shared library; the harness includes it too.
 *
 * Every emulated AF_QIPCRTR socket is two UNIX SOCK_SEQPACKET channels:
 *
 *   data channel     the fd the program holds. Only the harness writes to it,
 *                    and only datagrams (struct shim_datagram + payload), so
 *                    select/poll/epoll, O_NONBLOCK and SO_RCVTIMEO act on it
 *                    exactly as on a kernel socket.
 *   control channel  a hidden fd (CLOEXEC, duplicated above
 *                    SHIM_CONTROL_FD_MIN) connected to the harness's listening
 *                    socket. Requests go out, replies come back, one at a time.
 *                    When the process dies the harness sees EOF: that is the
 *                    socket's release.
 *
 * A socket is created by connecting the control channel, then sending
 * SHIM_OP_OPEN with the harness's end of a socketpair attached (SCM_RIGHTS);
 * the program keeps the other end as its data channel.
 *
 * Remoteproc state files use one control channel each (SHIM_OP_RPROC_*), and
 * so do watched files (SHIM_OP_FILE_*): a real file the program reads and
 * writes itself, whose opens, I/O and syncs the harness observes and may fail.
 * The channel lives as long as the open file description (all its dup()s);
 * its EOF is the file's last close, or the death of the process.
 *
 * All integers are host order: both ends run on the same machine.
 */
#ifndef RMTFS_HIL_SHIM_PROTOCOL_H
#define RMTFS_HIL_SHIM_PROTOCOL_H

#include <stdint.h>

/* Path of the harness's listening socket (SOCK_SEQPACKET). */
#define SHIM_ENV_SOCKET "RMTFS_HIL_SOCKET"
/* Directory the device model lives in; see server/ for its layout. */
#define SHIM_ENV_WORLD "RMTFS_HIL_WORLD"
/* Files the harness watches, ':'-separated absolute paths as the program
 * names them (after making a relative path absolute against the directory it
 * is relative to; symbolic links are not followed; "//" and "." components
 * are dropped, ".." is kept). An entry ending in '/' stands for every file
 * below that directory. Opens of anything else never reach the harness. */
#define SHIM_ENV_WATCH "RMTFS_HIL_WATCH"
/* Set to "1" to make the shim log each intercepted call to stderr. */
#define SHIM_ENV_DEBUG "RMTFS_HIL_SHIM_DEBUG"

#define SHIM_PROTOCOL_VERSION 1u
#define SHIM_CONTROL_FD_MIN 900
#define SHIM_DATAGRAM_MAX_BYTES 65535u
#define SHIM_AF_QIPCRTR 42

enum shim_op {
    /* A new AF_QIPCRTR socket. value: SHIM_PROTOCOL_VERSION, node: pid.
     * SCM_RIGHTS: the harness's end of the data channel.
     * Reply: node = the local node id. */
    SHIM_OP_OPEN = 1,
    /* bind(). node, port: the address asked for.
     * Reply: error, or node/port bound. */
    SHIM_OP_BIND = 2,
    /* connect(): autobinds. node, port: the peer (already validated).
     * Reply: error, or node/port of the socket itself. */
    SHIM_OP_CONNECT = 3,
    /* sendto()/send()/sendmsg(). node, port: destination; flags:
     * SHIM_SEND_NONBLOCK when the call must not wait. Payload follows the
     * request. Reply: error, or value = bytes sent, node/port = the socket's
     * own address (it may have been autobound). */
    SHIM_OP_SEND = 4,
    /* The program read a datagram that carried confirm_rx; the harness owes
     * the sender a RESUME_TX. node, port: the sender. No reply. */
    SHIM_OP_CONSUMED = 5,
    /* A receive reported the pending error of SHIM_DATAGRAM_ERROR record
     * generation `node`; the harness must not report it again on a send
     * (the kernel reports a socket error once). No reply. */
    SHIM_OP_ERROR_SEEN = 6,

    /* A remoteproc "state" file was opened. The request is followed by the
     * file's path as the program named it (no NUL). Reply: error (ENOENT if
     * the harness models no such remoteproc), value = an id for later ops. */
    SHIM_OP_RPROC_OPEN = 16,
    /* read() of the state file. Reply: error, or the state text ("running\n")
     * as the reply payload. */
    SHIM_OP_RPROC_READ = 17,
    /* write() of the state file; payload = the bytes written. Reply: error
     * (EBUSY, EINVAL, ... as the kernel answers) or value = bytes accepted. */
    SHIM_OP_RPROC_WRITE = 18,

    /* A watched path (SHIM_ENV_WATCH) is being opened. value: the open flags;
     * payload: the absolute path (no NUL). Reply:
     *   error != 0             the open fails with it; nothing is opened;
     *   error == 0, value == 0 not of interest: opened as if unwatched, and
     *                          the channel is closed;
     *   error == 0, value != 0 watched: value is the file's id, node the
     *                          enum shim_file_op bits to ask about before
     *                          each such call (SHIM_OP_FILE_IO). The shim
     *                          opens the real file; if that fails it closes
     *                          the channel (the harness sees EOF). */
    SHIM_OP_FILE_OPEN = 32,
    /* Before a call of an asked-about kind on a watched file. flags: enum
     * shim_file_op; value: bytes asked for (0 for a sync); node, port: the
     * file offset, low and high 32 bits (read()/write() report the current
     * position, 0 when the file has none; an O_APPEND write the file's size;
     * a sync 0, sync_file_range() its range's start). Reply:
     *   error != 0   the call fails with it, doing nothing;
     *   error == 0   value = bytes to transfer (at most those asked for; fewer
     *                is a short read or write); node != 0 asks for a
     *                SHIM_OP_FILE_DONE after the real call. */
    SHIM_OP_FILE_IO = 33,
    /* After the real call, when SHIM_OP_FILE_IO's reply asked for it. flags:
     * enum shim_file_op; value: bytes transferred, or 0 for a sync;
     * reserved: 0, or the errno of a failed call; node, port: the offset as
     * in SHIM_OP_FILE_IO. The harness replies (error 0) when the program
     * may go on: until then the program is held inside the call. */
    SHIM_OP_FILE_DONE = 34,
    /* On a fresh channel: the program tried to open a block device of the
     * host, and the shim refused (EACCES) before anything was opened.
     * Payload: the path as the program named it (made absolute); node,
     * port: the device's major and minor; value: the open's flags. The
     * harness replies (error 0); the shim closes the channel. */
    SHIM_OP_DEVICE_REFUSED = 48,
};

enum shim_file_op {
    SHIM_FILE_READ = 1u,  /* read, pread, readv, preadv and variants */
    SHIM_FILE_WRITE = 2u, /* write, pwrite, writev, pwritev and variants */
    SHIM_FILE_SYNC = 4u,  /* fsync, fdatasync (and sync_file_range) */
};

enum shim_send_flags {
    SHIM_SEND_NONBLOCK = 1u,
};

struct shim_request {
    uint32_t op;     /* enum shim_op */
    uint32_t flags;  /* enum shim_send_flags for SHIM_OP_SEND */
    uint32_t node;
    uint32_t port;
    uint32_t value;
    uint32_t reserved; /* SHIM_OP_FILE_DONE: errno of a failed call */
    /* payload (SHIM_OP_SEND, SHIM_OP_RPROC_OPEN, SHIM_OP_RPROC_WRITE,
     * SHIM_OP_FILE_OPEN) follows */
};

struct shim_reply {
    int32_t error;  /* 0, or a positive errno value the call must fail with */
    uint32_t node;
    uint32_t port;
    uint32_t value;
    /* payload (SHIM_OP_RPROC_READ) follows */
};

enum shim_datagram_kind {
    /* A datagram from (node, port); the payload follows the header. */
    SHIM_DATAGRAM_DATA = 1,
    /* The socket's pending error (ENETRESET): the next receive or send fails
     * with `error` once. generation counts these per socket; a send reply that
     * already reported generation G (reply.value) consumes it, and the shim
     * then skips this record; a receive that reports it tells the harness
     * with SHIM_OP_ERROR_SEEN. */
    SHIM_DATAGRAM_ERROR = 2,
};

enum shim_datagram_flags {
    SHIM_DATAGRAM_CONFIRM_RX = 1u, /* the reader must send SHIM_OP_CONSUMED */
};

struct shim_datagram {
    uint32_t kind;   /* enum shim_datagram_kind */
    uint32_t flags;  /* enum shim_datagram_flags */
    uint32_t node;   /* source; for SHIM_DATAGRAM_ERROR: generation */
    uint32_t port;   /* source */
    int32_t error;   /* SHIM_DATAGRAM_ERROR only */
    uint32_t reserved;
};

#endif
