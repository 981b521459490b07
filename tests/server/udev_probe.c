/*
 * Looks at the emulated world the way the rmtfs daemon does, and prints what
 * it finds, one "key=value" line each:
 *
 *   udev_probe MAJOR MINOR [DEVNODE]
 *
 * 1. libudev: udev_device_new_from_devnum(udev, 'c', makedev(MAJOR, MINOR)),
 *    then the sysattrs "phys_addr" and "size", parsed with strtoull(..., 16)
 *    as rmtfs's parse_hex_sysattr does.
 * 2. rmtfs -s: /sys/class/remoteproc/<each>/device/modalias containing
 *    "-mpss-pas" or "-mss-pil", and that remoteproc's "state".
 * 3. With DEVNODE: open(O_RDWR) and stat() it (umockdev redirects the open and
 *    needs its ioctl socket; stat() reports the char device numbers).
 *
 * Exit status: 0 when everything was found, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int print_hex_sysattr(struct udev_device *device, const char *name) {
    const char *text = udev_device_get_sysattr_value(device, name);
    if (text == NULL) {
        printf("%s=(missing)\n", name);
        return 1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 16);
    if (end == text || errno != 0) {
        printf("%s=(unparsable: %s)\n", name, text);
        return 1;
    }
    printf("%s=0x%llx\n", name, value);
    return 0;
}

static int probe_udev(unsigned major_number, unsigned minor_number) {
    struct udev *udev = udev_new();
    if (udev == NULL) {
        printf("udev=(udev_new failed)\n");
        return 1;
    }
    struct udev_device *device = udev_device_new_from_devnum(udev, 'c', makedev(major_number, minor_number));
    if (device == NULL) {
        printf("udev=(no device for %u:%u: %s)\n", major_number, minor_number, strerror(errno));
        udev_unref(udev);
        return 1;
    }
    printf("syspath=%s\n", udev_device_get_syspath(device));
    const char *subsystem = udev_device_get_subsystem(device);
    printf("subsystem=%s\n", subsystem ? subsystem : "(none)");
    int failures = print_hex_sysattr(device, "phys_addr") + print_hex_sysattr(device, "size");
    udev_device_unref(device);
    udev_unref(udev);
    return failures;
}

static int probe_remoteproc(void) {
    int base = open("/sys/class/remoteproc/", O_RDONLY | O_DIRECTORY);
    if (base < 0) {
        printf("remoteproc=(no /sys/class/remoteproc: %s)\n", strerror(errno));
        return 1;
    }
    DIR *directory = fdopendir(base);
    struct dirent *entry;
    int found = 0;
    while (!found && (entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        int rproc = openat(base, entry->d_name, O_RDONLY | O_DIRECTORY);
        if (rproc < 0) continue;
        char modalias[256] = {0};
        int modalias_fd = openat(rproc, "device/modalias", O_RDONLY);
        if (modalias_fd >= 0) {
            ssize_t size = read(modalias_fd, modalias, sizeof modalias - 1);
            if (size > 0 && modalias[size - 1] == '\n') modalias[size - 1] = '\0';
            close(modalias_fd);
        }
        if (strstr(modalias, "-mpss-pas") || strstr(modalias, "-mss-pil")) {
            found = 1;
            printf("remoteproc=%s\nmodalias=%s\n", entry->d_name, modalias);
            char state[64] = {0};
            int state_fd = openat(rproc, "state", O_RDONLY);
            if (state_fd >= 0) {
                ssize_t size = read(state_fd, state, sizeof state - 1);
                if (size > 0 && state[size - 1] == '\n') state[size - 1] = '\0';
                close(state_fd);
            }
            printf("state=%s\n", state);
        }
        close(rproc);
    }
    closedir(directory);
    if (!found) printf("remoteproc=(no modem remoteproc)\n");
    return !found;
}

static int probe_node(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        printf("open=(%s)\n", strerror(errno));
        return 1;
    }
    struct stat by_path;
    if (stat(path, &by_path) != 0) {
        printf("stat=(%s)\n", strerror(errno));
        close(fd);
        return 1;
    }
    printf("open=ok\nstat=%s %u:%u\n", S_ISCHR(by_path.st_mode) ? "char" : "other", major(by_path.st_rdev),
           minor(by_path.st_rdev));
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MAJOR MINOR [DEVNODE]\n", argv[0]);
        return 2;
    }
    int failures = probe_udev((unsigned)strtoul(argv[1], NULL, 0), (unsigned)strtoul(argv[2], NULL, 0));
    failures += probe_remoteproc();
    if (argc > 3) failures += probe_node(argv[3]);
    printf("result=%s\n", failures ? "incomplete" : "complete");
    return failures ? 1 : 0;
}
