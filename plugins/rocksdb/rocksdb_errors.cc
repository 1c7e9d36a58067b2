#include "rocksdb_errors.h"

#include "rocksdb_logger.h"

namespace kalam_rocksdb {
namespace {

const char* reason_name(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush:
      return "a memtable flush";
    case rocksdb::BackgroundErrorReason::kCompaction:
      return "a compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback:
      return "a write to the WAL";
    case rocksdb::BackgroundErrorReason::kMemTable:
      return "a memtable insert";
    case rocksdb::BackgroundErrorReason::kManifestWrite:
      return "a MANIFEST write";
    case rocksdb::BackgroundErrorReason::kFlushNoWAL:
      return "a memtable flush (no WAL)";
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
      return "a MANIFEST write (no WAL)";
  }
  return "a background job";
}

}  // namespace

void BackgroundErrors::OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                                         rocksdb::Status* bg_error) {
  if (bg_error == nullptr || bg_error->ok()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = *bg_error;
  }
  host_log(KALAM_LOG_ERROR,
           "the database stopped accepting writes after %s failed: %s",
           reason_name(reason), bg_error->ToString().c_str());
}

void BackgroundErrors::OnErrorRecoveryEnd(
    const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (info.new_bg_error.ok()) clear();
}

rocksdb::Status BackgroundErrors::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void BackgroundErrors::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  error_ = rocksdb::Status::OK();
}

rocksdb::Status resume_if_stopped(rocksdb::DB* db, BackgroundErrors* errors) {
  rocksdb::Status stopped = errors->current();
  if (stopped.ok()) return stopped;
  rocksdb::Status resumed = db->Resume();
  if (resumed.ok()) {
    errors->clear();
    host_log(KALAM_LOG_INFO, "resumed after the background error: %s",
             stopped.ToString().c_str());
    return resumed;
  }
  // Keep the background error's code and subcode (NoSpace stays NoSpace),
  // and say what resuming said.
  const std::string detail =
      "the database stopped after a storage error and could not resume (" +
      resumed.ToString() + ")";
  if (stopped.IsNoSpace()) {
    return rocksdb::Status::NoSpace(detail, stopped.ToString());
  }
  if (stopped.IsIOError()) {
    return rocksdb::Status::IOError(detail, stopped.ToString());
  }
  if (stopped.IsCorruption()) {
    return rocksdb::Status::Corruption(detail, stopped.ToString());
  }
  return stopped;
}

}  // namespace kalam_rocksdb
