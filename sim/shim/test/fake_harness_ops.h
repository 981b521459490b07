/* Test-only requests a test program sends fake_harness on a connection of its
 * own to RMTFS_HIL_SOCKET (a plain AF_UNIX socket, which the shim lets
 * through), framed like shim_protocol.h's: a struct shim_request (op one of
 * these), a payload, and a struct shim_reply back. They script the watched
 * files and read back what the harness saw of them. Not part of the shim's
 * protocol: only fake_harness knows them. */
#ifndef RMTFS_HIL_SHIM_FAKE_HARNESS_OPS_H
#define RMTFS_HIL_SHIM_FAKE_HARNESS_OPS_H

#include <stdint.h>

#include "../shim_protocol.h"

/* The watch list fake_harness gives the command (unless --no-watch), with
 * WORK its private directory (the parent of RMTFS_HIL_WORLD):
 *   WORK/watched/           every file below it
 *   WORK/exact              that file only
 *   WORLD/qcom_rmtfs_mem2   a watched char device (devices: c 247 2)
 * (WORLD/sde1 is on the device list as block device 8:65, unwatched)
 * and entries the shim must ignore: an empty one, a relative one. */
#define FAKE_WATCHED_DIR "watched"
#define FAKE_WATCHED_EXACT "exact"
#define FAKE_WATCHED_CHARDEV "qcom_rmtfs_mem2"
#define FAKE_WATCHED_CHARDEV_MINOR 2
#define FAKE_BLOCK_DEVICE "sde1"
#define FAKE_BLOCK_DEVICE_MAJOR 8
#define FAKE_BLOCK_DEVICE_MINOR 65

enum fake_harness_op {
    /* Payload: struct fake_file_rule, then the file's absolute path (no NUL).
     * Replaces the rule for that path; it applies from the next request of
     * any channel of that file. Reply: error 0. */
    FAKE_SET_RULE = 0x7e01,
    /* value: an index into the record log. Reply: error ENOENT past its end,
     * else value = the log's length and the record as payload. */
    FAKE_GET_RECORD = 0x7e02,
};

/* How the harness answers a watched path. A path without a rule gets the
 * default: watched, every kind of call asked about, FILE_DONE asked for. */
struct fake_file_rule {
    int32_t open_error;    /* SHIM_OP_FILE_OPEN fails with it */
    uint32_t unwatched;    /* SHIM_OP_FILE_OPEN answers value 0 */
    uint32_t ask;          /* enum shim_file_op bits asked about */
    uint32_t no_done;      /* SHIM_OP_FILE_IO asks for no FILE_DONE */
    uint32_t fail_ops;     /* SHIM_OP_FILE_IO of these kinds ... */
    int32_t fail_error;    /* ... fails with this */
    uint32_t limited;      /* SHIM_OP_FILE_IO allows at most ... */
    uint32_t limit;        /* ... this many bytes */
    uint32_t done_delay_ms; /* SHIM_OP_FILE_DONE is answered this late */
    uint32_t hang_up;      /* SHIM_OP_FILE_IO: the harness closes the channel instead */
};

enum fake_record_kind {
    /* A file channel reached EOF: the file's last close (or a failed open). */
    FAKE_RECORD_CLOSED = 0x7f01,
    /* A file channel broke the protocol (a FILE_IO while a FILE_DONE was due,
     * an op out of place); the harness dropped it. */
    FAKE_RECORD_PROTOCOL_ERROR = 0x7f02,
};

enum { fake_record_path_max = 200, fake_snapshot_bytes = 8 };

/* One SHIM_OP_FILE_* or SHIM_OP_DEVICE_REFUSED request (op), or an event
 * (enum fake_record_kind). */
struct fake_file_record {
    uint32_t op;
    uint32_t flags, node, port, value, reserved; /* as the request carried them */
    uint32_t id;           /* the file's id (0 before it was watched) */
    uint32_t snapshot_valid;
    /* FILE_IO and FILE_DONE of a write: the file's bytes at the offset when
     * the request arrived (zeros past the end). */
    uint8_t snapshot[fake_snapshot_bytes];
    char path[fake_record_path_max]; /* NUL-terminated, cut if longer */
};

#endif
