/* The shim's behaviour, one scenario per run: `shim_behaviour_test CASE`.
 * Each case runs under LD_PRELOAD=librmtfs_hil_shim.so, against fake_harness
 * unless its name says otherwise, and checks what a program would see on a
 * kernel with AF_QIPCRTR, a sysfs remoteproc and a rmtfs_mem char device. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/qrtr.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_harness_ops.h"

/* Glibc before 2.33 exported these to every program; binaries built then
 * still call them. */
extern int __fxstat(int version, int fd, struct stat *st);

enum {
    local_node = 1,
    chardev_major = 247,   /* what fake_harness's world lists */
    chardev_minor = 1,
    quiet_ms = 100,        /* how long "nothing arrives" is watched for */
    arrival_ms = 2000,     /* how long something expected may take */
};

static const char *current_case;
static int failures;

#define CHECK(condition, ...)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: [%s] expected %s: ", __FILE__, __LINE__, current_case, #condition); \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* `call` must fail with `expected`. */
#define CHECK_FAILS(call, expected)                                                                \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long result_ = (long)(call);                                                               \
        int errno_ = errno;                                                                        \
        CHECK(result_ == -1 && errno_ == (expected), "%s -> %ld, errno %s (want -1, %s)", #call,   \
              result_, strerrorname_np(errno_) ? strerrorname_np(errno_) : "0",                    \
              strerrorname_np(expected));                                                          \
    } while (0)

/* A setup step that must work, or the case cannot go on. */
#define REQUIRE(condition)                                                                         \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: [%s] setup failed: %s (errno %s)\n", __FILE__, __LINE__,        \
                    current_case, #condition, strerror(errno));                                    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static struct sockaddr_qrtr qrtr_address(uint32_t node, uint32_t port)
{
    struct sockaddr_qrtr a;
    memset(&a, 0, sizeof a);
    a.sq_family = AF_QIPCRTR;
    a.sq_node = node;
    a.sq_port = port;
    return a;
}

static int qrtr_socket(void)
{
    int fd = socket(AF_QIPCRTR, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    return fd;
}

static int bound_socket(uint32_t port)
{
    int fd = qrtr_socket();
    struct sockaddr_qrtr a = qrtr_address(local_node, port);
    REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static struct sockaddr_qrtr name_of(int fd)
{
    struct sockaddr_qrtr a;
    memset(&a, 0xaa, sizeof a);
    socklen_t length = sizeof a;
    REQUIRE(getsockname(fd, (struct sockaddr *)&a, &length) == 0);
    REQUIRE(length == sizeof a);
    return a;
}

static void send_to(int fd, uint32_t port, const char *text)
{
    struct sockaddr_qrtr a = qrtr_address(local_node, port);
    REQUIRE(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)strlen(text));
}

static bool readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static bool select_readable(int fd)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    struct timeval none = {0, 0};
    return select(fd + 1, &set, NULL, NULL, &none) == 1 && FD_ISSET(fd, &set);
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
}

/* ---- sockets -------------------------------------------------------------- */

