/* A toy harness for the shim's own tests: serves shim_protocol.h with a crude
 * one-node fabric (ports, loopback delivery, ENETRESET when the control port
 * is bound, confirm_rx answered by a "resume" datagram), a name service that
 * knows one server, a remoteproc0 state machine, a world with two char devices and a block device,
 * and watched files answered by rules the command sets and logged for it to
 * read back (fake_harness_ops.h); runs one command under the shim and exits
 * with its status.
 *
 *   fake_harness --shim LIB [--expect-line TEXT] [--no-watch] -- COMMAND [ARG...]
 *
 * The command's environment: LD_PRELOAD=LIB, RMTFS_HIL_SOCKET,
 * RMTFS_HIL_WORLD (a directory holding "devices" and the files it lists,
 * qcom_rmtfs_mem1 as char device 247:1 and qcom_rmtfs_mem2 as 247:2) and,
 * unless --no-watch, RMTFS_HIL_WATCH (see fake_harness_ops.h). With
 * --expect-line, the command's stdout is captured, echoed, and must contain
 * TEXT as a whole line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "fake_harness_ops.h"

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
    rules_max = 32,
    records_max = 4096,
    remove_fds_max = 16,
};

struct connection {
    int control_fd; /* -1: slot free */
    int data_fd;    /* -1 until SHIM_OP_OPEN */
    bool remoteproc;
    uint32_t port; /* 0: unbound */
    uint32_t reset_generation;
    bool reset_pending;
    bool file;            /* SHIM_OP_FILE_OPEN came: a watched file's channel */
    uint32_t file_id;     /* 0 unless the open was answered "watched" */
    bool done_due;        /* a FILE_IO reply asked for FILE_DONE */
    char path[PATH_MAX];  /* the file's */
};

struct rule {
    char path[PATH_MAX];
    struct fake_file_rule answers;
};

static struct connection connections[connections_max];
static bool remoteproc_running;
static char work_dir[PATH_MAX];
static struct rule rules[rules_max];
static size_t rule_count;
static struct fake_file_record records[records_max];
static size_t record_count;
static uint32_t last_file_id;

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

/* ---- watched files ---------------------------------------------------------- */

static const struct fake_file_rule default_rule = {.ask = SHIM_FILE_READ | SHIM_FILE_WRITE | SHIM_FILE_SYNC};

static const struct fake_file_rule *rule_for(const char *path)
{
    for (size_t i = 0; i < rule_count; i++)
        if (strcmp(rules[i].path, path) == 0)
            return &rules[i].answers;
    return &default_rule;
}

static int set_rule(const uint8_t *payload, size_t length)
{
    struct fake_file_rule answers;
    if (length <= sizeof answers || length - sizeof answers >= PATH_MAX)
        return EINVAL;
    memcpy(&answers, payload, sizeof answers);
    char path[PATH_MAX];
    memcpy(path, payload + sizeof answers, length - sizeof answers);
    path[length - sizeof answers] = '\0';
    size_t i = 0;
    while (i < rule_count && strcmp(rules[i].path, path) != 0)
        i++;
    if (i == rules_max)
        return ENOSPC;
    if (i == rule_count)
        rule_count++;
    strcpy(rules[i].path, path);
    rules[i].answers = answers;
    return 0;
}

static uint64_t offset_of(const struct shim_request *r) { return (uint64_t)r->port << 32 | r->node; }

/* The file's bytes at the request's offset, read by the harness itself: what
 * the program's write had (FILE_DONE) or had not yet (FILE_IO) done. */
static void take_snapshot(struct fake_file_record *record, const char *path, uint64_t offset)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = pread(fd, record->snapshot, sizeof record->snapshot, (off_t)offset);
    close(fd);
    record->snapshot_valid = n >= 0;
}

