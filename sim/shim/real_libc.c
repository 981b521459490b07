/* Lazy dlsym(RTLD_NEXT) lookups behind real_libc.h. Each lookup is cached in
 * its own word; racing first calls store the same value, so no lock is taken
 * and nothing here can recurse into the shim's hooks. */
#define _GNU_SOURCE
#include "real_libc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *look_up_next(const char *name)
{
    int saved_errno = errno;
    void *found = dlsym(RTLD_NEXT, name);
    if (found == NULL) {
        static const char prefix[] = "rmtfs-hil-shim: no next definition of ";
        /* The raw syscall: write() here would be the shim's own hook, and
         * real_write() may be the very lookup that failed. */
        syscall(SYS_write, STDERR_FILENO, prefix, sizeof prefix - 1);
        syscall(SYS_write, STDERR_FILENO, name, strlen(name));
        syscall(SYS_write, STDERR_FILENO, "\n", (size_t)1);
        abort();
    }
    errno = saved_errno;
    return found;
}

#define SHIM_DEFINE_REAL(result, name, parameters)                         \
    real_##name##_fn real_##name(void)                                     \
    {                                                                      \
        static void *cached;                                               \
        void *found = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);          \
        if (found == NULL) {                                               \
            found = look_up_next(#name);                                   \
            __atomic_store_n(&cached, found, __ATOMIC_RELEASE);            \
        }                                                                  \
        return (real_##name##_fn)found;                                    \
    }
SHIM_REAL_FUNCTIONS(SHIM_DEFINE_REAL)
#undef SHIM_DEFINE_REAL
