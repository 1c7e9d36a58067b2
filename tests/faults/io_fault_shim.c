/* An LD_PRELOAD shim that makes the storage libraries see real I/O errors:
 * the Nth write, sync, rename, truncate or allocation on a file under one
 * directory fails with ENOSPC or EIO, comes back short, or (for syncs) fails
 * with EIO, exactly as the kernel would report it. In the spirit of SQLite's
 * I/O-error tests and RocksDB's FaultInjectionTestFS, but below every
 * library, so RocksDB, LMDB and SQLite run their own error paths.
 *
 * Configured from the environment when the process starts:
 *   KALAM_IOFAULT_DIR     only calls on files under this directory (an
 *                         absolute, canonical path) are counted; unset: the
 *                         shim does nothing.
 *   KALAM_IOFAULT_KIND    enospc (default) | eio | short | fsync
 *                         enospc, eio: every counted call may fail with it;
 *                         short: only data writes are counted, and the
 *                         failing one writes half its bytes (at least one is
 *                         left unwritten; a 1-byte write fails with ENOSPC);
 *                         fsync: only fsync/fdatasync/sync_file_range are
 *                         counted, and the failing one returns EIO.
 *   KALAM_IOFAULT_AT      the 1-based index of the counted call to fail;
 *                         0 or unset: count only.
 *   KALAM_IOFAULT_STICKY  1: every counted call from KALAM_IOFAULT_AT on
 *                         fails too (a disk that stays full or dead).
 *   After an ENOSPC or short-write fault, statvfs() and fstatvfs() of
 *   files under the directory report no free blocks, as on a full disk.
 *   KALAM_IOFAULT_ARM     manual: count nothing until the program calls
 *                         kalam_iofault_arm() (found with dlsym), so that
 *                         call indices count from a chosen point (e.g. the
 *                         start of a close); unset: count from the start.
 *   KALAM_IOFAULT_REPORT  a file the shim appends to: one line per injected
 *                         fault ("fault <index> <call> <path>") and, at exit,
 *                         "calls <count>".
 *
 * The counter is shared by all threads; with background threads (RocksDB's
 * flushes) the order of calls, and so which call index N hits, can vary
 * from run to run. Calls the C library makes internally (stdio, iostreams)
 * are not seen: only the libraries' direct system-call wrappers are. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { KIND_ENOSPC, KIND_EIO, KIND_SHORT, KIND_FSYNC };
enum op_class { OP_DATA, OP_SYNC, OP_META };

static char g_dir[PATH_MAX];
static size_t g_dir_len;
static enum kind g_kind = KIND_ENOSPC;
static uint64_t g_at;
static int g_sticky;
static char g_report[PATH_MAX];
static uint64_t g_calls;
static int g_fired;     /* a fault was injected */
static int g_armed = 1; /* counting (KALAM_IOFAULT_ARM=manual: not yet) */

/* Appends `text` to the report file with raw system calls (never through
 * the wrappers below). */
static void report(const char* text) {
  if (g_report[0] == '\0') return;
  int fd = (int)syscall(SYS_openat, AT_FDCWD, g_report,
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)syscall(SYS_write, fd, text, strlen(text));
  (void)syscall(SYS_close, fd);
}

__attribute__((constructor)) static void shim_init(void) {
  const char* dir = getenv("KALAM_IOFAULT_DIR");
  if (dir == NULL || dir[0] != '/' || strlen(dir) >= sizeof g_dir) return;
  strcpy(g_dir, dir);
  g_dir_len = strlen(g_dir);
  while (g_dir_len > 1 && g_dir[g_dir_len - 1] == '/') g_dir[--g_dir_len] = 0;
  const char* kind = getenv("KALAM_IOFAULT_KIND");
  if (kind != NULL) {
    if (strcmp(kind, "eio") == 0) g_kind = KIND_EIO;
    if (strcmp(kind, "short") == 0) g_kind = KIND_SHORT;
    if (strcmp(kind, "fsync") == 0) g_kind = KIND_FSYNC;
  }
  const char* at = getenv("KALAM_IOFAULT_AT");
  if (at != NULL) g_at = strtoull(at, NULL, 10);
  const char* sticky = getenv("KALAM_IOFAULT_STICKY");
  g_sticky = sticky != NULL && strcmp(sticky, "1") == 0;
  const char* arm = getenv("KALAM_IOFAULT_ARM");
  if (arm != NULL && strcmp(arm, "manual") == 0) g_armed = 0;
  const char* rep = getenv("KALAM_IOFAULT_REPORT");
  if (rep != NULL && strlen(rep) < sizeof g_report) strcpy(g_report, rep);
}

__attribute__((destructor)) static void shim_fini(void) {
  if (g_dir_len == 0) return;
  char line[64];
  snprintf(line, sizeof line, "calls %llu\n",
           (unsigned long long)__atomic_load_n(&g_calls, __ATOMIC_SEQ_CST));
  report(line);
}

/* Starts counting (KALAM_IOFAULT_ARM=manual). Exported for the program the
 * shim is preloaded into. */