static void socket_type_and_flags(void)
{
    CHECK_FAILS(socket(AF_QIPCRTR, SOCK_STREAM, 0), EPROTOTYPE);
    CHECK_FAILS(socket(AF_QIPCRTR, SOCK_SEQPACKET | SOCK_NONBLOCK, 0), EPROTOTYPE);
    CHECK_FAILS(socket(AF_QIPCRTR, 12, 0), EINVAL);
    CHECK_FAILS(socket(AF_QIPCRTR, SOCK_DGRAM | 0x100000, 0), EINVAL);
    int pair[2];
    CHECK_FAILS(socketpair(AF_QIPCRTR, SOCK_DGRAM, 0, pair), EOPNOTSUPP);

    int plain = qrtr_socket();
    CHECK(!(fcntl(plain, F_GETFL) & O_NONBLOCK), "a plain socket blocks");
    CHECK(!(fcntl(plain, F_GETFD) & FD_CLOEXEC), "a plain socket is inherited across exec");
    CHECK(plain < SHIM_CONTROL_FD_MIN, "the program's descriptor is a low one, got %d", plain);
    int flagged = socket(AF_QIPCRTR, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(flagged >= 0);
    CHECK(fcntl(flagged, F_GETFL) & O_NONBLOCK, "SOCK_NONBLOCK sets O_NONBLOCK");
    CHECK(fcntl(flagged, F_GETFD) & FD_CLOEXEC, "SOCK_CLOEXEC sets FD_CLOEXEC");
    CHECK(flagged == plain + 1, "descriptors are allocated lowest first: got %d after %d", flagged, plain);

    int value = -1;
    socklen_t length = sizeof value;
    CHECK(getsockopt(plain, SOL_SOCKET, SO_DOMAIN, &value, &length) == 0 && value == AF_QIPCRTR &&
              length == sizeof value, "SO_DOMAIN is AF_QIPCRTR, got %d", value);
    CHECK(getsockopt(plain, SOL_SOCKET, SO_TYPE, &value, &length) == 0 && value == SOCK_DGRAM,
          "SO_TYPE is SOCK_DGRAM, got %d", value);
    CHECK(getsockopt(plain, SOL_SOCKET, SO_PROTOCOL, &value, &length) == 0 && value == 0,
          "SO_PROTOCOL is 0, got %d", value);
    CHECK_FAILS(listen(plain, 1), EOPNOTSUPP);
    CHECK_FAILS(shutdown(plain, SHUT_RDWR), EOPNOTSUPP);
    CHECK_FAILS(pread(plain, &value, 1, 0), ESPIPE);
    close(plain);
    close(flagged);
}

static void getsockname_before_and_after_bind(void)
{
    int fd = qrtr_socket();
    struct sockaddr_qrtr a = name_of(fd);
    CHECK(a.sq_family == AF_QIPCRTR && a.sq_node == local_node && a.sq_port == 0,
          "before bind: family %u node %u port %u (want 42, 1, 0)", a.sq_family, a.sq_node, a.sq_port);
    uint16_t hole;
    memcpy(&hole, (char *)&a + 2, sizeof hole);
    CHECK(hole == 0, "the hole after sq_family is zeroed, got %#x", hole);

    struct sockaddr_qrtr short_name;
    memset(&short_name, 0xaa, sizeof short_name);
    socklen_t length = 6;
    CHECK(getsockname(fd, (struct sockaddr *)&short_name, &length) == 0 && length == sizeof short_name,
          "a short buffer gets the real length back, got %u", length);
    const unsigned char *bytes = (const unsigned char *)&short_name;
    CHECK(bytes[5] == 0 && bytes[6] == 0xaa && short_name.sq_port == 0xaaaaaaaa, "only 6 bytes are written");
    struct sockaddr_qrtr peer;
    length = sizeof peer;
    CHECK_FAILS(getpeername(fd, (struct sockaddr *)&peer, &length), ENOTCONN);

    struct sockaddr_qrtr wanted = qrtr_address(local_node, 0x5000);
    CHECK(bind(fd, (struct sockaddr *)&wanted, sizeof wanted) == 0, "bind to 1:0x5000: %s", strerror(errno));
    a = name_of(fd);
    CHECK(a.sq_node == local_node && a.sq_port == 0x5000, "after bind: %u:%#x (want 1:0x5000)", a.sq_node,
          a.sq_port);
    close(fd);
}

static void bind_rejects_bad_addresses(void)
{
    int fd = qrtr_socket();
    struct sockaddr_qrtr a = qrtr_address(local_node, 0x5000);
    CHECK_FAILS(bind(fd, (struct sockaddr *)&a, sizeof a - 1), EINVAL);
    a.sq_family = AF_INET;
    CHECK_FAILS(bind(fd, (struct sockaddr *)&a, sizeof a), EINVAL);
    a = qrtr_address(7, 0x5000);
    CHECK_FAILS(bind(fd, (struct sockaddr *)&a, sizeof a), EINVAL); /* the harness: not the local node */
    int holder = bound_socket(0x5001);
    a = qrtr_address(local_node, 0x5001);
    CHECK_FAILS(bind(fd, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    CHECK(name_of(fd).sq_port == 0, "a refused bind leaves the socket unbound");
    close(holder);
    close(fd);
}

static void send_autobinds(void)
{
    int receiver = bound_socket(0x5000);
    int sender = qrtr_socket();
    CHECK(name_of(sender).sq_port == 0, "unbound before the send");
    send_to(sender, 0x5000, "hello");
    uint32_t port = name_of(sender).sq_port;
    CHECK(port >= 0x4000 && port <= 0x7fff, "the send autobound to an ephemeral port, got %#x", port);

    int connector = qrtr_socket();
    struct sockaddr_qrtr peer = qrtr_address(local_node, 0x5000);
    CHECK(connect(connector, (struct sockaddr *)&peer, sizeof peer) == 0, "connect: %s", strerror(errno));
    port = name_of(connector).sq_port;
    CHECK(port >= 0x4000 && port <= 0x7fff, "connect autobound too, got %#x", port);
    close(connector);
    close(sender);
    close(receiver);
}

static void recv_on_unbound_socket(void)
{
    int fd = qrtr_socket();
    char buffer[16];
    struct sockaddr_qrtr from;
    socklen_t length = sizeof from;
    CHECK_FAILS(recvfrom(fd, buffer, sizeof buffer, MSG_DONTWAIT, (struct sockaddr *)&from, &length), EADDRNOTAVAIL);
    CHECK_FAILS(recv(fd, buffer, sizeof buffer, 0), EADDRNOTAVAIL);
    CHECK_FAILS(read(fd, buffer, sizeof buffer), EADDRNOTAVAIL);
    CHECK(read(fd, buffer, 0) == 0, "read of 0 bytes returns 0 before anything else (sock_read_iter)");
    close(fd);
}

static void datagram_round_trip(void)
{
    int a = bound_socket(0x5000);
    int b = bound_socket(0x5001);
    send_to(a, 0x5001, "ping");
    char buffer[64];
    struct sockaddr_qrtr from;
    memset(&from, 0xaa, sizeof from);
    socklen_t length = sizeof from;
    ssize_t n = recvfrom(b, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length);
    CHECK(n == 4 && memcmp(buffer, "ping", 4) == 0, "got %zd bytes", n);
    CHECK(length == sizeof from && from.sq_family == AF_QIPCRTR && from.sq_node == local_node &&
              from.sq_port == 0x5000, "source %u %u:%#x, length %u", from.sq_family, from.sq_node, from.sq_port, length);
    uint16_t hole;
    memcpy(&hole, (char *)&from + 2, sizeof hole);
    CHECK(hole == 0, "recvfrom zeroes the hole, got %#x", hole);

    /* connect() then send/write without an address; recvmsg/read on the far side. */
    struct sockaddr_qrtr peer = qrtr_address(local_node, 0x5001);
    REQUIRE(connect(a, (struct sockaddr *)&peer, sizeof peer) == 0);
    struct sockaddr_qrtr got_peer;
    length = sizeof got_peer;
    CHECK(getpeername(a, (struct sockaddr *)&got_peer, &length) == 0 && got_peer.sq_port == 0x5001 &&
              got_peer.sq_node == local_node, "getpeername after connect");
    CHECK(send(a, "one", 3, 0) == 3, "send on a connected socket: %s", strerror(errno));
    CHECK(write(a, "two", 3) == 3, "write on a connected socket: %s", strerror(errno));
    struct iovec parts[2] = {{"thr", 3}, {"ee", 2}};
    CHECK(writev(a, parts, 2) == 5, "writev gathers: %s", strerror(errno));

    char first[2], rest[8];
    struct iovec into[2] = {{first, sizeof first}, {rest, sizeof rest}};
    struct sockaddr_qrtr source;
    struct msghdr message = {.msg_name = &source, .msg_namelen = sizeof source, .msg_iov = into, .msg_iovlen = 2};
    n = recvmsg(b, &message, 0);
    CHECK(n == 3 && memcmp(first, "on", 2) == 0 && rest[0] == 'e', "recvmsg scatters \"one\", got %zd", n);
    CHECK(message.msg_namelen == sizeof source && source.sq_port == 0x5000 && message.msg_flags == 0,
          "recvmsg source %#x namelen %u flags %#x", source.sq_port, message.msg_namelen, message.msg_flags);
    n = read(b, buffer, sizeof buffer);
    CHECK(n == 3 && memcmp(buffer, "two", 3) == 0, "read gets \"two\", got %zd", n);
    n = recv(b, buffer, sizeof buffer, 0);
    CHECK(n == 5 && memcmp(buffer, "three", 5) == 0, "recv gets \"three\", got %zd", n);

    /* write() of nothing sends an empty datagram; writev() of nothing sends nothing. */
    CHECK(writev(a, parts, 0) == 0, "writev of no bytes returns 0");
    CHECK(write(a, "", 0) == 0, "write of no bytes: %s", strerror(errno));
    length = sizeof from;
    n = recvfrom(b, buffer, sizeof buffer, MSG_DONTWAIT, (struct sockaddr *)&from, &length);
    CHECK(n == 0 && from.sq_port == 0x5000, "an empty datagram arrives, got %zd (%s)", n, strerror(errno));
    CHECK_FAILS(recv(b, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);

    /* Many parts go through the bounce buffer both ways. */
    char letters[40];
    struct iovec many[40];
    for (int i = 0; i < 40; i++) {
        letters[i] = (char)('a' + i % 26);
        many[i] = (struct iovec){&letters[i], 1};
    }
    CHECK(writev(a, many, 40) == 40, "writev of 40 parts: %s", strerror(errno));
    char back[40];
    struct iovec many_back[40];
    for (int i = 0; i < 40; i++)
        many_back[i] = (struct iovec){&back[39 - i], 1};
    CHECK(readv(b, many_back, 40) == 40 && back[39] == 'a' && back[0] == letters[39], "readv of 40 parts");

    struct mmsghdr batch[2];
    memset(batch, 0, sizeof batch);
    batch[0].msg_hdr.msg_iov = &(struct iovec){"mm", 2};
    batch[0].msg_hdr.msg_iovlen = 1;
    CHECK(sendmmsg(a, batch, 1, 0) == 1 && batch[0].msg_len == 2, "sendmmsg of one message");
    batch[1] = batch[0];
    CHECK_FAILS(sendmmsg(a, batch, 2, 0), EINVAL); /* MSG_BATCH on all but the last: qrtr refuses it */
    char mm[8];
    memset(batch, 0, sizeof batch);
    batch[0].msg_hdr.msg_iov = &(struct iovec){mm, sizeof mm};
    batch[0].msg_hdr.msg_iovlen = 1;
    CHECK(recvmmsg(b, batch, 2, MSG_WAITFORONE, NULL) == 1 && batch[0].msg_len == 2, "recvmmsg gets one");
    close(a);
    close(b);
}

static void msg_trunc(void)
{
    int a = bound_socket(0x5000);
    int b = bound_socket(0x5001);
    char big[100];
    memset(big, 'x', sizeof big);
    big[0] = 'A';
    struct sockaddr_qrtr to = qrtr_address(local_node, 0x5001);
    REQUIRE(sendto(a, big, sizeof big, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof big);
    REQUIRE(sendto(a, big, sizeof big, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof big);

    char small[10];
    struct iovec part = {small, sizeof small};
    struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1};
    ssize_t n = recvmsg(b, &message, 0);
    CHECK(n == 10 && small[0] == 'A', "a long datagram is cut to the buffer, got %zd", n);
    CHECK(message.msg_flags & MSG_TRUNC, "msg_flags has MSG_TRUNC, got %#x", message.msg_flags);
    /* qrtr returns what it copied even when asked for MSG_TRUNC. */
    n = recv(b, small, sizeof small, MSG_TRUNC);
    CHECK(n == 10, "recv(MSG_TRUNC) on qrtr returns the copied length, got %zd", n);
    CHECK_FAILS(recv(b, small, sizeof small, MSG_DONTWAIT), EAGAIN); /* the rest was lost */
    close(a);
    close(b);
}

static void so_rcvtimeo_times_out(void)
{
    int fd = bound_socket(0x5000);
    struct timeval timeout = {.tv_sec = 0, .tv_usec = 200 * 1000};
    REQUIRE(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == 0);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char buffer[8];
    errno = 0;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    long waited = elapsed_ms(&start);
    CHECK(n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK), "recv -> %zd, %s", n, strerror(errno));
    CHECK(waited >= 150 && waited < 2000, "waited %ld ms for a 200 ms timeout", waited);
    close(fd);
}

static void nonblocking_recv(void)
{
    int fd = bound_socket(0x5000);
    char buffer[8];
    CHECK_FAILS(recv(fd, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);
    REQUIRE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
    CHECK_FAILS(recv(fd, buffer, sizeof buffer, 0), EAGAIN);
    CHECK_FAILS(read(fd, buffer, sizeof buffer), EAGAIN);
    close(fd);
}

static void readiness_follows_the_queue(void)
{
    int a = qrtr_socket();
    int b = qrtr_socket();
    struct sockaddr_qrtr wanted = qrtr_address(local_node, 0x5001);
    REQUIRE(bind(b, (struct sockaddr *)&wanted, sizeof wanted) == 0);
    /* The harness just answered a bind: that reply must not wake the program. */
    CHECK(!readable(b, 0), "poll: not readable right after bind");
    CHECK(!select_readable(b), "select: not readable right after bind");
    CHECK(!readable(b, quiet_ms), "poll: still not readable %d ms later", quiet_ms);
    send_to(a, 0x5001, "x");
    CHECK(readable(b, arrival_ms), "poll: readable with a datagram queued");
    CHECK(select_readable(b), "select: readable with a datagram queued");
    char buffer[4];
    REQUIRE(recv(b, buffer, sizeof buffer, 0) == 1);
    CHECK(!readable(b, 0), "poll: not readable once the queue is empty");
    CHECK(!select_readable(b), "select: not readable once the queue is empty");
    close(a);
    close(b);
}

static void enetreset_delivered_once(void)
{
    int victim = bound_socket(0x5000);
    int unbound = qrtr_socket();
    int controller = bound_socket(QRTR_PORT_CTRL); /* the harness resets every other bound socket */
    CHECK(readable(victim, arrival_ms), "a pending ENETRESET makes the socket readable");
    char buffer[8];
    CHECK_FAILS(recv(victim, buffer, sizeof buffer, MSG_DONTWAIT), ENETRESET);
    CHECK_FAILS(recv(victim, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN); /* once */
    CHECK(!readable(unbound, 0), "an unbound socket is not reset");
    int peer = bound_socket(0x5002); /* bound after the reset: not reset itself */
    struct sockaddr_qrtr to = qrtr_address(local_node, 0x5002);
    CHECK(sendto(victim, "z", 1, 0, (struct sockaddr *)&to, sizeof to) == 1,
          "a send after the receive reported the reset succeeds: %s", strerror(errno));
    close(peer);
    CHECK(!readable(controller, 0), "the socket that bound the control port is not reset");
    close(controller);
    close(unbound);
    close(victim);
}

static void enetreset_consumed_by_send(void)
{
    int victim = bound_socket(0x5000);
    int controller = bound_socket(QRTR_PORT_CTRL);
    int peer = bound_socket(0x5001); /* bound after the reset: not reset itself */
    CHECK(readable(victim, arrival_ms), "the error record is queued");
    struct sockaddr_qrtr to = qrtr_address(local_node, 0x5001);
    CHECK_FAILS(sendto(victim, "x", 1, 0, (struct sockaddr *)&to, sizeof to), ENETRESET);
    char buffer[8];
    /* The send reported the reset; the record on the data channel is stale. */
    CHECK_FAILS(recv(victim, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);
    CHECK(sendto(victim, "y", 1, 0, (struct sockaddr *)&to, sizeof to) == 1, "sends work again: %s",
          strerror(errno));
    CHECK(recv(peer, buffer, sizeof buffer, MSG_DONTWAIT) == 1 && buffer[0] == 'y', "only the second send arrived");
    close(controller);
    close(peer);
    close(victim);
}

static void confirm_rx_reported_once_read(void)
{
    int sender = bound_socket(0x5000);
    int reader = bound_socket(0x5001);
    send_to(sender, 0x5001, "confirm-me");
    char buffer[32];
    ssize_t n = recv(reader, buffer, sizeof buffer, MSG_PEEK);
    CHECK(n == 10 && memcmp(buffer, "confirm-me", 10) == 0, "peek sees the datagram, got %zd", n);
    CHECK(!readable(sender, quiet_ms), "a peek does not report the datagram consumed");
    n = recv(reader, buffer, sizeof buffer, 0);
    CHECK(n == 10, "the read after the peek gets the same datagram, got %zd", n);
    CHECK(readable(sender, arrival_ms), "reading it sent SHIM_OP_CONSUMED (the fake answers with \"resume\")");
    struct sockaddr_qrtr from;
    socklen_t length = sizeof from;
    n = recvfrom(sender, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length);
    CHECK(n == 6 && memcmp(buffer, "resume", 6) == 0 && from.sq_port == QRTR_PORT_CTRL, "got %zd from %#x", n,
          from.sq_port);
    CHECK(!readable(sender, quiet_ms), "exactly one CONSUMED");
    close(reader);
    close(sender);
}

static void send_validation(void)
{
    int fd = qrtr_socket();
    struct sockaddr_qrtr to = qrtr_address(local_node, 0x5001);
    CHECK_FAILS(sendto(fd, "x", 1, MSG_OOB, (struct sockaddr *)&to, sizeof to), EINVAL);
    CHECK_FAILS(sendto(fd, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to), EINVAL); /* as af_qrtr */
    static char huge[65536];
    CHECK_FAILS(sendto(fd, huge, sizeof huge, 0, (struct sockaddr *)&to, sizeof to), EMSGSIZE);
    CHECK_FAILS(send(fd, "x", 1, 0), ENOTCONN);
    CHECK_FAILS(write(fd, "x", 1), ENOTCONN);
    CHECK_FAILS(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to - 4), EINVAL);
    to.sq_family = AF_UNIX;
    CHECK_FAILS(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    CHECK(name_of(fd).sq_port == 0, "refused sends do not autobind");
    to = qrtr_address(local_node, 0x7777);
    CHECK_FAILS(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to), ENODEV); /* the harness: no such port */
    CHECK(sendto(fd, huge, 65535, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == -1 && errno == ENODEV,
          "65535 bytes are a valid size");
    close(fd);
}

struct blocked_reader {
    int fd;
    ssize_t got;
    char buffer[16];
};

static void *read_blocking(void *argument)
{
    struct blocked_reader *reader = argument;
    reader->got = recv(reader->fd, reader->buffer, sizeof reader->buffer, 0);
    return NULL;
}

static void blocking_recv_leaves_send_free(void)
{
    int a = bound_socket(0x5000);
    int b = bound_socket(0x5001);
    struct timeval guard = {.tv_sec = 5};
    REQUIRE(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard) == 0);
    struct blocked_reader reader = {.fd = b, .got = -2};
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, read_blocking, &reader) == 0);
    usleep(100 * 1000);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    send_to(b, 0x5000, "from-b"); /* the same socket, while its reader blocks */
    CHECK(elapsed_ms(&start) < 1000, "a send waited %ld ms for a blocked recv", elapsed_ms(&start));
    send_to(a, 0x5001, "wake");
    pthread_join(thread, NULL);
    CHECK(reader.got == 4 && memcmp(reader.buffer, "wake", 4) == 0, "the blocked reader got %zd", reader.got);
    char buffer[16];
    CHECK(recv(a, buffer, sizeof buffer, MSG_DONTWAIT) == 6, "b's send arrived");
    close(a);
    close(b);
}

static bool bind_succeeds_within(uint32_t port, int timeout_ms)
{
    struct sockaddr_qrtr wanted = qrtr_address(local_node, port);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int fd = qrtr_socket();
        bool bound = bind(fd, (struct sockaddr *)&wanted, sizeof wanted) == 0;
        close(fd);
        if (bound)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

static void dup_shares_and_close_releases(void)
{
    int a = bound_socket(0x5000);
    int copy = dup(a);
    REQUIRE(copy >= 0);
    CHECK(name_of(copy).sq_port == 0x5000, "the duplicate is the same socket");
    int b = bound_socket(0x5001);
    int onto = dup2(b, 20);
    CHECK(onto == 20 && name_of(20).sq_port == 0x5001, "dup2 onto 20 shares b");
    close(a);
    send_to(copy, 0x5001, "via-dup");
    char buffer[16];
    CHECK(recv(20, buffer, sizeof buffer, 0) == 7, "the socket lives on in its duplicates");
    close(b);
    close(20);
    close(copy);
    /* The last close released the ports: the harness saw EOF. */
    CHECK(bind_succeeds_within(0x5000, arrival_ms), "0x5000 free again after the last close");
    CHECK(bind_succeeds_within(0x5001, arrival_ms), "0x5001 free again after the last close");
    /* dup2 of a plain file onto an emulated descriptor forgets the socket. */
    int s = qrtr_socket();
    int pipe_ends[2];
    REQUIRE(pipe(pipe_ends) == 0);
    REQUIRE(dup2(pipe_ends[1], s) == s);
    CHECK(write(s, "p", 1) == 1, "writes go to the pipe now: %s", strerror(errno));
    CHECK(read(pipe_ends[0], buffer, 1) == 1 && buffer[0] == 'p', "the pipe got it");
    close(s);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
}

static void closed_behind_the_shims_back(void)
{
    int s = qrtr_socket();
    FILE *stream = fdopen(s, "r");
    REQUIRE(stream != NULL);
    fclose(stream); /* closes s inside libc, where the shim cannot see it */
    int file = open("/proc/self/stat", O_RDONLY);
    CHECK(file == s, "the number is reused (got %d, the socket was %d)", file, s);
    char buffer[8];
    CHECK(read(file, buffer, sizeof buffer) == (ssize_t)sizeof buffer, "the new file reads as a file: %s",
          strerror(errno));
    close(file);
}

/* ---- remoteproc state files ------------------------------------------------ */

static char scratch[64];

static void make_dir(const char *relative)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    REQUIRE(mkdir(path, 0755) == 0);
}

/* Written under another name and renamed: opening ".../remoteproc/x/state"
 * itself would reach the harness's remoteproc, not the file system. */
static void make_file(const char *relative, const char *text)
{
    char path[256], staging[300];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    snprintf(staging, sizeof staging, "%s.staging", path);
    int fd = open(staging, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    REQUIRE(rename(staging, path) == 0);
}

static void remove_scratch(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
}

static void make_sysfs(void)
{
    strcpy(scratch, "/tmp/rmtfs-hil-shim-sysfs-XXXXXX");
    REQUIRE(mkdtemp(scratch) != NULL);
    make_dir("class");
    make_dir("class/remoteproc");
    make_dir("class/remoteproc/remoteproc0");
    make_dir("class/remoteproc/remoteproc9");
    make_file("class/remoteproc/remoteproc0/state", "decoy\n"); /* must never be read */
    make_file("class/remoteproc/remoteproc9/state", "real\n");  /* not modelled: the real file */
}

static void expect_text(int fd, const char *want, const char *what)
{
    char buffer[64] = {0};
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    CHECK(n == (ssize_t)strlen(want) && strcmp(buffer, want) == 0, "%s: read \"%s\" (%zd), want \"%s\"", what,
          buffer, n, want);
}

static void remoteproc_state_file(void)
{
    make_sysfs();
    char path[320], directory[256];
    snprintf(directory, sizeof directory, "%s/class/remoteproc/remoteproc0", scratch);
    snprintf(path, sizeof path, "%s/state", directory);

    /* What rmtfs does: openat(dirfd, "state", O_WRONLY), then pwrite "start". */
    int dirfd = open(directory, O_RDONLY | O_DIRECTORY);
    REQUIRE(dirfd >= 0);
    int writer = openat(dirfd, "state", O_WRONLY);
    REQUIRE(writer >= 0);
    CHECK(writer < SHIM_CONTROL_FD_MIN, "the state file is an ordinary low descriptor, got %d", writer);
    struct stat st;
    CHECK(fstat(writer, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644 && st.st_size == 4096,
          "fstat shows a sysfs attribute, mode %o size %lld", st.st_mode, (long long)st.st_size);
    CHECK(pwrite(writer, "start", 5, 0) == 5, "start while offline: %s", strerror(errno));
    CHECK_FAILS(pwrite(writer, "start", 5, 0), EBUSY);
    char byte;
    CHECK_FAILS(read(writer, &byte, 1), EBADF);

    int reader = open(path, O_RDONLY | O_CLOEXEC);
    REQUIRE(reader >= 0);
    CHECK(fcntl(reader, F_GETFD) & FD_CLOEXEC, "O_CLOEXEC is honoured");
    expect_text(reader, "running\n", "first read");
    expect_text(reader, "", "read at the end");
    char part[8] = {0};
    CHECK(pread(reader, part, 4, 3) == 4 && memcmp(part, "ning", 4) == 0, "pread at offset 3 gets \"ning\"");
    CHECK(lseek(reader, 0, SEEK_SET) == 0, "lseek back to 0");
    expect_text(reader, "running\n", "read after lseek");
    CHECK_FAILS(write(reader, "stop", 4), EBADF);

    FILE *stream = fopen(path, "r");
    REQUIRE(stream != NULL);
    char line[32] = {0};
    CHECK(fgets(line, sizeof line, stream) != NULL && strcmp(line, "running\n") == 0, "fopen/fgets: \"%s\"", line);
    fclose(stream);

    int copy = dup(writer);
    close(writer);
    CHECK(pwrite(copy, "stop\n", 5, 0) == 5, "stop (with newline) through a dup: %s", strerror(errno));
    CHECK_FAILS(pwrite(copy, "stop", 4, 0), EINVAL);
    CHECK_FAILS(pwrite(copy, "bogus", 5, 0), EINVAL);
    CHECK(lseek(reader, 0, SEEK_SET) == 0, "lseek back to 0");
    expect_text(reader, "offline\n", "after stop");
    close(copy);
    close(reader);
    close(dirfd);

    /* A remoteproc the harness does not model: the real file. */
    snprintf(path, sizeof path, "%s/class/remoteproc/remoteproc9/state", scratch);
    int real = open(path, O_RDONLY);
    REQUIRE(real >= 0);
    expect_text(real, "real\n", "an unmodelled remoteproc reads the real file");
    CHECK(fstat(real, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5, "its real size");
    close(real);
    remove_scratch();
}

/* ---- the rmtfs_mem char device ---------------------------------------------- */

static void chardev_fstat(void)
{
    const char *world = getenv(SHIM_ENV_WORLD);
    REQUIRE(world != NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/qcom_rmtfs_mem1", world);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), "fstat: a char device, mode %o", st.st_mode);
    CHECK((st.st_mode & 07777) == 0640, "permission bits kept, got %o", st.st_mode & 07777);
    CHECK(major(st.st_rdev) == chardev_major && minor(st.st_rdev) == chardev_minor, "st_rdev %u:%u",
          major(st.st_rdev), minor(st.st_rdev));
    struct stat64 st64;
    CHECK(fstat64(fd, &st64) == 0 && S_ISCHR(st64.st_mode) && st64.st_rdev == makedev(chardev_major, chardev_minor),
          "fstat64");
    CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == st64.st_rdev,
          "fstatat(AT_EMPTY_PATH)");
    struct statx sx;
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 && S_ISCHR(sx.stx_mode) &&
              sx.stx_rdev_major == chardev_major && sx.stx_rdev_minor == chardev_minor,
          "statx(AT_EMPTY_PATH): mode %o rdev %u:%u", sx.stx_mode, sx.stx_rdev_major, sx.stx_rdev_minor);
    CHECK(__fxstat(1, fd, &st) == 0 && S_ISCHR(st.st_mode), "__fxstat (pre-2.33 binaries)");

    /* Everything else is the real file. */
    CHECK(pwrite(fd, "EFS!", 4, 100) == 4, "pwrite passes through");
    char back[4];
    CHECK(pread(fd, back, 4, 100) == 4 && memcmp(back, "EFS!", 4) == 0, "pread passes through");

    snprintf(path, sizeof path, "%s/devices", world);
    int other = open(path, O_RDONLY);
    REQUIRE(other >= 0);
    CHECK(fstat(other, &st) == 0 && S_ISREG(st.st_mode), "an unlisted file stays regular");
    close(other);
    close(fd);
}

/* A partition of the world (`rmtfs -P`): a block device with no size, as the
 * kernel's fstat() of one says; its bytes are the file's. */
static void block_device_fstat(void)
{
    const char *world = getenv(SHIM_ENV_WORLD);
    REQUIRE(world != NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", world, FAKE_BLOCK_DEVICE);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISBLK(st.st_mode), "fstat: a block device, mode %o", st.st_mode);
    CHECK(major(st.st_rdev) == FAKE_BLOCK_DEVICE_MAJOR && minor(st.st_rdev) == FAKE_BLOCK_DEVICE_MINOR,
          "st_rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
    CHECK(st.st_size == 0 && st.st_blocks == 0, "no size, as a block device: %lld", (long long)st.st_size);
    struct statx sx;
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 && S_ISBLK(sx.stx_mode) && sx.stx_size == 0,
          "statx(AT_EMPTY_PATH): mode %o size %llu", sx.stx_mode, (unsigned long long)sx.stx_size);
    CHECK(lseek(fd, 0, SEEK_END) == 4096, "lseek(SEEK_END) gives its size, as for a block device");
    close(fd);
}

/* ---- glibc's fortified entry points ---------------------------------------- */

/* Lengths and flags the compiler cannot see through: with _FORTIFY_SOURCE
 * these calls become __recv_chk, __recvfrom_chk, __read_chk, __open_2,
 * __openat_2 and __pread_chk (the plain build makes the ordinary calls). */
static void fortified_entry_points(void)
{
    volatile size_t length = 8;
    volatile int read_only = O_RDONLY;
    int a = bound_socket(0x5000);
    int b = bound_socket(0x5001);
    send_to(a, 0x5001, "one");
    send_to(a, 0x5001, "two");
    send_to(a, 0x5001, "three");
    char buffer[8] = {0};
    CHECK(recv(b, buffer, length, 0) == 3 && memcmp(buffer, "one", 3) == 0, "recv with a run-time length");
    struct sockaddr_qrtr from;
    socklen_t from_length = sizeof from;
    CHECK(recvfrom(b, buffer, length, 0, (struct sockaddr *)&from, &from_length) == 3 && from.sq_port == 0x5000,
          "recvfrom with a run-time length");
    CHECK(read(b, buffer, length) == 5 && memcmp(buffer, "three", 5) == 0, "read with a run-time length");
    close(a);
    close(b);

    make_sysfs();
    char path[256], directory[200];
    snprintf(directory, sizeof directory, "%s/class/remoteproc/remoteproc0", scratch);
    snprintf(path, sizeof path, "%s/state", directory);
    int fd = open(path, read_only);
    REQUIRE(fd >= 0);
    memset(buffer, 0, sizeof buffer);
    CHECK(pread(fd, buffer, length, 1) == 7 && memcmp(buffer, "ffline\n", 7) == 0, "pread with a run-time length");
    close(fd);
    int dirfd = open(directory, O_RDONLY | O_DIRECTORY);
    REQUIRE(dirfd >= 0);
    fd = openat(dirfd, "state", read_only);
    REQUIRE(fd >= 0);
    expect_text(fd, "offline\n", "openat with run-time flags");
    close(fd);
    close(dirfd);
    remove_scratch();
}

/* ---- watched files ------------------------------------------------------------ */

/* The test's own channel to fake_harness, for its test-only requests
 * (fake_harness_ops.h): a plain AF_UNIX socket, which the shim lets through. */
static int harness_fd = -1;

static struct shim_reply harness_call(uint32_t op, uint32_t value, const void *payload, size_t length, void *answer,
                                      size_t capacity)
{
    if (harness_fd < 0) {
        const char *socket_path = getenv(SHIM_ENV_SOCKET);
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        REQUIRE(socket_path != NULL && strlen(socket_path) < sizeof address.sun_path);
        strcpy(address.sun_path, socket_path);
        harness_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        REQUIRE(harness_fd >= 0 && connect(harness_fd, (struct sockaddr *)&address, sizeof address) == 0);
    }
    struct shim_request request = {.op = op, .value = value};
    struct iovec out[2] = {{&request, sizeof request}, {(void *)payload, length}};
    struct msghdr sent = {.msg_iov = out, .msg_iovlen = length > 0 ? 2 : 1};
    REQUIRE(sendmsg(harness_fd, &sent, MSG_NOSIGNAL) == (ssize_t)(sizeof request + length));
    struct shim_reply reply;
    struct iovec in[2] = {{&reply, sizeof reply}, {answer, capacity}};
    struct msghdr received = {.msg_iov = in, .msg_iovlen = capacity > 0 ? 2 : 1};
    REQUIRE(recvmsg(harness_fd, &received, 0) >= (ssize_t)sizeof reply);
    return reply;
}

/* How fake_harness answers `path` from now on. */
static void set_rule(const char *path, struct fake_file_rule rule)
{
    char payload[sizeof rule + PATH_MAX];
    size_t length = strlen(path);
    REQUIRE(length < PATH_MAX);
    memcpy(payload, &rule, sizeof rule);
    memcpy(payload + sizeof rule, path, length);
    REQUIRE(harness_call(FAKE_SET_RULE, 0, payload, sizeof rule + length, NULL, 0).error == 0);
}

enum { log_records_max = 1024 };

/* What fake_harness saw of the watched files so far. */
struct file_log {
    size_t count;
    struct fake_file_record records[log_records_max];
};

static struct file_log file_log;

static const struct file_log *read_log(void)
{
    file_log.count = 0;
    while (file_log.count < log_records_max) {
        struct fake_file_record *record = &file_log.records[file_log.count];
        struct shim_reply reply =
            harness_call(FAKE_GET_RECORD, (uint32_t)file_log.count, NULL, 0, record, sizeof *record);
        if (reply.error != 0)
            break;
        file_log.count++;
    }
    return &file_log;
}

/* Records of `op` (0: any) for `path` (NULL: any). */
static size_t count_records(uint32_t op, const char *path)
{
    const struct file_log *log = read_log();
    size_t count = 0;
    for (size_t i = 0; i < log->count; i++)
        count += (op == 0 || log->records[i].op == op) && (path == NULL || strcmp(log->records[i].path, path) == 0);
    return count;
}

/* The latest record of `op` for `path`, or a zeroed one. */
static struct fake_file_record last_record(uint32_t op, const char *path)
{
    const struct file_log *log = read_log();
    for (size_t i = log->count; i-- > 0;)
        if (log->records[i].op == op && strcmp(log->records[i].path, path) == 0)
            return log->records[i];
    struct fake_file_record none;
    memset(&none, 0, sizeof none);
    return none;
}

/* An EOF arrives on its own time: the harness may answer a query first. */
static bool closed_within(const char *path, size_t closes, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (count_records(FAKE_RECORD_CLOSED, path) >= closes)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

static uint64_t record_offset(const struct fake_file_record *r) { return (uint64_t)r->port << 32 | r->node; }

/* fake_harness's private directory (the world's parent), where the watch
 * list points. */
static void work_path(char *out, size_t capacity, const char *relative)
{
    const char *world = getenv(SHIM_ENV_WORLD);
    REQUIRE(world != NULL);
    const char *slash = strrchr(world, '/');
    REQUIRE(slash != NULL);
    int written = snprintf(out, capacity, "%.*s/%s", (int)(slash - world), world, relative);
    REQUIRE(written > 0 && (size_t)written < capacity);
}

#define WATCHED(name) FAKE_WATCHED_DIR "/" name

/* A file with `bytes` of `fill` at `relative`, made where the watch list does
 * not reach and renamed into place: not an open the harness hears of. */
static void make_work_file(const char *relative, char fill, size_t bytes)
{
    char path[PATH_MAX], staging[PATH_MAX];
    work_path(path, sizeof path, relative);
    work_path(staging, sizeof staging, "staging");
    int fd = open(staging, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    char block[512];
    memset(block, fill, sizeof block);
    for (size_t done = 0; done < bytes; done += sizeof block)
        REQUIRE(write(fd, block, bytes - done < sizeof block ? bytes - done : sizeof block) > 0);
    close(fd);
    REQUIRE(rename(staging, path) == 0);
}

static bool all_bytes(const char *buffer, size_t length, char fill)
{
    for (size_t i = 0; i < length; i++)
        if (buffer[i] != fill)
            return false;
    return true;
}

static const uint32_t all_ops = SHIM_FILE_READ | SHIM_FILE_WRITE | SHIM_FILE_SYNC;

static void watched_open_and_last_close(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("lifetime"));
    int lowest_free = open("/dev/null", O_RDONLY);
    REQUIRE(lowest_free >= 0);
    close(lowest_free);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    int probe = open("/dev/null", O_RDONLY);
    CHECK(fd == lowest_free && probe == fd + 1,
          "the control channel is hidden: the file got %d (want %d), the next open %d", fd, lowest_free, probe);
    close(probe);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "O_CLOEXEC reached the real open");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "the descriptor is the real file, mode %o", st.st_mode);
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "the harness saw the open once");
    struct fake_file_record opened = last_record(SHIM_OP_FILE_OPEN, path);
    int wanted = O_RDWR | O_CREAT | O_CLOEXEC;
    CHECK((opened.value & (uint32_t)(O_ACCMODE | O_CREAT | O_CLOEXEC)) == (uint32_t)wanted,
          "FILE_OPEN carries the flags: %#x", opened.value);

    int copy = dup(fd);
    REQUIRE(dup2(fd, 40) == 40);
    close(fd);
    close(copy);
    usleep(quiet_ms * 1000);
    CHECK(count_records(FAKE_RECORD_CLOSED, path) == 0, "open through a duplicate: not closed yet");
    CHECK(pwrite(40, "dup", 3, 0) == 3, "a write through the dup2 copy: %s", strerror(errno));
    CHECK(count_records(SHIM_OP_FILE_IO, path) == 1, "the copy is watched too");
    close(40);
    CHECK(closed_within(path, 1, arrival_ms), "the last close reached the harness");

    /* Another open is another watched file; close_range() closes it. */
    fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 2, "the second open was seen");
    CHECK(last_record(SHIM_OP_FILE_OPEN, path).value == O_RDONLY, "with its flags");
    REQUIRE(close_range((unsigned)fd, (unsigned)fd, 0) == 0);
    CHECK(closed_within(path, 2, arrival_ms), "close_range() is a last close too");
}

static void watched_open_refused_or_declined(void)
{
    char refused[PATH_MAX], declined[PATH_MAX], missing[PATH_MAX], stream[PATH_MAX];
    work_path(refused, sizeof refused, WATCHED("refused"));
    set_rule(refused, (struct fake_file_rule){.open_error = EACCES});
    CHECK_FAILS(open(refused, O_RDWR | O_CREAT, 0600), EACCES);
    CHECK(access(refused, F_OK) != 0 && errno == ENOENT, "a refused open creates nothing");
    CHECK(count_records(SHIM_OP_FILE_OPEN, refused) == 1, "the refused open was asked about");

    work_path(stream, sizeof stream, WATCHED("refused-stream"));
    set_rule(stream, (struct fake_file_rule){.open_error = EROFS});
    errno = 0;
    CHECK(fopen(stream, "w") == NULL && errno == EROFS, "fopen() refused with EROFS: %s", strerror(errno));

    /* "Not of interest": opened unwatched, the channel closed at once. */
    work_path(declined, sizeof declined, WATCHED("declined"));
    set_rule(declined, (struct fake_file_rule){.unwatched = 1, .ask = all_ops});
    int fd = open(declined, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    CHECK(closed_within(declined, 1, arrival_ms), "a declined file's channel is closed while it is open");
    CHECK(pwrite(fd, "free", 4, 0) == 4 && fdatasync(fd) == 0, "I/O on a declined file: %s", strerror(errno));
    char back[4];
    CHECK(pread(fd, back, 4, 0) == 4 && memcmp(back, "free", 4) == 0, "reads back");
    close(fd);
    CHECK(count_records(SHIM_OP_FILE_IO, declined) == 0, "a declined file's I/O is never asked about");

    /* Watched, but the real open fails: its error, and the channel closes. */
    work_path(missing, sizeof missing, WATCHED("missing"));
    CHECK_FAILS(open(missing, O_RDONLY), ENOENT);
    CHECK(count_records(SHIM_OP_FILE_OPEN, missing) == 1, "the open was asked about");
    CHECK(closed_within(missing, 1, arrival_ms), "a failed real open closes the channel");
}

static void unwatched_paths_not_asked(void)
{
    /* Near misses of the watch list: a sibling sharing the directory's name
     * as a prefix, names around the exact entry, the directory itself, a
     * path through a symbolic link (not followed), a relative entry (ignored). */
    static const char *const near_misses[] = {"watchedX", "exact2", "exac", "relative/ignored/file",
                                              "link/via-link"};
    char path[PATH_MAX], target[PATH_MAX];
    work_path(path, sizeof path, "relative");
    REQUIRE(mkdir(path, 0755) == 0);
    work_path(path, sizeof path, "relative/ignored");
    REQUIRE(mkdir(path, 0755) == 0);
    work_path(path, sizeof path, "link");
    work_path(target, sizeof target, FAKE_WATCHED_DIR);
    REQUIRE(symlink(target, path) == 0);
    make_work_file(WATCHED("via-link"), 'v', 1); /* exists: a shim following links would find it watched */
    for (size_t i = 0; i < sizeof near_misses / sizeof near_misses[0]; i++) {
        work_path(path, sizeof path, near_misses[i]);
        int fd = open(path, O_RDWR | O_CREAT, 0600);
        REQUIRE(fd >= 0);
        CHECK(pwrite(fd, "x", 1, 0) == 1 && fsync(fd) == 0, "%s: I/O works", near_misses[i]);
        close(fd);
    }
    work_path(path, sizeof path, "relative");
    REQUIRE(chdir(path) == 0);
    int fd = open("ignored/relative-open", O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    int directory = open(target, O_RDONLY | O_DIRECTORY);
    REQUIRE(directory >= 0);
    close(directory);
    CHECK(count_records(0, NULL) == 0, "none of these reached the harness (%zu records)", count_records(0, NULL));

    /* The control: the exact entry is watched. */
    work_path(path, sizeof path, FAKE_WATCHED_EXACT);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "the exact entry is watched");
}

static void relative_and_openat_paths(void)
{
    char work[PATH_MAX], path[PATH_MAX];
    work_path(work, sizeof work, "");
    work[strlen(work) - 1] = '\0';
    work_path(path, sizeof path, FAKE_WATCHED_DIR);
    REQUIRE(chdir(path) == 0);
    int fd = open("relative", O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    work_path(path, sizeof path, WATCHED("relative"));
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "open(\"relative\") is %s to the harness", path);

    REQUIRE(chdir(work) == 0);
    fd = open("./" FAKE_WATCHED_DIR "//./dotted", O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    work_path(path, sizeof path, WATCHED("dotted"));
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "\"//\" and \".\" are tidied away: %s", path);

    int dirfd = open(work, O_RDONLY | O_DIRECTORY);
    REQUIRE(dirfd >= 0);
    fd = openat(dirfd, WATCHED("at"), O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    work_path(path, sizeof path, WATCHED("at"));
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "openat(dirfd) resolves against dirfd: %s", path);
    fd = openat(AT_FDCWD, FAKE_WATCHED_EXACT, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    work_path(path, sizeof path, FAKE_WATCHED_EXACT);
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "openat(AT_FDCWD) against the cwd: %s", path);

    /* A link inside the watched directory to a file outside: the name the
     * program used is what counts. */
    make_work_file("outside", 'o', 16);
    work_path(path, sizeof path, WATCHED("pointer"));
    REQUIRE(symlink("../outside", path) == 0);
    fd = openat(dirfd, WATCHED("pointer"), O_RDONLY);
    REQUIRE(fd >= 0);
    char byte = 0;
    CHECK(read(fd, &byte, 1) == 1 && byte == 'o', "reads the link's target");
    close(fd);
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "opened by its name, %s", path);
    work_path(path, sizeof path, "outside");
    CHECK(count_records(0, path) == 0, "the target's own name was never reported");
    close(dirfd);
}

static void watched_write_faults(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("faults"));
    make_work_file(WATCHED("faults"), 'o', 1024);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    char sector[512], back[1024];
    memset(sector, 'N', sizeof sector);

    set_rule(path, (struct fake_file_rule){.ask = all_ops, .fail_ops = SHIM_FILE_WRITE, .fail_error = EIO});
    CHECK_FAILS(pwrite(fd, sector, sizeof sector, 0), EIO);
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .fail_ops = SHIM_FILE_WRITE, .fail_error = ENOSPC});
    CHECK_FAILS(pwrite(fd, sector, sizeof sector, 512), ENOSPC);
    CHECK_FAILS(write(fd, sector, sizeof sector), ENOSPC);
    struct iovec parts[2] = {{sector, 100}, {sector, 100}};
    CHECK_FAILS(writev(fd, parts, 2), ENOSPC);
    CHECK_FAILS(pwritev(fd, parts, 2, 0), ENOSPC);
    CHECK_FAILS(pwritev2(fd, parts, 2, -1, 0), ENOSPC);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0, "a refused write leaves the position alone");
    CHECK(pread(fd, back, sizeof back, 0) == 1024 && all_bytes(back, 1024, 'o'), "refused writes touch nothing");
    CHECK(count_records(SHIM_OP_FILE_IO, path) == 7, "each refused write (and the read) was asked about");
    CHECK(count_records(SHIM_OP_FILE_DONE, path) == 1, "only the read was done (a refused call is not)");

    /* Short writes: the kernel gets the first `limit` bytes. */
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .limited = 1, .limit = 100});
    CHECK(pwrite(fd, sector, sizeof sector, 0) == 100, "a short pwrite");
    CHECK(pread(fd, back, 102, 0) == 100, "reads are cut too");
    REQUIRE(pread(fd, back, 200, 0) == 100); /* still limited */
    CHECK(all_bytes(back, 100, 'N'), "the first 100 bytes were written");
    struct fake_file_record done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.flags == SHIM_FILE_READ && done.value == 100, "the last FILE_DONE: op %u, %u bytes", done.flags,
          done.value);
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .limited = 1, .limit = 5});
    struct iovec letters[2] = {{"abc", 3}, {"defg", 4}};
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(writev(fd, letters, 2) == 5, "a short writev cuts the iovec list");
    CHECK(lseek(fd, 0, SEEK_CUR) == 5, "and the position moved by what was written");
    set_rule(path, (struct fake_file_rule){.ask = all_ops});
    REQUIRE(pread(fd, back, 8, 0) == 8);
    CHECK(memcmp(back, "abcdeNNN", 8) == 0, "the file holds \"%.8s\"", back);
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .limited = 1, .limit = 0});
    CHECK(write(fd, "zz", 2) == 0, "a write allowed no bytes writes none");
    close(fd);
}

