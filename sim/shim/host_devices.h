/* The host's disks are out of reach of a program under test: an open whose
 * path reaches a real block device is refused before anything is opened. */
#ifndef RMTFS_HIL_SHIM_HOST_DEVICES_H
#define RMTFS_HIL_SHIM_HOST_DEVICES_H

#include <stdbool.h>

/* true when (dirfd, path) would reach a block device of the host once
 * umockdev's preload has redirected it (a /dev or /proc path that exists in
 * the testbed goes there, a /sys path always): the open must fail with
 * errno, which this sets (EACCES). The harness is told, and a line goes to
 * the program's stderr. O_PATH opens, which reach no device, pass. */
bool host_block_device_refused(int dirfd, const char *path, int flags);

#endif
