/* Remoteproc "state" files served by the harness: opening one (open, openat,
 * fopen and their fortified and 64-bit variants, interposed in open_hooks.c)
 * becomes SHIM_OP_RPROC_OPEN on a control channel that is itself the
 * program's descriptor; reads and writes become SHIM_OP_RPROC_READ /
 * SHIM_OP_RPROC_WRITE, as sysfs answers. */
#ifndef RMTFS_HIL_SHIM_REMOTEPROC_FILE_H
#define RMTFS_HIL_SHIM_REMOTEPROC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "emulated_file.h"

/* The state text as sysfs shows it: a page at most. */
enum { remoteproc_state_text_max_bytes = 4096 };

/* Called for every open (and fopen) of the program: true when the open was
 * the shim's (then *result is the descriptor, or -1 with errno); false to
 * open the real file, with errno as it was. */
bool remoteproc_file_open(int dirfd, const char *path, int flags, int *result);

/* at_position: read()/readv() (the file position is used and advanced);
 * otherwise pread() at offset. */
ssize_t remoteproc_file_read(struct emulated_file *file, int fd, const struct iovec *parts, size_t part_count,
                             bool at_position, off_t offset);
ssize_t remoteproc_file_write(struct emulated_file *file, int fd, const struct iovec *parts, size_t part_count,
                              bool at_position);
off_t remoteproc_file_seek(struct emulated_file *file, off_t offset, int whence);

#endif