static void watched_read_and_sync_faults(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("reads"));
    make_work_file(WATCHED("reads"), 'r', 512);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .fail_ops = SHIM_FILE_READ, .fail_error = EIO});
    char buffer[16];
    memset(buffer, '#', sizeof buffer);
    volatile size_t length = sizeof buffer; /* fortified: __pread_chk, __read_chk */
    CHECK_FAILS(pread(fd, buffer, length, 0), EIO);
    CHECK_FAILS(read(fd, buffer, length), EIO);
    struct iovec parts[2] = {{buffer, 8}, {buffer + 8, 8}};
    CHECK_FAILS(readv(fd, parts, 2), EIO);
    CHECK_FAILS(preadv(fd, parts, 2, 0), EIO);
    CHECK_FAILS(preadv2(fd, parts, 2, -1, 0), EIO);
    CHECK(all_bytes(buffer, sizeof buffer, '#'), "a refused read fills nothing");
    CHECK(lseek(fd, 0, SEEK_CUR) == 0, "nor moves the position");
    CHECK(pwrite(fd, "w", 1, 0) == 1, "writes still work: %s", strerror(errno));

    set_rule(path, (struct fake_file_rule){.ask = all_ops, .fail_ops = SHIM_FILE_SYNC, .fail_error = EIO});
    CHECK_FAILS(fdatasync(fd), EIO);
    CHECK_FAILS(fsync(fd), EIO);
    CHECK_FAILS(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE), EIO);
    CHECK(pread(fd, buffer, 4, 0) == 4 && memcmp(buffer, "wrrr", 4) == 0, "reads work again");
    struct fake_file_record sync = last_record(SHIM_OP_FILE_IO, path);
    set_rule(path, (struct fake_file_rule){.ask = all_ops});
    CHECK(fdatasync(fd) == 0, "fdatasync once the harness allows it: %s", strerror(errno));
    struct fake_file_record asked = last_record(SHIM_OP_FILE_IO, path);
    struct fake_file_record done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(asked.flags == SHIM_FILE_SYNC && asked.value == 0, "FILE_IO of a sync: op %u value %u", asked.flags,
          asked.value);
    CHECK(done.flags == SHIM_FILE_SYNC && done.value == 0 && done.reserved == 0, "FILE_DONE of a sync: op %u",
          done.flags);
    CHECK(sync.flags == SHIM_FILE_READ, "a refused sync is not done (the last FILE_IO before was the read)");
    close(fd);
}

