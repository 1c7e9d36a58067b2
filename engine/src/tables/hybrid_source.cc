// Hybrid reads (see hybrid_source.h).
#include "hybrid_source.h"

#include "context.h"

#include <optional>

namespace kalam::tables::detail {

namespace {

constexpr size_t kHotBatch = 256;

class HotStream final : public EntryStream {
 public:
  HotStream(Iterator iterator, HotDecoder decoder)
      : iterator_(std::move(iterator)), decoder_(std::move(decoder)) {}

  Status advance() override {
    if (!buffer_.empty()) buffer_.pop_front();
    if (!buffer_.empty() || !iterator_) return Status::OK();
    Iterator& it = *iterator_;
    if (!started_) {
      started_ = true;
      it.seek_to_first();
    }
    if (!it.valid()) {
      Status s = it.status();
      iterator_.reset();
      return s;
    }
    return decode_batch(it, kHotBatch,
                        [&](std::string_view key, std::string_view value) {
                          KeyedEntry entry;
                          KALAM_RETURN_IF_ERROR(decoder_(key, value, entry));
                          buffer_.push_back(std::move(entry));
                          return Status::OK();
                        });
  }

  bool valid() const override { return !buffer_.empty(); }
  KeyedEntry& current() override { return buffer_.front(); }

 private:
  std::optional<Iterator> iterator_;
  HotDecoder decoder_;
  std::deque<KeyedEntry> buffer_;
  bool started_ = false;
};

class ColdStream final : public EntryStream {
 public:
  ColdStream(std::vector<std::unique_ptr<ColdSegmentReader>> segments,
             std::string key_prefix, keys::RowKeyKind kind, std::string user)
      : segments_(std::move(segments)),
        heads_(segments_.size()),
        prefix_(std::move(key_prefix)),
        kind_(kind),
        user_(std::move(user)) {}

  Status advance() override {
    if (!started_) {
      started_ = true;
      for (size_t i = 0; i < segments_.size(); ++i) {
        KALAM_RETURN_IF_ERROR(read_head(i));
      }
    } else if (current_) {
      // Every segment's record of the current row id is consumed: the
      // newest one became the entry, the older ones are superseded.
      for (size_t i = 0; i < heads_.size(); ++i) {
        if (heads_[i] && heads_[i]->row_key == *current_) {
          KALAM_RETURN_IF_ERROR(read_head(i));
        }
      }
    }
    // The smallest key; of equal keys the newest segment's (lowest index).
    std::optional<size_t> best;
    for (size_t i = 0; i < heads_.size(); ++i) {
      if (heads_[i] && (!best || heads_[i]->row_key < heads_[*best]->row_key)) {
        best = i;
      }
    }
    if (!best) {
      current_.reset();
      return Status::OK();
    }
    Head& head = *heads_[*best];
    current_ = head.row_key;
    entry_.key = prefix_ + head.row_key;
    entry_.row.user_id = user_;
    entry_.row.row_id = head.record.row_id;
    entry_.deleted = !head.record.row.has_value();
    entry_.row.data = entry_.deleted ? nlohmann::json() : *head.record.row;
    return Status::OK();
  }

  bool valid() const override { return current_.has_value(); }
  KeyedEntry& current() override { return entry_; }

 private:
  struct Head {
    std::string row_key;
    ColdRecord record;
  };

  Status read_head(size_t i) {
    ColdSegmentReader& reader = *segments_[i];
    ColdRecord record;
    if (!reader.next(record)) {
      heads_[i].reset();
      return reader.status();
    }
    auto row_key = keys::row_key_from_id(kind_, record.row_id);
    if (!row_key.ok()) {
      return Status::Corruption(
          "a cold segment holds row id '" + keys::printable(record.row_id) +
          "', which is not an id of this table: " + row_key.status().message());
    }
    if (heads_[i] && *row_key <= heads_[i]->row_key) {
      return Status::Corruption("a cold segment is not in row-id order (row '" +
                                keys::printable(record.row_id) + "' follows '" +
                                keys::printable(heads_[i]->record.row_id) +
                                "')");
    }
    heads_[i] = Head{std::move(*row_key), std::move(record)};
    return Status::OK();
  }

