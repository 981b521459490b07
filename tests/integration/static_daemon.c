/* Stands in for a statically linked rmtfs: no preload library can enter it,
 * so the harness must never start it. Were it started, it would leave its
 * mark in its working directory and write the first EFS partition it can
 * reach from there (an emulated device's root), as an escaped daemon would
 * write a board's. */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int mark = open("static-daemon-ran", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (mark >= 0) close(mark);
    int partition = open("dev/disk/by-partlabel/modemst1", O_WRONLY | O_CLOEXEC);
    if (partition >= 0) {
        (void)!write(partition, "escaped", 7);
        close(partition);
    }
    return 0;
}