static void watched_done_reports(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("done"));
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    char sector[512];
    for (size_t i = 0; i < sizeof sector; i++)
        sector[i] = (char)('A' + i % 8);

    CHECK(pwrite(fd, sector, sizeof sector, 1024) == 512, "pwrite: %s", strerror(errno));
    struct fake_file_record asked = last_record(SHIM_OP_FILE_IO, path);
    struct fake_file_record done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(asked.flags == SHIM_FILE_WRITE && asked.value == 512 && record_offset(&asked) == 1024,
          "FILE_IO: op %u, %u bytes at %llu", asked.flags, asked.value, (unsigned long long)record_offset(&asked));
    CHECK(asked.snapshot_valid && all_bytes((const char *)asked.snapshot, fake_snapshot_bytes, '\0'),
          "FILE_IO comes before the write");
    CHECK(done.flags == SHIM_FILE_WRITE && done.value == 512 && done.reserved == 0 && record_offset(&done) == 1024,
          "FILE_DONE: op %u, %u bytes at %llu, errno %u", done.flags, done.value,
          (unsigned long long)record_offset(&done), done.reserved);
    CHECK(done.snapshot_valid && memcmp(done.snapshot, "ABCDEFGH", fake_snapshot_bytes) == 0,
          "FILE_DONE comes after the write: \"%.8s\"", (const char *)done.snapshot);
    CHECK(done.id != 0 && done.id == asked.id, "both name the file");

    /* Offsets past 4 GiB use port for the high half. */
    off_t far = ((off_t)1 << 32) + 512;
    CHECK(pwrite64(fd, "far", 3, far) == 3, "pwrite64 beyond 4 GiB: %s", strerror(errno));
    done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.node == 512 && done.port == 1 && done.value == 3, "node %u port %u value %u", done.node, done.port,
          done.value);
    REQUIRE(ftruncate(fd, 4096) == 0);

    /* read() and write() report the position. */
    REQUIRE(lseek(fd, 2048, SEEK_SET) == 2048);
    CHECK(write(fd, "position", 8) == 8, "write: %s", strerror(errno));
    asked = last_record(SHIM_OP_FILE_IO, path);
    CHECK(asked.flags == SHIM_FILE_WRITE && record_offset(&asked) == 2048 && asked.value == 8,
          "write() at the position: %llu", (unsigned long long)record_offset(&asked));
    char buffer[16];
    volatile size_t four = 4;
    CHECK(read(fd, buffer, four) == 4, "read: %s", strerror(errno));
    done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.flags == SHIM_FILE_READ && record_offset(&done) == 2056 && done.value == 4,
          "read() at the position: %llu, %u bytes", (unsigned long long)record_offset(&done), done.value);
    struct iovec parts[2] = {{"ab", 2}, {"cde", 3}};
    REQUIRE(lseek(fd, 3000, SEEK_SET) == 3000);
    CHECK(writev(fd, parts, 2) == 5, "writev");
    done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.flags == SHIM_FILE_WRITE && record_offset(&done) == 3000 && done.value == 5,
          "writev() at the position: %llu, %u bytes", (unsigned long long)record_offset(&done), done.value);
    CHECK(pwritev2(fd, parts, 2, -1, 0) == 5, "pwritev2 at the position");
    done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(record_offset(&done) == 3005, "pwritev2(-1) at the position: %llu", (unsigned long long)record_offset(&done));
    char first[2], rest[3];
    struct iovec into[2] = {{first, 2}, {rest, 3}};
    CHECK(preadv(fd, into, 2, 3000) == 5 && memcmp(first, "ab", 2) == 0 && memcmp(rest, "cde", 3) == 0, "preadv");
    done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.flags == SHIM_FILE_READ && record_offset(&done) == 3000 && done.value == 5, "preadv's FILE_DONE");
    CHECK(pread(fd, buffer, sizeof buffer, 4090) == 6, "pread across the end");
    CHECK(last_record(SHIM_OP_FILE_DONE, path).value == 6, "FILE_DONE counts what was read");

    /* A real call that fails is reported with its errno. */
    int reader = open(path, O_RDONLY);
    REQUIRE(reader >= 0);
    CHECK_FAILS(pwrite(reader, "no", 2, 0), EBADF);
    done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.flags == SHIM_FILE_WRITE && done.value == 0 && done.reserved == EBADF && done.id != asked.id,
          "FILE_DONE of a failed write: value %u, errno %u", done.value, done.reserved);
    close(reader);

    /* The program is held in its call until FILE_DONE is answered. */
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .done_delay_ms = 300});
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK(pwrite(fd, sector, sizeof sector, 0) == 512, "a held pwrite");
    long waited = elapsed_ms(&start);
    CHECK(waited >= 280, "pwrite returned after %ld ms, before FILE_DONE's reply", waited);

    errno = 4242;
    set_rule(path, (struct fake_file_rule){.ask = all_ops});
    int again = open(path, O_RDWR);
    CHECK(again >= 0 && errno == 4242, "a watched open keeps errno, got %d", errno);
    CHECK(pwrite(again, "k", 1, 0) == 1 && fdatasync(again) == 0 && errno == 4242, "watched I/O keeps errno, got %d",
          errno);
    close(again);
    close(fd);
}

