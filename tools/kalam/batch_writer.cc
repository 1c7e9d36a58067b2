#include "batch_writer.h"

#include "cli_error.h"
#include "encoding.h"

namespace kalam::cli {

BatchWriter::BatchWriter(Database& db, size_t max_entries, size_t max_bytes)
    : db_(db), max_entries_(max_entries), max_bytes_(max_bytes) {}

void BatchWriter::begin_family(const ColumnFamily& cf, std::string name) {
  commit();
  cf_ = cf;
  families_.push_back({.name = std::move(name)});
}

void BatchWriter::put(std::string_view key, std::string_view value) {
  batch_.put(cf_, key, value);
  FamilyProgress& family = families_.back();
  ++family.pending;
  family.last_pending_key.assign(key);
}

size_t BatchWriter::room() const {
  return batch_.count() >= max_entries_ ? 1 : max_entries_ - batch_.count();
}

void BatchWriter::commit_if_full() {
  if (batch_.count() >= max_entries_ || batch_.data_size() >= max_bytes_) {
    commit();
  }
}

void BatchWriter::end_family() {
  commit();
  if (!families_.empty()) families_.back().complete = true;
}

void BatchWriter::commit() {
  if (batch_.count() == 0) return;
  Status s = db_.write(batch_);
  if (!s.ok()) {
    const FamilyProgress& family = families_.back();
    throw CliError::FromStatus(
        "writing a batch of " + std::to_string(batch_.count()) +
            " entries into column family '" + family.name + "' failed",
        s);
  }
  FamilyProgress& family = families_.back();
  family.committed += family.pending;
  committed_ += family.pending;
  family.pending = 0;
  family.last_committed_key.swap(family.last_pending_key);
  batch_.clear();
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
