/* The open family (open, openat, their 64-bit and fortified variants, fopen):
 * one set of hooks, which offers each open to the remoteproc state files, then
 * to the watched files, and otherwise makes it as the program asked. */
#ifndef RMTFS_HIL_SHIM_OPEN_HOOKS_H
#define RMTFS_HIL_SHIM_OPEN_HOOKS_H

#include <sys/types.h>

enum open_variant {
    OPEN_PLAIN,    /* open() */
    OPEN_64,       /* open64() */
    OPEN_AT,       /* openat() */
    OPEN_AT_64,    /* openat64() */
    OPEN_2,        /* __open_2(): open() under _FORTIFY_SOURCE */
    OPEN_64_2,     /* __open64_2() */
    OPEN_AT_2,     /* __openat_2() */
    OPEN_AT_64_2,  /* __openat64_2() */
};

/* One open as the program made it. */
struct open_call {
    enum open_variant variant;
    int dirfd;        /* AT_FDCWD for the variants without one */
    const char *path;
    int flags;
    mode_t mode;      /* with O_CREAT or O_TMPFILE */
};

/* Makes the open through the next definition of the same variant (libc, or
 * umockdev's, which still redirects /dev paths). The descriptor, or -1 with
 * errno; the descriptor table is not touched. */
int open_call_perform(const struct open_call *call);

#endif