static void watched_only_asked_kinds(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("writes-only"));
    set_rule(path, (struct fake_file_rule){.ask = SHIM_FILE_WRITE, .no_done = 1});
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    char buffer[4];
    CHECK(pwrite(fd, "data", 4, 0) == 4, "pwrite");
    CHECK(pread(fd, buffer, 4, 0) == 4 && read(fd, buffer, 4) == 4 && fsync(fd) == 0, "reads and syncs");
    CHECK(count_records(SHIM_OP_FILE_IO, path) == 1, "only the write was asked about");
    CHECK(count_records(SHIM_OP_FILE_DONE, path) == 0, "and no FILE_DONE asked for");
    close(fd);
}

static void watched_chardev_fstat(void)
{
    const char *world = getenv(SHIM_ENV_WORLD);
    REQUIRE(world != NULL);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", world, FAKE_WATCHED_CHARDEV);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    CHECK(count_records(SHIM_OP_FILE_OPEN, path) == 1, "the device's open was seen");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == chardev_major &&
              minor(st.st_rdev) == FAKE_WATCHED_CHARDEV_MINOR,
          "fstat of a watched chardev: mode %o rdev %u:%u", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    struct stat64 st64;
    CHECK(fstat64(fd, &st64) == 0 && S_ISCHR(st64.st_mode), "fstat64");
    CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISCHR(st.st_mode), "fstatat(AT_EMPTY_PATH)");
    struct statx sx;
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 && S_ISCHR(sx.stx_mode) &&
              sx.stx_rdev_minor == FAKE_WATCHED_CHARDEV_MINOR, "statx");
    CHECK(__fxstat(1, fd, &st) == 0 && S_ISCHR(st.st_mode), "__fxstat");
    CHECK(pwrite(fd, "EFS!", 4, 100) == 4, "pwrite: %s", strerror(errno));
    struct fake_file_record done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.value == 4 && done.node == 100 && memcmp(done.snapshot, "EFS!", 4) == 0, "the write was watched");
    /* The region is a page: I/O across its end moves what fits, past it nothing. */
    CHECK(pwrite(fd, "EFS!", 4, 4094) == 2, "a write across the end is clamped");
    char back[8];
    CHECK(pread(fd, back, sizeof back, 4094) == 2 && memcmp(back, "EF", 2) == 0, "a read across the end is clamped");
    CHECK(pwrite(fd, "EFS!", 4, 4096) == 0 && pread(fd, back, sizeof back, 5000) == 0, "past the end: nothing");
    CHECK(fstat(fd, &st) == 0 && st.st_size == 4096, "the region never grows: %lld", (long long)st.st_size);
    close(fd);
    CHECK(closed_within(path, 1, arrival_ms), "and its last close");
}