__attribute__((visibility("default"))) void kalam_iofault_arm(void) {
  __atomic_store_n(&g_armed, 1, __ATOMIC_SEQ_CST);
}

static int under_dir(const char* path) {
  return strncmp(path, g_dir, g_dir_len) == 0 &&
         (path[g_dir_len] == '/' || path[g_dir_len] == '\0');
}

/* The path of `fd`, or "" when it is not a file under the directory. */
static int fd_path(int fd, char* out, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, out, size - 1);
  if (n <= 0) return 0;
  out[n] = '\0';
  return under_dir(out);
}

/* Whether the shim counts a call of `cls` under the configured kind. */
static int counted(enum op_class cls) {
  switch (g_kind) {
    case KIND_SHORT:
      return cls == OP_DATA;
    case KIND_FSYNC:
      return cls == OP_SYNC;
    default:
      return 1;
  }
}

/* Counts a call on `path` (already known to be under the directory) and
 * returns whether it must fail. */
static int should_fail(enum op_class cls, const char* call, const char* path) {
  if (g_dir_len == 0 || !counted(cls)) return 0;
  if (!__atomic_load_n(&g_armed, __ATOMIC_SEQ_CST)) return 0;
  uint64_t n = __atomic_add_fetch(&g_calls, 1, __ATOMIC_SEQ_CST);
  if (g_at == 0 || n < g_at || (n > g_at && !g_sticky)) return 0;
  char line[PATH_MAX + 96];
  snprintf(line, sizeof line, "fault %llu %s %s\n", (unsigned long long)n, call,
           path);
  report(line);
  __atomic_store_n(&g_fired, 1, __ATOMIC_SEQ_CST);
  return 1;
}

static int fd_should_fail(enum op_class cls, const char* call, int fd) {
  if (g_dir_len == 0 || !counted(cls)) return 0;
  char path[PATH_MAX];
  if (!fd_path(fd, path, sizeof path)) return 0;
  return should_fail(cls, call, path);
}

static int path_should_fail(const char* call, int dirfd, const char* path) {
  if (g_dir_len == 0 || !counted(OP_META) || path == NULL) return 0;
  char full[PATH_MAX];
  if (path[0] == '/') {
    if (strlen(path) >= sizeof full) return 0;
    strcpy(full, path);
  } else {
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
      if (getcwd(base, sizeof base) == NULL) return 0;
    } else {
      char link[64];
      snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
      ssize_t n = readlink(link, base, sizeof base - 1);
      if (n <= 0) return 0;
      base[n] = '\0';
    }
    if (strlen(base) + 1 + strlen(path) >= sizeof full) return 0;
    strcpy(full, base);
    strcat(full, "/");
    strcat(full, path);
  }
  if (!under_dir(full)) return 0;
  return should_fail(OP_META, call, full);
}

/* The errno of a failing call that is not a short write. */
static int fault_errno(void) { return g_kind == KIND_ENOSPC ? ENOSPC : EIO; }

/* Declares real_<name>, the next definition of libc's `name` (the type is
 * the one libc's header gives it), looked up on first use. */
#define REAL(name)                      \
  static __typeof__(&name) real_##name; \
  if (real_##name == NULL)              \
  real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* A data write of `count` bytes that must fail: -1 with errno, or the
 * length of a short write (then the caller writes that many bytes). */
static ssize_t failed_write_length(size_t count) {
  if (g_kind == KIND_SHORT && count > 1) return (ssize_t)(count / 2);
  errno = g_kind == KIND_SHORT ? ENOSPC : fault_errno();
  return -1;
}

ssize_t write(int fd, const void* buf, size_t count) {
  REAL(write);
  if (fd_should_fail(OP_DATA, "write", fd)) {
    ssize_t n = failed_write_length(count);
    if (n < 0) return -1;
    return real_write(fd, buf, (size_t)n);
  }
  return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  REAL(pwrite);
  if (fd_should_fail(OP_DATA, "pwrite", fd)) {
    ssize_t n = failed_write_length(count);
    if (n < 0) return -1;
    return real_pwrite(fd, buf, (size_t)n, offset);
  }
  return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  REAL(pwrite64);
  if (fd_should_fail(OP_DATA, "pwrite64", fd)) {
    ssize_t n = failed_write_length(count);
    if (n < 0) return -1;
    return real_pwrite64(fd, buf, (size_t)n, offset);
  }
  return real_pwrite64(fd, buf, count, offset);
}

/* Total bytes of an iovec array. */
static size_t iov_bytes(const struct iovec* iov, int n) {
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += iov[i].iov_len;
  return total;
}

/* A short vectored write: the first `keep` bytes of `iov`, written with
 * `pwrite` at `offset` (or `write` when offset < 0). */
static ssize_t short_vector(int fd, const struct iovec* iov, int n, size_t keep,
                            off_t offset) {
  REAL(write);
  REAL(pwrite);
  size_t done = 0;
  for (int i = 0; i < n && done < keep; ++i) {
    size_t part = iov[i].iov_len;
    if (part > keep - done) part = keep - done;
    ssize_t w = offset < 0 ? real_write(fd, iov[i].iov_base, part)
                           : real_pwrite(fd, iov[i].iov_base, part,
                                         offset + (off_t)done);
    if (w < 0) return done > 0 ? (ssize_t)done : -1;
    done += (size_t)w;
    if ((size_t)w < part) break;
  }
  return (ssize_t)done;
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  REAL(writev);
  if (fd_should_fail(OP_DATA, "writev", fd)) {
    ssize_t n = failed_write_length(iov_bytes(iov, iovcnt));
    if (n < 0) return -1;
    return short_vector(fd, iov, iovcnt, (size_t)n, -1);
  }
  return real_writev(fd, iov, iovcnt);
}

ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  REAL(pwritev);
  if (fd_should_fail(OP_DATA, "pwritev", fd)) {
    ssize_t n = failed_write_length(iov_bytes(iov, iovcnt));
    if (n < 0) return -1;
    return short_vector(fd, iov, iovcnt, (size_t)n, offset);
  }
  return real_pwritev(fd, iov, iovcnt, offset);
}