static void record(const struct connection *c, uint32_t op, const struct shim_request *r, const char *path)
{
    if (record_count == records_max) {
        fprintf(stderr, "fake_harness: more than %d records\n", records_max);
        return;
    }
    struct fake_file_record *entry = &records[record_count++];
    memset(entry, 0, sizeof *entry);
    entry->op = op;
    entry->id = c->file_id;
    snprintf(entry->path, sizeof entry->path, "%s", path);
    if (r == NULL)
        return;
    entry->flags = r->flags;
    entry->node = r->node;
    entry->port = r->port;
    entry->value = r->value;
    entry->reserved = r->reserved;
    if ((op == SHIM_OP_FILE_IO || op == SHIM_OP_FILE_DONE) && r->flags == SHIM_FILE_WRITE)
        take_snapshot(entry, path, offset_of(r));
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

static void reply_file(struct connection *c, int error, uint32_t node, uint32_t value)
{
    struct shim_reply header = {.error = error, .node = node, .value = value};
    if (send(c->control_fd, &header, sizeof header, MSG_NOSIGNAL) < 0)
        fprintf(stderr, "fake_harness: reply on %d: %s\n", c->control_fd, strerror(errno));
}

static void release(struct connection *c)
{
    if (c->file)
        record(c, FAKE_RECORD_CLOSED, NULL, c->path);
    close(c->control_fd);
    if (c->data_fd >= 0)
        close(c->data_fd);
    *c = (struct connection){.control_fd = -1, .data_fd = -1};
}

static void protocol_error(struct connection *c, const char *what)
{
    fprintf(stderr, "fake_harness: protocol error on channel %d: %s\n", c->control_fd, what);
    if (c->file)
        record(c, FAKE_RECORD_PROTOCOL_ERROR, NULL, c->path);
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
    bool is_file = c->file && c->file_id != 0;
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
    case SHIM_OP_DEVICE_REFUSED: {
        if (is_socket || c->remoteproc || c->file || length == 0 || length >= PATH_MAX)
            return protocol_error(c, "bad SHIM_OP_DEVICE_REFUSED");
        char refused[PATH_MAX];
        memcpy(refused, payload, length);
        refused[length] = '\0';
        record(c, r->op, r, refused);
        return reply(c, 0, 0, 0, NULL, 0);
    }
    case SHIM_OP_FILE_OPEN: {
        if (is_socket || c->remoteproc || c->file || length == 0 || length >= PATH_MAX)
            return protocol_error(c, "bad SHIM_OP_FILE_OPEN");
        c->file = true;
        memcpy(c->path, payload, length);
        c->path[length] = '\0';
        record(c, r->op, r, c->path);
        const struct fake_file_rule *rule = rule_for(c->path);
        if (rule->open_error != 0 || rule->unwatched)
            return reply_file(c, rule->open_error, 0, 0);
        c->file_id = ++last_file_id;
        return reply_file(c, 0, rule->ask, c->file_id);
    }
    case SHIM_OP_FILE_IO: {
        if (!is_file || c->done_due)
            return protocol_error(c, c->done_due ? "FILE_IO while a FILE_DONE is due" : "FILE_IO before open");
        record(c, r->op, r, c->path);
        const struct fake_file_rule *rule = rule_for(c->path);
        if (rule->hang_up)
            return release(c);
        if (r->flags & rule->fail_ops)
            return reply_file(c, rule->fail_error, 0, 0);
        uint32_t allowed = rule->limited && rule->limit < r->value ? rule->limit : r->value;
        c->done_due = !rule->no_done;
        return reply_file(c, 0, c->done_due, allowed);
    }
    case SHIM_OP_FILE_DONE: {
        if (!is_file || !c->done_due)
            return protocol_error(c, "FILE_DONE not asked for");
        c->done_due = false;
        record(c, r->op, r, c->path);
        uint32_t delay_ms = rule_for(c->path)->done_delay_ms;
        if (delay_ms > 0)
            usleep(delay_ms * 1000u); /* the program waits inside its call */
        return reply_file(c, 0, 0, 0);
    }
    case FAKE_SET_RULE:
        return reply(c, set_rule(payload, length), 0, 0, NULL, 0);
    case FAKE_GET_RECORD:
        if (r->value >= record_count)
            return reply(c, ENOENT, 0, (uint32_t)record_count, NULL, 0);
        return reply(c, 0, 0, (uint32_t)record_count, &records[r->value], sizeof records[r->value]);
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

static void write_bytes(const char *path, const char *bytes, size_t size, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, bytes, size) != (ssize_t)size || fchmod(fd, mode) != 0)
        die(path);
    close(fd);
}