static void watched_stdio_stream(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("stream"));
    FILE *stream = fopen(path, "w+");
    REQUIRE(stream != NULL);
    CHECK(last_record(SHIM_OP_FILE_OPEN, path).value == (O_RDWR | O_CREAT | O_TRUNC), "fopen(\"w+\")'s flags: %#x",
          last_record(SHIM_OP_FILE_OPEN, path).value);
    CHECK(fputs("hello\n", stream) >= 0 && fflush(stream) == 0, "fputs + fflush");
    struct fake_file_record done = last_record(SHIM_OP_FILE_DONE, path);
    CHECK(done.flags == SHIM_FILE_WRITE && done.value == 6 && record_offset(&done) == 0, "the flush was a write of %u",
          done.value);
    rewind(stream);
    char line[16] = {0};
    CHECK(fgets(line, sizeof line, stream) != NULL && strcmp(line, "hello\n") == 0, "fgets: \"%s\"", line);
    CHECK(last_record(SHIM_OP_FILE_DONE, path).flags == SHIM_FILE_READ, "the read was watched");
    fclose(stream);
    CHECK(closed_within(path, 1, arrival_ms), "fclose() is the last close");
}

static void watched_harness_hangs_up(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("orphan"));
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .hang_up = 1});
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    CHECK(pwrite(fd, "data", 4, 0) == 4, "the write goes ahead without a harness: %s", strerror(errno));
    set_rule(path, (struct fake_file_rule){.ask = all_ops, .fail_ops = all_ops, .fail_error = EIO});
    CHECK(pwrite(fd, "more", 4, 4) == 4 && fdatasync(fd) == 0, "later calls are not asked about: %s",
          strerror(errno));
    char back[8];
    CHECK(pread(fd, back, 8, 0) == 8 && memcmp(back, "datamore", 8) == 0, "the file got both writes");
    CHECK(count_records(SHIM_OP_FILE_IO, path) == 1, "only the first call was asked about");
    CHECK(close(fd) == 0, "close");
}

