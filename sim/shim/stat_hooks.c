/* The fstat family, for what an emulated or stand-in file must look like:
 * a file on the world's device list (watched or not) is a character or block
 * device with the listed numbers (a block device's st_size is 0, as the
 * kernel's is), a remoteproc state file a sysfs attribute (regular, 0644, a
 * page long). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "device_list.h"
#include "emulated_file.h"
#include "real_libc.h"
#include "remoteproc_file.h"
#include "shim_config.h"

enum { permission_bits = 07777, sysfs_attribute_mode = 0644 };

struct disguise {
    bool is_device;
    bool is_sysfs_attribute;
    struct device_identity device;
};

static struct disguise disguise_of(int fd)
{
    struct disguise d = {0};
    struct emulated_file *file = fd_table_acquire(fd);
    if (file != NULL) {
        /* A watched file is the real one (rmtfs fstat()s the watched
         * rmtfs_mem device): it is dressed up like any other. */
        bool watched = file->kind == EMULATED_WATCHED_FILE;
        d.is_sysfs_attribute = file->kind == EMULATED_REMOTEPROC_STATE;
        emulated_file_release(file);
        if (!watched)
            return d;
    }
    d.is_device = device_of_fd(fd, &d.device);
    return d;
}

static mode_t device_type_bits(const struct disguise *d) { return d->device.type == 'b' ? S_IFBLK : S_IFCHR; }

/* struct stat and struct stat64 have the same field names. */
#define SHIM_DISGUISE_STAT(d, st)                                                      \
    do {                                                                               \
        if ((d).is_device) {                                                           \
            (st)->st_mode = device_type_bits(&(d)) | ((st)->st_mode & permission_bits); \
            (st)->st_rdev = makedev((d).device.major, (d).device.minor);               \
            if ((d).device.type == 'b') {                                              \
                (st)->st_size = 0;                                                     \
                (st)->st_blocks = 0;                                                   \
            }                                                                          \
        } else if ((d).is_sysfs_attribute) {                                           \
            (st)->st_mode = S_IFREG | sysfs_attribute_mode;                            \
            (st)->st_rdev = 0;                                                         \
            (st)->st_size = remoteproc_state_text_max_bytes;                           \
            (st)->st_blksize = remoteproc_state_text_max_bytes;                        \
            (st)->st_blocks = 0;                                                       \
        }                                                                              \
    } while (0)

static bool is_descriptor_query(const char *path, int flags)
{
    return (flags & AT_EMPTY_PATH) && path != NULL && path[0] == '\0';
}

SHIM_EXPORT int fstat(int fd, struct stat *st)
{
    int rc = real_fstat()(fd, st);
    if (rc == 0) {
        struct disguise d = disguise_of(fd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
    int rc = real_fstat64()(fd, st);
    if (rc == 0) {
        struct disguise d = disguise_of(fd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    int rc = real_fstatat()(dirfd, path, st, flags);
    if (rc == 0 && is_descriptor_query(path, flags)) {
        struct disguise d = disguise_of(dirfd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
    int rc = real_fstatat64()(dirfd, path, st, flags);
    if (rc == 0 && is_descriptor_query(path, flags)) {
        struct disguise d = disguise_of(dirfd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

/* Before glibc 2.33 programs called these; binaries built then still do. */
int __fxstat(int version, int fd, struct stat *st);
int __fxstat64(int version, int fd, struct stat64 *st);
int __fxstatat(int version, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int version, int dirfd, const char *path, struct stat64 *st, int flags);

SHIM_EXPORT int __fxstat(int version, int fd, struct stat *st)
{
    int rc = real___fxstat()(version, fd, st);
    if (rc == 0) {
        struct disguise d = disguise_of(fd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int __fxstat64(int version, int fd, struct stat64 *st)
{
    int rc = real___fxstat64()(version, fd, st);
    if (rc == 0) {
        struct disguise d = disguise_of(fd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int __fxstatat(int version, int dirfd, const char *path, struct stat *st, int flags)
{
    int rc = real___fxstatat()(version, dirfd, path, st, flags);
    if (rc == 0 && is_descriptor_query(path, flags)) {
        struct disguise d = disguise_of(dirfd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int __fxstatat64(int version, int dirfd, const char *path, struct stat64 *st, int flags)
{
    int rc = real___fxstatat64()(version, dirfd, path, st, flags);
    if (rc == 0 && is_descriptor_query(path, flags)) {
        struct disguise d = disguise_of(dirfd);
        SHIM_DISGUISE_STAT(d, st);
    }
    return rc;
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *st)
{
    int rc = real_statx()(dirfd, path, flags, mask, st);
    if (rc != 0 || !is_descriptor_query(path, flags))
        return rc;
    struct disguise d = disguise_of(dirfd);
    if (d.is_device) {
        st->stx_mode = (__u16)(device_type_bits(&d) | (st->stx_mode & permission_bits));
        st->stx_rdev_major = d.device.major;
        st->stx_rdev_minor = d.device.minor;
        if (d.device.type == 'b') {
            st->stx_size = 0;
            st->stx_blocks = 0;
        }
    } else if (d.is_sysfs_attribute) {
        st->stx_mode = S_IFREG | sysfs_attribute_mode;
        st->stx_rdev_major = 0;
        st->stx_rdev_minor = 0;
        st->stx_size = remoteproc_state_text_max_bytes;
        st->stx_blksize = remoteproc_state_text_max_bytes;
        st->stx_blocks = 0;
    }
    return rc;
}
