#include "batch_writer.h"

#include "cli_error.h"
#include "encoding.h"

namespace kalam::cli {

BatchWriter::BatchWriter(Database& db, size_t max_entries, size_t max_bytes)
    : db_(db), max_entries_(max_entries), max_bytes_(max_bytes) {
  const WriteLimits& limits = db.write_limits();
  limit_ops_ = limits.max_ops;
  limit_bytes_ = limits.max_bytes;
  if (limit_ops_ != 0 && max_entries_ > limit_ops_) max_entries_ = limit_ops_;
  if (limit_bytes_ != 0 && max_bytes_ > limit_bytes_) max_bytes_ = limit_bytes_;
  if (max_entries_ == 0) max_entries_ = 1;
}

void BatchWriter::begin_family(const ColumnFamily& cf, std::string name) {
  commit();
  cf_ = cf;
  families_.push_back({.name = std::move(name)});
}

void BatchWriter::put(std::string_view key, std::string_view value) {
  FamilyProgress& family = families_.back();
  const uint64_t bytes = key.size() + value.size();
  if (batch_count_ > 0 &&
      ((limit_ops_ != 0 && batch_count_ + 1 > limit_ops_) ||
       (limit_bytes_ != 0 && batch_.data_size() + bytes > limit_bytes_))) {
    // The entry would take the batch over the store's limits: set the
    // batch aside for the next commit() and start another.
    sealed_.push_back(Sealed{.batch = std::move(batch_),
                             .count = batch_count_,
                             .last_key = family.last_pending_key});
    batch_ = WriteBatch();
    batch_count_ = 0;
  }
  batch_.put(cf_, key, value);
  ++batch_count_;
  ++family.pending;
  family.last_pending_key.assign(key);
}

size_t BatchWriter::room() const {
  return batch_.count() >= max_entries_ ? 1 : max_entries_ - batch_.count();
}

void BatchWriter::commit_if_full() {
  if (!sealed_.empty() || batch_.count() >= max_entries_ ||
      batch_.data_size() >= max_bytes_) {
    commit();
  }
}

void BatchWriter::end_family() {
  commit();
  if (!families_.empty()) families_.back().complete = true;
}

void BatchWriter::write_batch(const WriteBatch& batch, uint64_t count,
                              const std::string& last_key) {
  Status s = db_.write(batch);
  FamilyProgress& family = families_.back();
  if (!s.ok()) {
    throw CliError::FromStatus(
        "writing a batch of " + std::to_string(batch.count()) +
            " entries into column family '" + family.name + "' failed",
        s);
  }
  family.committed += count;
  committed_ += count;
  family.pending -= count;
  family.last_committed_key = last_key;
}

void BatchWriter::commit() {
  while (!sealed_.empty()) {
    write_batch(sealed_.front().batch, sealed_.front().count,
                sealed_.front().last_key);
    sealed_.erase(sealed_.begin());
  }
  if (batch_.count() == 0) return;
  write_batch(batch_, batch_count_, families_.back().last_pending_key);
  batch_.clear();
  batch_count_ = 0;
}

void BatchWriter::finish() {
  commit();
  throw_if_error(db_.flush(), "making the written data durable (flush)");
}

std::string BatchWriter::summary() const {
  if (families_.empty()) return "nothing";
  std::string out = std::to_string(committed_) + " entries:";
  bool first = true;
  for (const auto& family : families_) {
    out += first ? " " : ", ";
    first = false;
    out += "'" + family.name + "' ";
    if (family.complete) {
      out += "complete (" + std::to_string(family.committed) + ")";
    } else if (family.committed == 0) {
      out += "created, empty";
    } else {
      out += "partly (" + std::to_string(family.committed) +
             " entries, up to key " +
             describe_bytes(family.last_committed_key) + ")";
    }
  }
  return out;
}

}  // namespace kalam::cli