enum { writer_threads = 4, writes_per_thread = 50 };

static int shared_fd;

static void *write_sectors(void *argument)
{
    char sector[512];
    intptr_t thread = (intptr_t)argument;
    memset(sector, (int)('a' + thread), sizeof sector);
    for (int i = 0; i < writes_per_thread; i++) {
        off_t at = (off_t)(thread * writes_per_thread + i) * 512;
        if (pwrite(shared_fd, sector, sizeof sector, at) != 512)
            return (void *)1;
    }
    return NULL;
}

static void watched_concurrent_io(void)
{
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("threads"));
    shared_fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(shared_fd >= 0);
    pthread_t threads[writer_threads];
    for (intptr_t i = 0; i < writer_threads; i++)
        REQUIRE(pthread_create(&threads[i], NULL, write_sectors, (void *)i) == 0);
    for (int i = 0; i < writer_threads; i++) {
        void *failed;
        pthread_join(threads[i], &failed);
        CHECK(failed == NULL, "thread %d's writes", i);
    }
    const struct file_log *log = read_log();
    size_t pairs = 0;
    for (size_t i = 0; i + 1 < log->count; i++) {
        const struct fake_file_record *r = &log->records[i];
        if (r->op == SHIM_OP_FILE_IO && r->flags == SHIM_FILE_WRITE) {
            const struct fake_file_record *next = &log->records[i + 1];
            pairs += next->op == SHIM_OP_FILE_DONE && next->node == r->node && next->value == 512;
        }
    }
    CHECK(pairs == writer_threads * writes_per_thread, "every FILE_IO followed by its FILE_DONE: %zu pairs", pairs);
    CHECK(count_records(FAKE_RECORD_PROTOCOL_ERROR, NULL) == 0, "no exchanges mixed");
    close(shared_fd);
}