static void write_file(const char *path, const char *text, mode_t mode) { write_bytes(path, text, strlen(text), mode); }

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
    char path[PATH_MAX + 64], text[3 * PATH_MAX + 512];
    snprintf(path, sizeof path, "%s/qcom_rmtfs_mem1", world_dir);
    char page[4097];
    memset(page, 0, sizeof page - 1);
    memset(page, 'm', 64);
    page[4096] = '\0';
    write_file(path, page, 0640);
    /* A device region of a whole page: the shim clamps I/O to its size. */
    char watched_chardev[PATH_MAX + 64];
    snprintf(watched_chardev, sizeof watched_chardev, "%s/%s", world_dir, FAKE_WATCHED_CHARDEV);
    write_bytes(watched_chardev, page, 4096, 0640);
    char block_device[PATH_MAX + 64];
    snprintf(block_device, sizeof block_device, "%s/%s", world_dir, FAKE_BLOCK_DEVICE);
    write_bytes(block_device, page, 4096, 0660);
    snprintf(text, sizeof text, "# test world\nc %d %d %s\nc %d %d %s\nb %d %d %s\n", chardev_major, chardev_minor,
             path, chardev_major, FAKE_WATCHED_CHARDEV_MINOR, watched_chardev, FAKE_BLOCK_DEVICE_MAJOR,
             FAKE_BLOCK_DEVICE_MINOR, block_device);
    snprintf(path, sizeof path, "%s/devices", world_dir);
    write_file(path, text, 0644);
    snprintf(path, sizeof path, "%s/%s", work_dir, FAKE_WATCHED_DIR);
    if (mkdir(path, 0755) != 0)
        die(path);
}

/* RMTFS_HIL_WATCH as fake_harness_ops.h describes it. */
static void make_watch_list(char *list, size_t capacity, const char *world_dir)
{
    snprintf(list, capacity, "%.4000s/%s/::relative/ignored:%.4000s/%s:%.4000s/%s", work_dir, FAKE_WATCHED_DIR,
             work_dir, FAKE_WATCHED_EXACT, world_dir, FAKE_WATCHED_CHARDEV);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *where)
{
    (void)st;
    (void)where;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0)
        fprintf(stderr, "fake_harness: remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* Everything, with what the command left in the watched directory. */
static void remove_world(void)
{
    nftw(work_dir, remove_entry, remove_fds_max, FTW_DEPTH | FTW_PHYS);
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
                           bool watch, int stdout_fd)
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
    if (watch) {
        static char watch_list[3 * PATH_MAX];
        make_watch_list(watch_list, sizeof watch_list, world_dir);
        setenv(SHIM_ENV_WATCH, watch_list, 1);
    } else {
        unsetenv(SHIM_ENV_WATCH);
    }
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
    bool watch = true;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--shim") == 0 && i + 1 < argc)
            shim = argv[++i];
        else if (strcmp(argv[i], "--expect-line") == 0 && i + 1 < argc)
            expected_line = argv[++i];
        else if (strcmp(argv[i], "--no-watch") == 0)
            watch = false;
        else
            break;
    }
    if (shim == NULL || i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
        fprintf(stderr, "usage: fake_harness --shim LIB [--expect-line TEXT] [--no-watch] -- COMMAND [ARG...]\n");
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
    pid_t child = start_command(command, shim, socket_path, world_dir, watch, output[1]);
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
            remove_world();
            return 1;
        }
    }
    for (int c = 0; c < connections_max; c++)
        if (connections[c].control_fd >= 0)
            release(&connections[c]);
    close(listener);
    remove_world();

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
