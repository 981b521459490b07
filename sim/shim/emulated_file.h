/* A file the shim emulates (an AF_QIPCRTR socket or a remoteproc state file)
 * or watches (a real file whose I/O the harness sees), and the table from file
 * descriptors to it. Several descriptors may share one
 * emulated file (dup); it lives until the last of them is closed. */
#ifndef RMTFS_HIL_SHIM_EMULATED_FILE_H
#define RMTFS_HIL_SHIM_EMULATED_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum emulated_file_kind {
    EMULATED_QRTR_SOCKET = 1,
    EMULATED_REMOTEPROC_STATE = 2,
    EMULATED_WATCHED_FILE = 3,
};

struct qrtr_socket {
    int control_fd;         /* hidden, >= SHIM_CONTROL_FD_MIN when possible; owned */
    uint32_t local_node;    /* from SHIM_OP_OPEN's reply */
    uint32_t port;          /* atomic; 0 until bound or autobound */
    uint32_t reset_generation_consumed; /* atomic; newest ENETRESET a send reported */
    bool connected;         /* rpc_lock */
    uint32_t peer_node;     /* rpc_lock */
    uint32_t peer_port;     /* rpc_lock */
};

struct remoteproc_state_file {
    uint32_t id;            /* SHIM_OP_RPROC_OPEN's reply.value */
    int access_mode;        /* O_RDONLY, O_WRONLY or O_RDWR */
    off_t position;         /* rpc_lock */
};

/* The program's descriptor is the real file; only the channel is the shim's. */
struct watched_file {
    int control_fd;         /* hidden; owned: its EOF is the last close */
    uint32_t id;            /* SHIM_OP_FILE_OPEN's reply.value */
    uint32_t ask;           /* atomic; enum shim_file_op bits; 0 once the channel broke */
    bool append;            /* O_APPEND: writes land at the end */
    /* A char device of the world's device list (the rmtfs_mem region): reads and writes are
     * clamped to this many bytes, as the kernel's driver clamps them to the
     * region; 0 for an ordinary file. */
    off64_t device_size;
};

struct emulated_file {
    enum emulated_file_kind kind;
    unsigned references;    /* the table lock */
    /* One request/reply exchange on the control channel at a time: the
     * harness answers in order and expects nothing else while a send waits. */
    pthread_mutex_t rpc_lock;
    union {
        struct qrtr_socket socket;
        struct remoteproc_state_file remoteproc;
        struct watched_file watched;
    };
};

/* A new file with one reference (the caller's); NULL with errno on failure. */
struct emulated_file *emulated_file_new(enum emulated_file_kind kind);
/* Drops one reference; the last one closes what the file owns. Keeps errno. */
void emulated_file_release(struct emulated_file *file);

/* Lock-free and O(1): false for every descriptor the shim does not emulate,
 * which is the whole cost the shim adds to ordinary I/O. */
bool fd_table_contains(int fd);
/* The file behind fd with a reference the caller releases, or NULL. */
struct emulated_file *fd_table_acquire(int fd);
/* fd now refers to file; takes over the caller's reference. A file already at
 * fd (closed behind the shim's back) is released. -1 with errno (EMFILE when
 * fd is beyond the table, ENOMEM). */
int fd_table_install(int fd, struct emulated_file *file);
/* Forgets fd; the table's reference is released. Keeps errno. */
void fd_table_remove(int fd);
/* to_fd becomes another descriptor of from_fd's file (dup); a no-op when
 * from_fd is not emulated. Keeps errno. */
void fd_table_share(int from_fd, int to_fd);
/* Forgets every descriptor in [first, last] (close_range). Keeps errno. */
void fd_table_remove_range(unsigned first, unsigned last);
/* For a descriptor the kernel just handed out (open, socket, accept): an
 * entry for it is stale, its old descriptor closed behind the shim's back
 * (fclose() of an fdopen()ed socket closes inside libc), and is forgotten.
 * Returns fd; keeps errno. */
int fd_table_fresh(int fd);

#endif
