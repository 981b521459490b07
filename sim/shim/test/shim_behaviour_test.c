/* The shim's behaviour, one scenario per run: `shim_behaviour_test CASE`.
 * Each case runs under LD_PRELOAD=librmtfs_hil_shim.so, against fake_harness
 * unless its name says otherwise, and checks what a program would see on a
 * kernel with AF_QIPCRTR, a sysfs remoteproc and a rmtfs_mem char device. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include "../shim_protocol.h"

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

    snprintf(path, sizeof path, "%s/chardevs", world);
    int other = open(path, O_RDONLY);
    REQUIRE(other >= 0);
    CHECK(fstat(other, &st) == 0 && S_ISREG(st.st_mode), "an unlisted file stays regular");
    close(other);
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
