/* Paths as the program names them: made absolute against the directory a
 * relative one is relative to, without following symbolic links. */
#ifndef RMTFS_HIL_SHIM_PATH_H
#define RMTFS_HIL_SHIM_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* path (relative to dirfd, or AT_FDCWD) as an absolute path in resolved.
 * false when that cannot be known (dirfd is not a directory in the file
 * system) or does not fit. Keeps errno only on success. */
bool shim_path_absolute(int dirfd, const char *path, char *resolved, size_t capacity);

/* Lexical tidying of an absolute path, in place: "//" becomes "/" and "."
 * components go, neither of which changes the file named. ".." stays: where
 * it leads depends on symbolic links. A trailing '/' (or "/.") stays as '/'. */
void shim_path_tidy(char *path);

#endif
