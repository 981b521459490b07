/* A toy harness for the shim's own tests: serves shim_protocol.h with a crude
 * one-node fabric (ports, loopback delivery, ENETRESET when the control port
 * is bound, confirm_rx answered by a "resume" datagram), a name service that
 * knows one server, a remoteproc0 state machine and a world with one chardev;
 * runs one command under the shim and exits with its status.
 *
 *   fake_harness --shim LIB [--expect-line TEXT] -- COMMAND [ARG...]
 *
 * The command's environment: LD_PRELOAD=LIB, RMTFS_HIL_SOCKET, and
 * RMTFS_HIL_WORLD (a directory holding "chardevs" and the file it lists,
 * qcom_rmtfs_mem1, as char device 247:1). With --expect-line, the command's
 * stdout is captured, echoed, and must contain TEXT as a whole line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/qrtr.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../shim_protocol.h"

enum {
    connections_max = 64,
    request_max_bytes = sizeof(struct shim_request) + SHIM_DATAGRAM_MAX_BYTES + PATH_MAX,
    command_timeout_ms = 20000,
    poll_interval_ms = 20,
    output_max_bytes = 64 * 1024,
    local_node = 1,
    ephemeral_port_first = 0x4000,
    ephemeral_port_last = 0x7fff,
    chardev_major = 247,
    chardev_minor = 1,
};

struct connection {
    int control_fd; /* -1: slot free */
    int data_fd;    /* -1 until SHIM_OP_OPEN */
    bool remoteproc;
    uint32_t port; /* 0: unbound */
    uint32_t reset_generation;
    bool reset_pending;
};

static struct connection connections[connections_max];
static bool remoteproc_running;
static char work_dir[PATH_MAX];

