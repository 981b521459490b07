/* Files of the world that stand in for character devices: the rmtfs_mem
 * backing file is a regular file, but rmtfs looks its device up by st_rdev. */
#ifndef RMTFS_HIL_SHIM_CHARDEV_H
#define RMTFS_HIL_SHIM_CHARDEV_H

#include <stdbool.h>

/* true when fd's path is listed in "$RMTFS_HIL_WORLD/chardevs" (read once:
 * lines "MAJOR MINOR /absolute/path", '#' starts a comment). Keeps errno. */
bool chardev_of_fd(int fd, unsigned *major, unsigned *minor);

#endif