ssize_t pwritev64(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  REAL(pwritev64);
  if (fd_should_fail(OP_DATA, "pwritev64", fd)) {
    ssize_t n = failed_write_length(iov_bytes(iov, iovcnt));
    if (n < 0) return -1;
    return short_vector(fd, iov, iovcnt, (size_t)n, offset);
  }
  return real_pwritev64(fd, iov, iovcnt, offset);
}

int fsync(int fd) {
  REAL(fsync);
  if (fd_should_fail(OP_SYNC, "fsync", fd)) {
    errno = g_kind == KIND_ENOSPC ? ENOSPC : EIO;
    return -1;
  }
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync);
  if (fd_should_fail(OP_SYNC, "fdatasync", fd)) {
    errno = g_kind == KIND_ENOSPC ? ENOSPC : EIO;
    return -1;
  }
  return real_fdatasync(fd);
}

int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags) {
  REAL(sync_file_range);
  /* With no flags the call does nothing, and the kernel never fails it:
   * RocksDB probes support that way and asserts it did not fail. */
  if (flags != 0 && fd_should_fail(OP_SYNC, "sync_file_range", fd)) {
    errno = g_kind == KIND_ENOSPC ? ENOSPC : EIO;
    return -1;
  }
  return real_sync_file_range(fd, offset, nbytes, flags);
}

int ftruncate(int fd, off_t length) {
  REAL(ftruncate);
  if (fd_should_fail(OP_META, "ftruncate", fd)) {
    errno = fault_errno();
    return -1;
  }
  return real_ftruncate(fd, length);
}

int ftruncate64(int fd, off_t length) {
  REAL(ftruncate64);
  if (fd_should_fail(OP_META, "ftruncate64", fd)) {
    errno = fault_errno();
    return -1;
  }
  return real_ftruncate64(fd, length);
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate);
  if (fd_should_fail(OP_META, "fallocate", fd)) {
    errno = fault_errno();
    return -1;
  }
  return real_fallocate(fd, mode, offset, len);
}

int fallocate64(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate64);
  if (fd_should_fail(OP_META, "fallocate64", fd)) {
    errno = fault_errno();
    return -1;
  }
  return real_fallocate64(fd, mode, offset, len);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  REAL(posix_fallocate);
  if (fd_should_fail(OP_META, "posix_fallocate", fd)) return fault_errno();
  return real_posix_fallocate(fd, offset, len);
}

int rename(const char* from, const char* to) {
  REAL(rename);
  if (path_should_fail("rename", AT_FDCWD, to)) {
    errno = fault_errno();
    return -1;
  }
  return real_rename(from, to);
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  REAL(renameat);
  if (path_should_fail("renameat", to_dir, to)) {
    errno = fault_errno();
    return -1;
  }
  return real_renameat(from_dir, from, to_dir, to);
}

/* Whether statvfs of something under the directory must report a full
 * disk. */
static int disk_looks_full(void) {
  return (g_kind == KIND_ENOSPC || g_kind == KIND_SHORT) &&
         __atomic_load_n(&g_fired, __ATOMIC_SEQ_CST);
}

static void report_full(struct statvfs* buf) {
  buf->f_bfree = 0;
  buf->f_bavail = 0;
}

int statvfs(const char* path, struct statvfs* buf) {
  REAL(statvfs);
  int rc = real_statvfs(path, buf);
  if (rc == 0 && g_dir_len > 0 && disk_looks_full()) {
    char full[PATH_MAX];
    if (realpath(path, full) != NULL && under_dir(full)) report_full(buf);
  }
  return rc;
}

int fstatvfs(int fd, struct statvfs* buf) {
  REAL(fstatvfs);
  int rc = real_fstatvfs(fd, buf);
  char path[PATH_MAX];
  if (rc == 0 && g_dir_len > 0 && disk_looks_full() &&
      fd_path(fd, path, sizeof path)) {
    report_full(buf);
  }
  return rc;
}
