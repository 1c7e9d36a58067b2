#include "rocksdb_status.h"

#include <string>

namespace kalam_rocksdb {

int code_of(const rocksdb::Status& s) noexcept {
  if (s.ok()) return KALAM_OK;
  if (s.IsNotFound()) return KALAM_NOT_FOUND;
  // IsNoSpace() is an IOError subcode: test it before IsIOError().
  if (s.IsNoSpace()) return KALAM_NO_SPACE;
  if (s.IsMemoryLimit()) return KALAM_NO_MEMORY;
  if (s.IsCorruption()) return KALAM_CORRUPTION;
  if (s.IsIOError()) return KALAM_IO_ERROR;
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsLockLimit()) {
    return KALAM_BUSY;
  }
  if (s.IsNotSupported()) return KALAM_NOT_SUPPORTED;
  if (s.IsInvalidArgument()) return KALAM_INVALID_ARGUMENT;
  if (s.IsColumnFamilyDropped()) return KALAM_DROPPED;
  return KALAM_INTERNAL;
}

int64_t native_code_of(const rocksdb::Status& s) noexcept {
  return (static_cast<int64_t>(s.code()) << 8) |
         static_cast<int64_t>(s.subcode());
}

int fail_rocksdb(kalam_status* status, const rocksdb::Status& s,
                 const char* what) noexcept {
  int code = code_of(s);
  if (code == KALAM_OK || code == KALAM_NOT_FOUND) return code;
  std::string text;
  try {
    text = s.ToString();
  } catch (...) {
    text = "(no detail: out of memory)";
  }
  return fail(status, code, native_code_of(s), "rocksdb %s: %s", what,
              text.c_str());
}

}  // namespace kalam_rocksdb
