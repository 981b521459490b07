/* Files of the world that stand in for device nodes: the rmtfs_mem backing
 * file and the EFS partition files are regular files, but a program that
 * fstat()s them must see a character device (rmtfs looks the memory device up
 * by st_rdev) or a block device (a partition under `rmtfs -P`). */
#ifndef RMTFS_HIL_SHIM_DEVICE_LIST_H
#define RMTFS_HIL_SHIM_DEVICE_LIST_H

#include <stdbool.h>

struct device_identity {
    char type; /* 'c' or 'b' */
    unsigned major;
    unsigned minor;
};

/* true when fd's path is listed in "$RMTFS_HIL_WORLD/devices" (read once:
 * lines "c|b MAJOR MINOR /absolute/path", '#' starts a comment). Keeps errno. */
bool device_of_fd(int fd, struct device_identity *identity);

#endif
