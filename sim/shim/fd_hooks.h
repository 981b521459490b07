/* What fd_hooks.c's read(), write() and lseek() do to an emulated or watched
 * file, for callers that hold the file already (the stdio streams fopen()
 * makes over such files). */
#ifndef RMTFS_HIL_SHIM_FD_HOOKS_H
#define RMTFS_HIL_SHIM_FD_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "emulated_file.h"

/* read()/readv() (vectored) at the file position. */
ssize_t emulated_file_read(struct emulated_file *file, int fd, const struct iovec *parts, size_t count,
                           bool vectored);
/* write()/writev() (vectored) at the file position. */
ssize_t emulated_file_write(struct emulated_file *file, int fd, const struct iovec *parts, size_t count,
                            bool vectored);
off64_t emulated_file_seek(struct emulated_file *file, int fd, off64_t offset, int whence);

#endif
