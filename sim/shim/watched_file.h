/* Watched files (RMTFS_HIL_WATCH): real files the program opens, reads,
 * writes and syncs itself, each with a hidden control channel on which the
 * harness sees the open (SHIM_OP_FILE_OPEN), is asked before each call of a
 * kind it chose (SHIM_OP_FILE_IO) and may hold the program after it
 * (SHIM_OP_FILE_DONE); the channel's EOF is the last close.
 *
 * As with sockets, only dup(), dup2() and dup3() copies share the watch; a
 * fcntl(F_DUPFD) copy or a descriptor kept across exec() is the bare file
 * (the channel is close-on-exec: the harness sees a last close at exec). A
 * fopen()ed watched file is a fopencookie() stream, without a fileno(). I/O
 * the shim does not interpose (mmap, sendfile, copy_file_range, ...) is not
 * seen. */
#ifndef RMTFS_HIL_SHIM_WATCHED_FILE_H
#define RMTFS_HIL_SHIM_WATCHED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "emulated_file.h"
#include "open_hooks.h"

/* true when the open was the harness's business (then *result is the
 * descriptor of the real file, or -1 with errno); false to open the file as
 * if it were not watched, with errno as it was. */
bool watched_file_open(const struct open_call *call, int *result);

/* The interposed entry point a call came in through; the real call goes to
 * the next definition of it (the fortified ones, checked already, to the
 * plain one). */
enum watched_entry {
    WATCHED_READ,           /* read(), __read_chk() */
    WATCHED_READV,
    WATCHED_PREAD,          /* pread(), __pread_chk() */
    WATCHED_PREAD64,        /* pread64(), __pread64_chk() */
    WATCHED_PREADV,
    WATCHED_PREADV64,
    WATCHED_PREADV2,        /* offset -1: at the file position */
    WATCHED_PREADV64V2,
    WATCHED_WRITE,
    WATCHED_WRITEV,
    WATCHED_PWRITE,
    WATCHED_PWRITE64,
    WATCHED_PWRITEV,
    WATCHED_PWRITEV64,
    WATCHED_PWRITEV2,
    WATCHED_PWRITEV64V2,
    WATCHED_FSYNC,
    WATCHED_FDATASYNC,
    WATCHED_SYNC_FILE_RANGE,
};

struct watched_call {
    enum watched_entry entry;
    int fd;
    const struct iovec *parts;  /* one for read, pread, write, pwrite; none for a sync */
    size_t part_count;          /* at most UIO_MAXIOV */
    off64_t offset;             /* the p*() calls and sync_file_range() */
    off64_t length;             /* sync_file_range() */
    unsigned flags;             /* RWF_* of preadv2()/pwritev2(); sync_file_range()'s */
};

/* The call on a watched file: straight to the next definition unless its kind
 * is asked about. A harness that has gone away makes it unwatched. */
ssize_t watched_file_call(struct emulated_file *file, const struct watched_call *call);

#endif
