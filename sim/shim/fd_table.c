/* The descriptor table: two levels of atomically published pointers so that a
 * lookup for a descriptor the shim does not emulate costs two loads, no lock.
 * Chunks are never freed; emulated files are reference counted under one
 * lock, which is taken only for descriptors that are emulated. */
#define _GNU_SOURCE
#include "emulated_file.h"

#include <errno.h>
#include <stdlib.h>

#include "raw_syscall.h"

enum {
    fd_table_chunk_entries = 1024,
    fd_table_chunks_max = 1024, /* descriptors below 1,048,576 can be emulated */
};

static struct emulated_file **chunks[fd_table_chunks_max];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* The process whose memory holds this table. A vfork() child (Python's
 * subprocess, posix_spawn) runs in its parent's memory until it execs: its
 * closes and dup2s act on its own descriptors, and must not touch the
 * parent's table. fork() runs no atfork handler for vfork, so a differing
 * pid means exactly that. */
static pid_t table_owner;

static void lock_table(void) { pthread_mutex_lock(&table_lock); }
static void unlock_table(void) { pthread_mutex_unlock(&table_lock); }
static void forked_child(void)
{
    __atomic_store_n(&table_owner, raw_getpid(), __ATOMIC_RELEASE);
    unlock_table();
}

/* A fork while another thread holds the lock would leave it held forever in
 * the child. */
static void register_atfork(void)
{
    __atomic_store_n(&table_owner, raw_getpid(), __ATOMIC_RELEASE);
    pthread_atfork(lock_table, unlock_table, forked_child);
}

static bool in_vfork_child(void)
{
    pid_t owner = __atomic_load_n(&table_owner, __ATOMIC_ACQUIRE);
    return owner != 0 && owner != raw_getpid();
}

static struct emulated_file **slot(int fd, bool create)
{
    if (fd < 0 || fd >= fd_table_chunk_entries * fd_table_chunks_max)
        return NULL;
    struct emulated_file ***chunk = &chunks[fd / fd_table_chunk_entries];
    struct emulated_file **entries = __atomic_load_n(chunk, __ATOMIC_ACQUIRE);
    if (entries == NULL && create) {
        entries = calloc(fd_table_chunk_entries, sizeof *entries);
        if (entries == NULL)
            return NULL;
        __atomic_store_n(chunk, entries, __ATOMIC_RELEASE);
    }
    return entries == NULL ? NULL : &entries[fd % fd_table_chunk_entries];
}

static struct emulated_file *peek(int fd)
{
    struct emulated_file **entry = slot(fd, false);
    return entry == NULL ? NULL : __atomic_load_n(entry, __ATOMIC_ACQUIRE);
}

static void destroy(struct emulated_file *file)
{
    int saved_errno = errno;
    if (file->kind == EMULATED_QRTR_SOCKET && file->socket.control_fd >= 0)
        raw_close(file->socket.control_fd); /* the harness sees EOF: release */
    if (file->kind == EMULATED_WATCHED_FILE && file->watched.control_fd >= 0)
        raw_close(file->watched.control_fd); /* the harness sees EOF: the last close */
    pthread_mutex_destroy(&file->rpc_lock);
    free(file);
    errno = saved_errno;
}

struct emulated_file *emulated_file_new(enum emulated_file_kind kind)
{
    struct emulated_file *file = calloc(1, sizeof *file);
    if (file == NULL)
        return NULL;
    file->kind = kind;
    file->references = 1;
    pthread_mutex_init(&file->rpc_lock, NULL);
    if (kind == EMULATED_QRTR_SOCKET)
        file->socket.control_fd = -1;
    if (kind == EMULATED_WATCHED_FILE)
        file->watched.control_fd = -1;
    return file;
}

void emulated_file_release(struct emulated_file *file)
{
    if (file == NULL)
        return;
    lock_table();
    bool last = --file->references == 0;
    unlock_table();
    if (last)
        destroy(file);
}

bool fd_table_contains(int fd) { return peek(fd) != NULL; }

struct emulated_file *fd_table_acquire(int fd)
{
    if (peek(fd) == NULL)
        return NULL;
    lock_table();
    struct emulated_file *file = peek(fd);
    if (file != NULL)
        file->references++;
    unlock_table();
    return file;
}

/* Under the table lock: puts file at fd, returns what was there. */
static struct emulated_file *exchange(struct emulated_file **entry, struct emulated_file *file)
{
    struct emulated_file *old = __atomic_load_n(entry, __ATOMIC_ACQUIRE);
    __atomic_store_n(entry, file, __ATOMIC_RELEASE);
    return old;
}

int fd_table_install(int fd, struct emulated_file *file)
{
    pthread_once(&atfork_once, register_atfork);
    if (in_vfork_child()) {
        emulated_file_release(file); /* the parent's table is not the child's to change */
        return 0;
    }
    int saved_errno = errno;
    lock_table();
    struct emulated_file **entry = slot(fd, true);
    if (entry == NULL) {
        unlock_table();
        errno = (fd < 0 || fd >= fd_table_chunk_entries * fd_table_chunks_max) ? EMFILE : ENOMEM;
        return -1;
    }
    struct emulated_file *old = exchange(entry, file);
    unlock_table();
    emulated_file_release(old);
    errno = saved_errno;
    return 0;
}

void fd_table_remove(int fd)
{
    if (peek(fd) == NULL || in_vfork_child())
        return;
    lock_table();
    struct emulated_file **entry = slot(fd, false);
    struct emulated_file *old = entry == NULL ? NULL : exchange(entry, NULL);
    unlock_table();
    emulated_file_release(old);
}

void fd_table_share(int from_fd, int to_fd)
{
    int saved_errno = errno;
    struct emulated_file *file = fd_table_acquire(from_fd);
    if (file == NULL) {
        fd_table_remove(to_fd);
    } else if (fd_table_install(to_fd, file) != 0) {
        emulated_file_release(file);
    }
    errno = saved_errno;
}

void fd_table_remove_range(unsigned first, unsigned last)
{
    const unsigned table_end = fd_table_chunk_entries * fd_table_chunks_max;
    if (first >= table_end)
        return;
    if (last >= table_end)
        last = table_end - 1;
    for (unsigned chunk = first / fd_table_chunk_entries; chunk <= last / fd_table_chunk_entries; chunk++) {
        /* Skip chunks never used without looking at their entries. */
        if (__atomic_load_n(&chunks[chunk], __ATOMIC_ACQUIRE) == NULL)
            continue;
        unsigned begin = chunk * fd_table_chunk_entries;
        unsigned end = begin + fd_table_chunk_entries - 1;
        for (unsigned fd = begin < first ? first : begin; fd <= (end > last ? last : end); fd++)
            fd_table_remove((int)fd);
    }
}

int fd_table_fresh(int fd)
{
    if (fd >= 0 && peek(fd) != NULL)
        fd_table_remove(fd);
    return fd;
}