static void die(const char *what)
{
    fprintf(stderr, "fake_harness: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* ---- the fabric ----------------------------------------------------------- */

static struct connection *socket_at_port(uint32_t port)
{
    for (int i = 0; i < connections_max; i++)
        if (connections[i].control_fd >= 0 && connections[i].data_fd >= 0 && connections[i].port == port)
            return &connections[i];
    return NULL;
}

static int autobind(struct connection *c)
{
    if (c->port != 0)
        return 0;
    for (uint32_t port = ephemeral_port_first; port <= ephemeral_port_last; port++) {
        if (socket_at_port(port) == NULL) {
            c->port = port;
            return 0;
        }
    }
    return EADDRINUSE;
}

static bool deliver(struct connection *to, uint32_t kind, uint32_t flags, uint32_t node, uint32_t port, int error,
                    const void *payload, size_t length)
{
    struct shim_datagram header = {.kind = kind, .flags = flags, .node = node, .port = port, .error = error};
    struct iovec parts[2] = {{&header, sizeof header}, {(void *)payload, length}};
    struct msghdr message = {.msg_iov = parts, .msg_iovlen = length > 0 ? 2 : 1};
    return sendmsg(to->data_fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
}

static void reset_network(struct connection *except)
{
    for (int i = 0; i < connections_max; i++) {
        struct connection *c = &connections[i];
        if (c == except || c->control_fd < 0 || c->data_fd < 0 || c->port == 0)
            continue;
        c->reset_pending = true;
        c->reset_generation++;
        deliver(c, SHIM_DATAGRAM_ERROR, 0, c->reset_generation, 0, ENETRESET, NULL, 0);
    }
}

static void put_le32(uint8_t *at, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(value >> (8 * i));
}

/* The name service, as far as qrtr-lookup needs: one server, then the end. */
static void answer_lookup(struct connection *asker)
{
    uint8_t server[20] = {0};
    put_le32(server, QRTR_TYPE_NEW_SERVER);
    put_le32(server + 4, 14); /* service: remote file system */
    put_le32(server + 8, 1);  /* instance */
    put_le32(server + 12, 0); /* node */
    put_le32(server + 16, 1); /* port */
    deliver(asker, SHIM_DATAGRAM_DATA, 0, local_node, QRTR_PORT_CTRL, 0, server, sizeof server);
    uint8_t end[20] = {0};
    put_le32(end, QRTR_TYPE_NEW_SERVER);
    deliver(asker, SHIM_DATAGRAM_DATA, 0, local_node, QRTR_PORT_CTRL, 0, end, sizeof end);
}

static int send_datagram(struct connection *from, uint32_t node, uint32_t port, const uint8_t *payload, size_t length)
{
    if (node != local_node)
        return ECONNRESET;
    struct connection *to = socket_at_port(port);
    if (to == NULL && port == QRTR_PORT_CTRL) {
        if (length >= 4 && payload[0] == QRTR_TYPE_NEW_LOOKUP)
            answer_lookup(from);
        return 0;
    }
    if (to == NULL || to == from)
        return ENODEV;
    static const char confirm[] = "confirm";
    bool confirm_rx = length >= sizeof confirm - 1 && memcmp(payload, confirm, sizeof confirm - 1) == 0;
    if (!deliver(to, SHIM_DATAGRAM_DATA, confirm_rx ? SHIM_DATAGRAM_CONFIRM_RX : 0, local_node, from->port, 0, payload,
                 length))
        return ENOSPC;
    return 0;
}

/* ---- the remoteproc ------------------------------------------------------- */

static int write_remoteproc_state(const char *text, size_t length)
{
    if (length > 0 && text[length - 1] == '\n')
        length--;
    if (length == 5 && memcmp(text, "start", 5) == 0) {
        if (remoteproc_running)
            return EBUSY;
        remoteproc_running = true;
        return 0;
    }
    if (length == 4 && memcmp(text, "stop", 4) == 0) {
        if (!remoteproc_running)
            return EINVAL;
        remoteproc_running = false;
        return 0;
    }
    return EINVAL;
}

static bool names_remoteproc0(const char *path, size_t length)
{
    static const char suffix[] = "/remoteproc/remoteproc0/state";
    return length >= sizeof suffix - 1 && memcmp(path + length - (sizeof suffix - 1), suffix, sizeof suffix - 1) == 0;
}

/* ---- the control channels ------------------------------------------------- */

static void reply(struct connection *c, int error, uint32_t port, uint32_t value, const void *payload, size_t length)
{
    struct shim_reply header = {.error = error, .node = local_node, .port = port, .value = value};
    struct iovec parts[2] = {{&header, sizeof header}, {(void *)payload, length}};
    struct msghdr message = {.msg_iov = parts, .msg_iovlen = length > 0 ? 2 : 1};
    if (sendmsg(c->control_fd, &message, MSG_NOSIGNAL) < 0)
        fprintf(stderr, "fake_harness: reply on %d: %s\n", c->control_fd, strerror(errno));
}

static void release(struct connection *c)
{
    close(c->control_fd);
    if (c->data_fd >= 0)
        close(c->data_fd);
    *c = (struct connection){.control_fd = -1, .data_fd = -1};
}

static void protocol_error(struct connection *c, const char *what)
{
    fprintf(stderr, "fake_harness: protocol error on channel %d: %s\n", c->control_fd, what);
    release(c);
}

static void handle(struct connection *c, const struct shim_request *r, const uint8_t *payload, size_t length,
                   int passed_fd)
{
    if (passed_fd >= 0 && r->op != SHIM_OP_OPEN) {
        close(passed_fd);
        return protocol_error(c, "descriptor outside SHIM_OP_OPEN");
    }
    bool is_socket = c->data_fd >= 0;
    switch (r->op) {
    case SHIM_OP_OPEN:
        if (is_socket || c->remoteproc || passed_fd < 0 || r->value != SHIM_PROTOCOL_VERSION) {
            if (passed_fd >= 0)
                close(passed_fd);
            return protocol_error(c, "bad SHIM_OP_OPEN");
        }
        c->data_fd = passed_fd;
        return reply(c, 0, 0, 0, NULL, 0);
    case SHIM_OP_BIND: {
        if (!is_socket)
            return protocol_error(c, "bind before open");
        if (r->node != local_node)
            return reply(c, EINVAL, c->port, 0, NULL, 0);
        if (r->port == 0) {
            int error = autobind(c);
            return reply(c, error, c->port, 0, NULL, 0);
        }
        struct connection *holder = socket_at_port(r->port);
        if (holder != NULL && holder != c)
            return reply(c, EADDRINUSE, c->port, 0, NULL, 0);
        c->port = r->port;
        if (r->port == QRTR_PORT_CTRL)
            reset_network(c);
        return reply(c, 0, c->port, 0, NULL, 0);
    }
    case SHIM_OP_CONNECT: {
        if (!is_socket)
            return protocol_error(c, "connect before open");
        int error = autobind(c);
        return reply(c, error, c->port, 0, NULL, 0);
    }
    case SHIM_OP_SEND: {
        if (!is_socket)
            return protocol_error(c, "send before open");
        int error = autobind(c);
        if (error == 0 && c->reset_pending) {
            c->reset_pending = false;
            return reply(c, ENETRESET, c->port, c->reset_generation, NULL, 0);
        }
        if (error == 0)
            error = send_datagram(c, r->node, r->port, payload, length);
        return reply(c, error, c->port, error == 0 ? (uint32_t)length : 0, NULL, 0);
    }
    case SHIM_OP_ERROR_SEEN:
        if (!is_socket)
            return protocol_error(c, "error seen before open");
        if (r->node == c->reset_generation)
            c->reset_pending = false;
        return;
    case SHIM_OP_CONSUMED: {
        if (!is_socket)
            return protocol_error(c, "consumed before open");
        struct connection *sender = socket_at_port(r->port);
        if (sender != NULL)
            deliver(sender, SHIM_DATAGRAM_DATA, 0, local_node, QRTR_PORT_CTRL, 0, "resume", 6);
        return;
    }
    case SHIM_OP_RPROC_OPEN:
        if (is_socket || c->remoteproc)
            return protocol_error(c, "remoteproc open on a used channel");
        if (!names_remoteproc0((const char *)payload, length))
            return reply(c, ENOENT, 0, 0, NULL, 0);
        c->remoteproc = true;
        return reply(c, 0, 0, 1, NULL, 0);
    case SHIM_OP_RPROC_READ: {
        if (!c->remoteproc)
            return protocol_error(c, "remoteproc read before open");
        const char *text = remoteproc_running ? "running\n" : "offline\n";
        return reply(c, 0, 0, (uint32_t)strlen(text), text, strlen(text));
    }
    case SHIM_OP_RPROC_WRITE:
        if (!c->remoteproc)
            return protocol_error(c, "remoteproc write before open");
        return reply(c, write_remoteproc_state((const char *)payload, length), 0, (uint32_t)length, NULL, 0);
    default:
        return protocol_error(c, "unknown op");
    }
}

static void serve(struct connection *c)
{
    static uint8_t buffer[request_max_bytes];
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec part = {buffer, sizeof buffer};
    struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1, .msg_control = control.bytes,
                             .msg_controllen = sizeof control.bytes};
    ssize_t got = recvmsg(c->control_fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    int passed_fd = -1;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&message); h != NULL; h = CMSG_NXTHDR(&message, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
            memcpy(&passed_fd, CMSG_DATA(h), sizeof passed_fd);
    if (got <= 0) /* EOF: the socket's release */
        return release(c);
    if ((size_t)got < sizeof(struct shim_request) || (message.msg_flags & MSG_TRUNC)) {
        if (passed_fd >= 0)
            close(passed_fd);
        return protocol_error(c, "short or oversized request");
    }
    struct shim_request request;
    memcpy(&request, buffer, sizeof request);
    handle(c, &request, buffer + sizeof request, (size_t)got - sizeof request, passed_fd);
}

static void accept_connections(int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        int i = 0;
        while (i < connections_max && connections[i].control_fd >= 0)
            i++;
        if (i == connections_max) {
            fprintf(stderr, "fake_harness: more than %d channels\n", connections_max);
            close(fd);
            continue;
        }
        connections[i] = (struct connection){.control_fd = fd, .data_fd = -1};
    }
}

/* ---- the world and the command ------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode) != 0)
        die(path);
    close(fd);
}

static void make_world(char *socket_path, char *world_dir)
{
    char pattern[] = "/tmp/rmtfs-hil-shim-test-XXXXXX";
    if (mkdtemp(pattern) == NULL || realpath(pattern, work_dir) == NULL)
        die("mkdtemp");
    if (strlen(work_dir) > PATH_MAX - 64) {
        errno = ENAMETOOLONG;
        die(work_dir);
    }
    snprintf(socket_path, PATH_MAX, "%.4000s/harness.sock", work_dir);
    snprintf(world_dir, PATH_MAX, "%.4000s/world", work_dir);
    if (mkdir(world_dir, 0755) != 0)
        die(world_dir);
    char path[PATH_MAX + 64], text[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/qcom_rmtfs_mem1", world_dir);
    char page[4097];
    memset(page, 0, sizeof page - 1);
    memset(page, 'm', 64);
    page[4096] = '\0';
    write_file(path, page, 0640);
    snprintf(text, sizeof text, "# test world\n%d %d %s\n", chardev_major, chardev_minor, path);
    snprintf(path, sizeof path, "%s/chardevs", world_dir);
    write_file(path, text, 0644);
}

static void remove_world(const char *socket_path, const char *world_dir)
{
    char path[PATH_MAX + 64];
    unlink(socket_path);
    snprintf(path, sizeof path, "%s/qcom_rmtfs_mem1", world_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/chardevs", world_dir);
    unlink(path);
    rmdir(world_dir);
    rmdir(work_dir);
}

static int listen_at(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(path) >= sizeof address.sun_path)
        die("harness socket");
    strcpy(address.sun_path, path);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, SOMAXCONN) != 0)
        die(path);
    return fd;
}

static pid_t start_command(char **command, const char *shim, const char *socket_path, const char *world_dir,
                           int stdout_fd)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        return pid;
    const char *preload = getenv("LD_PRELOAD");
    char preload_list[2 * PATH_MAX];
    /* The shim comes first, as in production (umockdev's preload after it). */
    snprintf(preload_list, sizeof preload_list, "%s%s%s", shim, preload && *preload ? ":" : "",
             preload ? preload : "");
    setenv("LD_PRELOAD", preload_list, 1);
    setenv(SHIM_ENV_SOCKET, socket_path, 1);
    setenv(SHIM_ENV_WORLD, world_dir, 1);
    if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0)
        _exit(127);
    execvp(command[0], command);
    fprintf(stderr, "fake_harness: exec %s: %s\n", command[0], strerror(errno));
    _exit(127);
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static bool has_line(const char *text, const char *line)
{
    size_t length = strlen(line);
    for (const char *at = text; (at = strstr(at, line)) != NULL; at++)
        if ((at == text || at[-1] == '\n') && (at[length] == '\n' || at[length] == '\0'))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    const char *shim = NULL, *expected_line = NULL;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--shim") == 0 && i + 1 < argc)
            shim = argv[++i];
        else if (strcmp(argv[i], "--expect-line") == 0 && i + 1 < argc)
            expected_line = argv[++i];
        else
            break;
    }
    if (shim == NULL || i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
        fprintf(stderr, "usage: fake_harness --shim LIB [--expect-line TEXT] -- COMMAND [ARG...]\n");
        return 2;
    }
    char **command = &argv[i + 1];
    for (int c = 0; c < connections_max; c++)
        connections[c] = (struct connection){.control_fd = -1, .data_fd = -1};

    char socket_path[PATH_MAX], world_dir[PATH_MAX];
    make_world(socket_path, world_dir);
    int listener = listen_at(socket_path);
    int output[2] = {-1, -1};
    if (expected_line != NULL && pipe2(output, O_CLOEXEC) != 0)
        die("pipe");
    pid_t child = start_command(command, shim, socket_path, world_dir, output[1]);
    if (output[1] >= 0)
        close(output[1]);
    if (output[0] >= 0)
        fcntl(output[0], F_SETFL, O_NONBLOCK);

    static char captured[output_max_bytes + 1];
    size_t captured_bytes = 0;
    long deadline = now_ms() + command_timeout_ms;
    int status = 0;
    bool exited = false, output_open = output[0] >= 0;
    while (!exited || output_open) {
        struct pollfd watched[connections_max + 2];
        struct connection *owner[connections_max + 2];
        nfds_t count = 0;
        watched[count] = (struct pollfd){.fd = listener, .events = POLLIN};
        owner[count++] = NULL;
        if (output_open) {
            watched[count] = (struct pollfd){.fd = output[0], .events = POLLIN};
            owner[count++] = NULL;
        }
        for (int c = 0; c < connections_max; c++) {
            if (connections[c].control_fd >= 0) {
                watched[count] = (struct pollfd){.fd = connections[c].control_fd, .events = POLLIN};
                owner[count++] = &connections[c];
            }
        }
        if (poll(watched, count, poll_interval_ms) < 0 && errno != EINTR)
            die("poll");
        for (nfds_t w = 0; w < count; w++) {
            if (watched[w].revents == 0)
                continue;
            if (watched[w].fd == listener) {
                accept_connections(listener);
            } else if (owner[w] == NULL) {
                ssize_t n = read(output[0], captured + captured_bytes, output_max_bytes - captured_bytes);
                if (n > 0)
                    captured_bytes += (size_t)n;
                else if (n == 0 || (errno != EAGAIN && errno != EINTR) || captured_bytes == output_max_bytes)
                    output_open = false;
            } else if (owner[w]->control_fd == watched[w].fd) {
                serve(owner[w]);
            }
        }
        if (!exited && waitpid(child, &status, WNOHANG) == child)
            exited = true;
        if (now_ms() > deadline) {
            fprintf(stderr, "fake_harness: %s still running after %d ms: killed\n", command[0], command_timeout_ms);
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            remove_world(socket_path, world_dir);
            return 1;
        }
    }
    for (int c = 0; c < connections_max; c++)
        if (connections[c].control_fd >= 0)
            release(&connections[c]);
    close(listener);
    remove_world(socket_path, world_dir);

    int result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (expected_line != NULL) {
        captured[captured_bytes] = '\0';
        fwrite(captured, 1, captured_bytes, stdout);
        if (!has_line(captured, expected_line)) {
            fprintf(stderr, "fake_harness: expected the line \"%s\" on %s's stdout (shown above)\n", expected_line,
                    command[0]);
            return result != 0 ? result : 1;
        }
    }
    if (result != 0)
        fprintf(stderr, "fake_harness: %s exited with %d\n", command[0], result);
    return result;
}