  std::vector<std::unique_ptr<ColdSegmentReader>> segments_;
  std::vector<std::optional<Head>> heads_;
  const std::string prefix_;
  const keys::RowKeyKind kind_;
  const std::string user_;
  std::optional<std::string> current_;
  KeyedEntry entry_;
  bool started_ = false;
};

class UsersColdStream final : public EntryStream {
 public:
  UsersColdStream(
      std::vector<std::string> users,
      std::function<StatusOr<std::unique_ptr<EntryStream>>(const std::string&)>
          open_user)
      : users_(std::move(users)), open_user_(std::move(open_user)) {}

  Status advance() override {
    if (stream_) KALAM_RETURN_IF_ERROR(stream_->advance());
    while ((!stream_ || !stream_->valid()) && next_user_ < users_.size()) {
      KALAM_ASSIGN_OR_RETURN(stream_, open_user_(users_[next_user_++]));
      KALAM_RETURN_IF_ERROR(stream_->advance());
    }
    return Status::OK();
  }

  bool valid() const override { return stream_ && stream_->valid(); }
  KeyedEntry& current() override { return stream_->current(); }

 private:
  std::vector<std::string> users_;
  std::function<StatusOr<std::unique_ptr<EntryStream>>(const std::string&)>
      open_user_;
  size_t next_user_ = 0;
  std::unique_ptr<EntryStream> stream_;
};

class HybridSource final : public RowSource {
 public:
  HybridSource(std::unique_ptr<EntryStream> hot,
               std::unique_ptr<EntryStream> cold)
      : hot_(std::move(hot)), cold_(std::move(cold)) {}

  Status fill(std::deque<Row>& out, size_t max) override {
    if (!started_) {
      started_ = true;
      KALAM_RETURN_IF_ERROR(hot_->advance());
      KALAM_RETURN_IF_ERROR(cold_->advance());
    }
    const size_t before = out.size();
    while (out.size() - before < max) {
      const bool hot = hot_->valid();
      const bool cold = cold_->valid();
      if (!hot && !cold) break;
      EntryStream* take = cold_.get();
      if (hot && (!cold || hot_->current().key <= cold_->current().key)) {
        if (cold && hot_->current().key == cold_->current().key) {
          KALAM_RETURN_IF_ERROR(cold_->advance());  // hot wins
        }
        take = hot_.get();
      }
      KeyedEntry& entry = take->current();
      if (!entry.deleted) out.push_back(std::move(entry.row));
      KALAM_RETURN_IF_ERROR(take->advance());
    }
    return Status::OK();
  }

 private:
  std::unique_ptr<EntryStream> hot_;
  std::unique_ptr<EntryStream> cold_;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<EntryStream> hot_stream(Iterator iterator, HotDecoder decoder) {
  return std::make_unique<HotStream>(std::move(iterator), std::move(decoder));
}

std::unique_ptr<EntryStream> cold_stream(
    std::vector<std::unique_ptr<ColdSegmentReader>> segments,
    std::string key_prefix, keys::RowKeyKind kind, std::string user_id) {
  return std::make_unique<ColdStream>(
      std::move(segments), std::move(key_prefix), kind, std::move(user_id));
}

std::unique_ptr<EntryStream> users_cold_stream(
    std::vector<std::string> users,
    std::function<StatusOr<std::unique_ptr<EntryStream>>(const std::string&)>
        open_user) {
  return std::make_unique<UsersColdStream>(std::move(users),
                                           std::move(open_user));
}

std::unique_ptr<RowSource> hybrid_source(std::unique_ptr<EntryStream> hot,
                                         std::unique_ptr<EntryStream> cold) {
  return std::make_unique<HybridSource>(std::move(hot), std::move(cold));
}

}  // namespace kalam::tables::detail
