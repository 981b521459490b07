/* Refusing the host's block devices. The world's partitions are regular
 * files in umockdev's testbed, so nothing a scenario names legitimately
 * reaches a real block device: `rmtfs -P` with a by-name directory the
 * testbed lacks, a label the board does not have, or `-o /dev` would all
 * fall through umockdev's redirection to the host's /dev. */
#define _GNU_SOURCE
#include "host_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "control_channel.h"
#include "raw_syscall.h"
#include "shim_config.h"
#include "shim_path.h"

static bool starts_with(const char *text, const char *prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

/* Where umockdev 0.17's trap_path() sends an absolute path: into the testbed
 * for /sys, and for /dev and /proc when the testbed has the path. */
static const char *redirected(const char *path, char *buffer, size_t capacity)
{
    const char *testbed = shim_config()->umockdev_dir;
    if (testbed[0] == '\0')
        return path;
    bool sys = starts_with(path, "/sys/") || strcmp(path, "/sys") == 0;
    bool checked = starts_with(path, "/dev/") || strcmp(path, "/dev") == 0 || starts_with(path, "/proc/");
    if (!sys && !checked)
        return path;
    int written = snprintf(buffer, capacity, "%s%s", testbed, path);
    if (written < 0 || (size_t)written >= capacity)
        return path;
    if (checked && syscall(SYS_faccessat, AT_FDCWD, buffer, F_OK) != 0)
        return path;
    return buffer;
}

static void tell_harness(const char *path, int flags, unsigned major, unsigned minor)
{
    const struct shim_config *config = shim_config();
    if (!shim_emulates_harness_objects(config))
        return;
    int fd = control_channel_connect(config->harness_socket_path, true, true);
    if (fd < 0)
        return;
    struct iovec name = {(void *)path, strlen(path)};
    struct control_call call = {
        .request = {.op = SHIM_OP_DEVICE_REFUSED, .node = major, .port = minor, .value = (uint32_t)flags},
        .payload = &name,
        .payload_parts = 1,
        .passed_fd = -1,
    };
    (void)control_channel_call(fd, &call);
    raw_close(fd);
}

bool host_block_device_refused(int dirfd, const char *path, int flags)
{
    if (path == NULL || path[0] == '\0' || (flags & O_PATH))
        return false;
    int saved_errno = errno;
    char absolute[PATH_MAX];
    char testbed_path[PATH_MAX];
    bool refused = false;
    if (shim_path_absolute(dirfd, path, absolute, sizeof absolute)) {
        const char *target = redirected(absolute, testbed_path, sizeof testbed_path);
        struct statx st;
        /* The kernel's view, symlinks followed as the open would. */
        if (syscall(SYS_statx, AT_FDCWD, target, 0, STATX_TYPE, &st) == 0 && S_ISBLK(st.stx_mode)) {
            refused = true;
            char line[PATH_MAX + 160];
            int length = snprintf(line, sizeof line,
                                  "rmtfs-hil: refused to open %s: a block device of the host (%u:%u); "
                                  "the world's partitions are under /dev/disk/by-partlabel and /dev/block/by-name\n",
                                  absolute, st.stx_rdev_major, st.stx_rdev_minor);
            if (length > 0)
                (void)raw_write(STDERR_FILENO, line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
            tell_harness(absolute, flags, st.stx_rdev_major, st.stx_rdev_minor);
        }
    }
    errno = refused ? EACCES : saved_errno;
    return refused;
}
