/* Environment, read once, and the debug log (written with the real write() so
 * it neither recurses into the shim nor takes stdio locks). */
#define _GNU_SOURCE
#include "shim_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raw_syscall.h"
#include "shim_protocol.h"

enum { debug_line_max_bytes = 512 };

static struct shim_config config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void copy_env(char *destination, size_t capacity, const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || strlen(value) >= capacity) {
        /* A path that does not fit is treated as absent rather than cut. */
        destination[0] = '\0';
        return;
    }
    strcpy(destination, value);
}

static void read_config(void)
{
    int saved_errno = errno;
    copy_env(config.harness_socket_path, sizeof config.harness_socket_path, SHIM_ENV_SOCKET);
    copy_env(config.world_dir, sizeof config.world_dir, SHIM_ENV_WORLD);
    const char *debug = getenv(SHIM_ENV_DEBUG);
    config.debug = debug != NULL && strcmp(debug, "1") == 0;
    errno = saved_errno;
}

const struct shim_config *shim_config(void)
{
    pthread_once(&config_once, read_config);
    return &config;
}

void shim_debug_write(const char *format, ...)
{
    int saved_errno = errno;
    char line[debug_line_max_bytes];
    int prefix = snprintf(line, sizeof line, "rmtfs-hil-shim[%d]: ", (int)getpid());
    va_list arguments;
    va_start(arguments, format);
    int body = vsnprintf(line + prefix, sizeof line - (size_t)prefix - 1, format, arguments);
    va_end(arguments);
    size_t length = (size_t)prefix + (body < 0 ? 0 : (size_t)body);
    if (length > sizeof line - 2)
        length = sizeof line - 2;
    line[length++] = '\n';
    (void)raw_write(STDERR_FILENO, line, length);
    errno = saved_errno;
}