static void watch_list_unset(void)
{
    CHECK(getenv(SHIM_ENV_WATCH) == NULL, "run without %s", SHIM_ENV_WATCH);
    char path[PATH_MAX];
    work_path(path, sizeof path, WATCHED("unwatched"));
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    CHECK(pwrite(fd, "x", 1, 0) == 1 && fdatasync(fd) == 0, "I/O works");
    close(fd);
    CHECK(count_records(0, NULL) == 0, "nothing reached the harness");
    const char *world = getenv(SHIM_ENV_WORLD);
    REQUIRE(world != NULL);
    snprintf(path, sizeof path, "%s/%s", world, FAKE_WATCHED_CHARDEV);
    fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), "an unwatched chardev is still one");
    close(fd);
}

/* ---- the host's block devices ---------------------------------------------- */

enum { skipped_exit_status = 77 /* ctest's SKIP_RETURN_CODE */ };

/* A block device node of the host's kind, or skip. mknod needs CAP_MKNOD;
 * without it, any block device in /dev will do: the shim refuses before the
 * open, so nothing is opened either way. */
static bool host_block_device(char *path, size_t capacity)
{
    work_path(path, capacity, "host-disk");
    unlink(path);
    if (mknod(path, S_IFBLK | 0600, makedev(7, 250)) == 0)
        return true;
    DIR *dev = opendir("/dev");
    if (dev == NULL)
        return false;
    bool found = false;
    for (struct dirent *entry; !found && (entry = readdir(dev)) != NULL;) {
        struct stat st;
        snprintf(path, capacity, "/dev/%s", entry->d_name);
        found = lstat(path, &st) == 0 && S_ISBLK(st.st_mode);
    }
    closedir(dev);
    return found;
}

static void host_block_devices_refused(void)
{
    char disk[PATH_MAX];
    if (!host_block_device(disk, sizeof disk)) {
        printf("SKIP: no block device node can be made (no CAP_MKNOD) or found in /dev\n");
        exit(skipped_exit_status);
    }
    errno = 0;
    CHECK(open(disk, O_RDWR) == -1 && errno == EACCES, "open(O_RDWR) of %s refused with EACCES, got errno %d", disk,
          errno);
    CHECK(open(disk, O_RDONLY) == -1 && errno == EACCES, "read-only too");
    char link[PATH_MAX];
    work_path(link, sizeof link, "by-partlabel-modemst1");
    unlink(link);
    REQUIRE(symlink(disk, link) == 0);
    CHECK(open(link, O_RDWR) == -1 && errno == EACCES, "through a symlink");
    char directory[PATH_MAX];
    snprintf(directory, sizeof directory, "%s", link);
    *strrchr(directory, '/') = '\0';
    int dirfd = open(directory, O_RDONLY | O_DIRECTORY);
    REQUIRE(dirfd >= 0);
    CHECK(openat(dirfd, strrchr(link, '/') + 1, O_WRONLY) == -1 && errno == EACCES, "openat, relative");
    close(dirfd);
    errno = 0;
    CHECK(fopen(disk, "r+") == NULL && errno == EACCES, "fopen");
    int path_only = open(disk, O_PATH);
    CHECK(path_only >= 0, "O_PATH reaches no device: allowed");
    if (path_only >= 0)
        close(path_only);
    int null_device = open("/dev/null", O_WRONLY);
    CHECK(null_device >= 0, "a character device of the host is not a disk");
    if (null_device >= 0)
        close(null_device);
    CHECK(count_records(SHIM_OP_DEVICE_REFUSED, disk) == 3, "the harness heard of each refusal by the disk's name: %zu",
          count_records(SHIM_OP_DEVICE_REFUSED, disk));
    CHECK(count_records(SHIM_OP_DEVICE_REFUSED, link) == 2, "and by the link's: %zu",
          count_records(SHIM_OP_DEVICE_REFUSED, link));
    unlink(link);
    if (strncmp(disk, "/dev/", 5) != 0)
        unlink(disk);
}

/* ---- without a harness ------------------------------------------------------ */

static void errno_kept_on_pass_through(void)
{
    int pipe_ends[2];
    REQUIRE(pipe(pipe_ends) == 0);
    errno = 4242;
    CHECK(write(pipe_ends[1], "ab", 2) == 2 && errno == 4242, "write keeps errno, got %d", errno);
    char buffer[2];
    CHECK(read(pipe_ends[0], buffer, 2) == 2 && errno == 4242, "read keeps errno, got %d", errno);
    struct stat st;
    CHECK(fstat(pipe_ends[0], &st) == 0 && errno == 4242, "fstat keeps errno, got %d", errno);
    int file = open("/proc/self/stat", O_RDONLY);
    CHECK(file >= 0 && errno == 4242, "open keeps errno, got %d", errno);
    CHECK(pread(file, buffer, 1, 0) == 1 && errno == 4242, "pread keeps errno, got %d", errno);
    CHECK(close(file) == 0 && errno == 4242, "close keeps errno, got %d", errno);
    CHECK_FAILS(close(file), EBADF);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
}

static void no_harness_configured(void)
{
    CHECK(getenv(SHIM_ENV_SOCKET) == NULL, "run without %s", SHIM_ENV_SOCKET);
    CHECK_FAILS(socket(AF_QIPCRTR, SOCK_DGRAM, 0), EAFNOSUPPORT);
    errno_kept_on_pass_through();
    make_sysfs();
    char path[256];
    snprintf(path, sizeof path, "%s/class/remoteproc/remoteproc0/state", scratch);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    expect_text(fd, "decoy\n", "without a harness state files are real files");
    close(fd);
    remove_scratch();
}

static void harness_unreachable(void)
{
    CHECK(getenv(SHIM_ENV_SOCKET) != NULL, "run with %s naming nothing", SHIM_ENV_SOCKET);
    CHECK_FAILS(socket(AF_QIPCRTR, SOCK_DGRAM, 0), EAFNOSUPPORT);
    make_sysfs();
    char path[256];
    snprintf(path, sizeof path, "%s/class/remoteproc/remoteproc0/state", scratch);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    expect_text(fd, "decoy\n", "with the harness unreachable state files are real files");
    close(fd);
    /* RMTFS_HIL_WATCH=/tmp/ names it, but nobody listens: an ordinary file. */
    snprintf(path, sizeof path, "%s/watched-without-harness", scratch);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    CHECK(pwrite(fd, "ok", 2, 0) == 2 && fdatasync(fd) == 0 && read(fd, path, 2) == 2 && memcmp(path, "ok", 2) == 0,
          "a watched file works without its harness: %s", strerror(errno));
    close(fd);
    remove_scratch();
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"socket_type_and_flags", socket_type_and_flags},
    {"getsockname_before_and_after_bind", getsockname_before_and_after_bind},
    {"bind_rejects_bad_addresses", bind_rejects_bad_addresses},
    {"send_autobinds", send_autobinds},
    {"recv_on_unbound_socket", recv_on_unbound_socket},
    {"datagram_round_trip", datagram_round_trip},
    {"msg_trunc", msg_trunc},
    {"so_rcvtimeo_times_out", so_rcvtimeo_times_out},
    {"nonblocking_recv", nonblocking_recv},
    {"readiness_follows_the_queue", readiness_follows_the_queue},
    {"enetreset_delivered_once", enetreset_delivered_once},
    {"enetreset_consumed_by_send", enetreset_consumed_by_send},
    {"confirm_rx_reported_once_read", confirm_rx_reported_once_read},
    {"send_validation", send_validation},
    {"blocking_recv_leaves_send_free", blocking_recv_leaves_send_free},
    {"dup_shares_and_close_releases", dup_shares_and_close_releases},
    {"closed_behind_the_shims_back", closed_behind_the_shims_back},
    {"remoteproc_state_file", remoteproc_state_file},
    {"chardev_fstat", chardev_fstat},
    {"fortified_entry_points", fortified_entry_points},
    {"watched_open_and_last_close", watched_open_and_last_close},
    {"watched_open_refused_or_declined", watched_open_refused_or_declined},
    {"unwatched_paths_not_asked", unwatched_paths_not_asked},
    {"relative_and_openat_paths", relative_and_openat_paths},
    {"watched_write_faults", watched_write_faults},
    {"watched_read_and_sync_faults", watched_read_and_sync_faults},
    {"watched_done_reports", watched_done_reports},
    {"watched_only_asked_kinds", watched_only_asked_kinds},
    {"watched_chardev_fstat", watched_chardev_fstat},
    {"watched_stdio_stream", watched_stdio_stream},
    {"watched_harness_hangs_up", watched_harness_hangs_up},
    {"watched_concurrent_io", watched_concurrent_io},
    {"watch_list_unset", watch_list_unset},
    {"block_device_fstat", block_device_fstat},
    {"host_block_devices_refused", host_block_devices_refused},
    {"errno_kept_on_pass_through", errno_kept_on_pass_through},
    {"no_harness_configured", no_harness_configured},
    {"harness_unreachable", harness_unreachable},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\ncases:", argv[0]);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            fprintf(stderr, " %s", cases[i].name);
        fputc('\n', stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            current_case = cases[i].name;
            cases[i].run();
            printf("%s: %s\n", current_case, failures == 0 ? "passed" : "FAILED");
            return failures == 0 ? 0 : 1;
        }
    }
    fprintf(stderr, "no case %s\n", argv[1]);
    return 2;
}
