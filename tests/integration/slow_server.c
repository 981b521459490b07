/*
 * A stand-in RMTFS server for the tests of the rig's rest check: it publishes
 * service 14 and answers every request with success (OPEN with caller id 1,
 * ALLOC_BUFF with an address), except GET_DEV_ERROR, whose answer comes the
 * way argv[1] says:
 *   sleep    after a 300 ms nanosleep (the thread is busy, not waiting);
 *   select   when a select() with a 300 ms timeout ends (a timed wait);
 *   thread   from a second thread after 300 ms (one thread idle, one not);
 *   never    not at all (the daemon waits for input: none can come);
 *   txn      at once, but with the request's txn plus one;
 *   crash    at once, and 100 ms later the server aborts (a crash queued
 *            behind the answer).
 * With "refuse" every RW_IOVEC is answered result 1, error 1 (internal); with
 * "leak" every request also allocates 64 KiB it keeps and never frees.
 * argv[2], when given, is the service's wire instance (instance << 8 |
 * version) to publish instead of 1 (version 1, instance 0).
 * Not an rmtfs: only what the tests need, through the preload shim's
 * AF_QIPCRTR like any sandboxed program.
 */
#include <linux/qrtr.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_QIPCRTR
#define AF_QIPCRTR 42
#endif

enum { delay_ms = 300, get_dev_error = 5, open_msg = 1, rw_iovec = 3, alloc_buff = 4 };

static int fd;
static const char* mode = "never";

struct answer {
    struct sockaddr_qrtr to;
    uint8_t bytes[64];
    size_t length;
};

static size_t put_tlv(uint8_t* at, uint8_t type, const void* value, uint16_t length) {
    at[0] = type;
    memcpy(at + 1, &length, 2);
    memcpy(at + 3, value, length);
    return 3u + length;
}

/* A success response to `request` (type, txn, id, length, TLVs). */
static size_t build(const uint8_t* request, uint8_t* out) {
    uint16_t id;
    memcpy(&id, request + 3, 2);
    out[0] = 2; /* response */
    memcpy(out + 1, request + 1, 2);
    memcpy(out + 3, &id, 2);
    size_t n = 7;
    uint16_t result[2] = {0, 0};
    if (id == rw_iovec && strcmp(mode, "refuse") == 0) {
        result[0] = 1;
        result[1] = 1;
    }
    n += put_tlv(out + n, 0x02, result, sizeof result);
    if (id == open_msg) {
        uint32_t caller = 1;
        n += put_tlv(out + n, 0x10, &caller, sizeof caller);
    } else if (id == alloc_buff) {
        uint64_t address = 0x88f00000u;
        n += put_tlv(out + n, 0x10, &address, sizeof address);
    } else if (id == get_dev_error) {
        uint8_t status = 0;
        n += put_tlv(out + n, 0x10, &status, sizeof status);
    }
    uint16_t length = (uint16_t)(n - 7);
    memcpy(out + 5, &length, 2);
    return n;
}

static void send_answer(const struct answer* a) {
    sendto(fd, a->bytes, a->length, 0, (const struct sockaddr*)&a->to, sizeof a->to);
}

static void pause_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void* later(void* arg) {
    pause_ms(delay_ms);
    send_answer(arg);
    return NULL;
}

int main(int argc, char** argv) {
    mode = argc > 1 ? argv[1] : "never";
    fd = socket(AF_QIPCRTR, SOCK_DGRAM, 0);
    if (fd < 0) return perror("socket"), 1;
    struct sockaddr_qrtr self;
    socklen_t self_length = sizeof self;
    if (getsockname(fd, (struct sockaddr*)&self, &self_length) < 0) return perror("getsockname"), 1;
    self.sq_port = 0; /* any port */
    if (bind(fd, (struct sockaddr*)&self, sizeof self) < 0) return perror("bind"), 1;
    self_length = sizeof self;
    if (getsockname(fd, (struct sockaddr*)&self, &self_length) < 0) return perror("getsockname"), 1;
    struct qrtr_ctrl_pkt publish;
    memset(&publish, 0, sizeof publish);
    publish.cmd = QRTR_TYPE_NEW_SERVER;
    publish.server.service = 14;
    publish.server.instance = argc > 2 ? (uint32_t)atoi(argv[2]) : 1u; /* version 1, instance 0 */
    publish.server.node = self.sq_node;
    publish.server.port = self.sq_port;
    struct sockaddr_qrtr control = {AF_QIPCRTR, self.sq_node, QRTR_PORT_CTRL};
    if (sendto(fd, &publish, sizeof publish, 0, (struct sockaddr*)&control, sizeof control) < 0)
        return perror("publish"), 1;
    fprintf(stderr, "slow_server %s: serving\n", mode);
    static struct answer held;
    int holding = 0;
    for (;;) {
        if (holding && strcmp(mode, "select") == 0) {
            fd_set readable;
            FD_ZERO(&readable);
            FD_SET(fd, &readable);
            struct timeval timeout = {0, delay_ms * 1000};
            if (select(fd + 1, &readable, NULL, NULL, &timeout) == 0) {
                send_answer(&held);
                holding = 0;
            }
            continue;
        }
        uint8_t request[512];
        struct sockaddr_qrtr from;
        socklen_t from_length = sizeof from;
        ssize_t got = recvfrom(fd, request, sizeof request, 0, (struct sockaddr*)&from, &from_length);
        if (got < 0) return perror("recvfrom"), 1;
        if (got < 7 || from.sq_port == QRTR_PORT_CTRL) continue;
        if (strcmp(mode, "leak") == 0) {
            static void* kept[4096];
            static size_t count;
            char* leak = malloc(64 * 1024);
            if (leak != NULL) memset(leak, 1, 64 * 1024);
            kept[count++ % 4096] = leak; /* reachable: no compiler may drop it */
        }
        struct answer a = {from, {0}, 0};
        a.length = build(request, a.bytes);
        uint16_t id;
        memcpy(&id, request + 3, 2);
        if (id != get_dev_error) {
            send_answer(&a);
        } else if (strcmp(mode, "sleep") == 0) {
            pause_ms(delay_ms);
            send_answer(&a);
        } else if (strcmp(mode, "select") == 0) {
            held = a;
            holding = 1;
        } else if (strcmp(mode, "txn") == 0) {
            a.bytes[1]++;
            send_answer(&a);
        } else if (strcmp(mode, "crash") == 0) {
            send_answer(&a);
            pause_ms(100);
            abort();
        } else if (strcmp(mode, "thread") == 0) {
            held = a;
            pthread_t thread;
            pthread_create(&thread, NULL, later, &held);
            pthread_detach(thread);
        }
    }
}
