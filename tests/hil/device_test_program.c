/* A program the emulated-device tests push with the real adb and run through
 * `adb shell`: the device never runs a shell, so each behaviour a test needs
 * is a mode of this one binary.
 *
 *   echo-stdin                 copy stdin to stdout until end of file
 *   print-args ARG...          one line per argument: "argv[N]=<ARG>"
 *   print-env                  "cwd=<DIR>", then the environment, one per line
 *   print-bytes COUNT          COUNT bytes of "0123456789" repeated, to stdout
 *   stdout-stderr              "to stdout" on stdout, "to stderr" on stderr
 *   exit STATUS                exit with STATUS
 *   kill-self SIGNUM           die by signal SIGNUM
 *   sleep SECONDS PIDFILE      write the pid to PIDFILE, then sleep
 *   sleep-ignoring-term SECONDS PIDFILE   the same, with SIGTERM ignored
 *   open-for-write DEVICE_PATH open $RMTFS_HIL_DEVICE_ROOT/DEVICE_PATH for
 *                              writing and close it, writing nothing
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char** environ;

static int usage(void) {
    fprintf(stderr, "device_test_program: unknown mode or missing argument\n");
    return 64;
}

static int echo_stdin(void) {
    char buffer[4096];
    ssize_t got;
    while ((got = read(0, buffer, sizeof buffer)) > 0)
        if (write(1, buffer, (size_t)got) != got) return 1;
    return got < 0 ? 1 : 0;
}

static int print_bytes(long count) {
    static const char digits[] = "0123456789";
    char buffer[4000];
    for (size_t i = 0; i < sizeof buffer; ++i) buffer[i] = digits[i % 10];
    while (count > 0) {
        size_t chunk = count < (long)sizeof buffer ? (size_t)count : sizeof buffer;
        if (fwrite(buffer, 1, chunk, stdout) != chunk) return 1;
        count -= (long)chunk;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static int sleep_with_pidfile(unsigned seconds, const char* pidfile, int ignore_term) {
    if (ignore_term) signal(SIGTERM, SIG_IGN);
    FILE* file = fopen(pidfile, "w");
    if (!file) return 1;
    fprintf(file, "%d\n", (int)getpid());
    fclose(file);
    while (seconds > 0) seconds = sleep(seconds);
    return 0;
}

static int open_for_write(const char* device_path) {
    const char* root = getenv("RMTFS_HIL_DEVICE_ROOT");
    if (!root) return 2;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s", root, device_path);
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    close(fd);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const char* mode = argv[1];
    if (strcmp(mode, "echo-stdin") == 0) return echo_stdin();
    if (strcmp(mode, "print-args") == 0) {
        for (int i = 0; i < argc; ++i) printf("argv[%d]=<%s>\n", i, argv[i]);
        return 0;
    }
    if (strcmp(mode, "print-env") == 0) {
        char cwd[PATH_MAX];
        printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
        for (char** e = environ; *e; ++e) printf("%s\n", *e);
        return 0;
    }
    if (strcmp(mode, "stdout-stderr") == 0) {
        fputs("to stdout\n", stdout);
        fflush(stdout);
        fputs("to stderr\n", stderr);
        return 0;
    }
    if (argc < 3) return usage();
    if (strcmp(mode, "print-bytes") == 0) return print_bytes(atol(argv[2]));
    if (strcmp(mode, "exit") == 0) return atoi(argv[2]);
    if (strcmp(mode, "kill-self") == 0) {
        int signal_number = atoi(argv[2]);
        signal(signal_number, SIG_DFL);
        raise(signal_number);
        return 1;
    }
    if (strcmp(mode, "open-for-write") == 0) return open_for_write(argv[2]);
    if (argc < 4) return usage();
    if (strcmp(mode, "sleep") == 0) return sleep_with_pidfile((unsigned)atoi(argv[2]), argv[3], 0);
    if (strcmp(mode, "sleep-ignoring-term") == 0) return sleep_with_pidfile((unsigned)atoi(argv[2]), argv[3], 1);
    return usage();
}
