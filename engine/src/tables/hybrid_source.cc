// Hybrid reads (see hybrid_source.h).
#include "hybrid_source.h"

#include "context.h"

#include <cstring>
#include <optional>

namespace kalam::tables::detail {

namespace {

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

class MergedSource final : public ViewSource {
 public:
  MergedSource(Iterator iterator, HotLayout layout,
               std::unique_ptr<EntryStream> cold)
      : iterator_(std::move(iterator)),
        layout_(std::move(layout)),
        cold_(std::move(cold)) {}

  StatusOr<size_t> visit(
      size_t max, const std::function<bool(SourceRow&)>& visit) override {
    bool stopped = false;
    return run(max, visit, stopped);
  }

  StatusOr<size_t> visit_views(size_t max, const RowVisitor& visit,
                               bool& stopped) override {
    return run(
        max,
        [&](SourceRow& row) {
          if (row.dom != nullptr) {
            // A cold row: its text, dumped into one reused buffer.
            dumped_ = row.dom->dump();
            row.json = dumped_;
          }
          return visit(RowView{
              .user_id = row.user_id, .row_id = row.row_id, .json = row.json});
        },
        stopped);
  }

 private:
  // The merge, `emit` inlined into the iterator's batch visitor.
  template <typename Emit>
  StatusOr<size_t> run(size_t max, const Emit& emit, bool& stopped) {
    KALAM_RETURN_IF_ERROR(status_);
    if (!started_) {
      started_ = true;
      iterator_->seek_to_first();
      if (cold_) KALAM_RETURN_IF_ERROR(fail(advance_cold()));
    }
    size_t handed = 0;
    while (handed < max && !stopped) {
      if (iterator_) {
        Iterator& it = *iterator_;
        if (!it.valid()) {
          Status s = it.status();
          iterator_.reset();  // releases the iterator (and its hold on the db)
          KALAM_RETURN_IF_ERROR(fail(std::move(s)));
          continue;
        }
        Status error;
        bool refused = false;
        auto consumed = it.next_batch(
            max - handed, [&](std::string_view key, std::string_view value) {
              if (cold_) {
                // The cold rows before this key come first.
                while (cold_ && std::string_view(cold_->current().key) < key) {
                  if (handed == max) return refuse(refused);
                  if (!hand_cold(emit, handed)) {
                    stopped = true;
                    return refuse(refused);
                  }
                  error = advance_cold();
                  if (!error.ok()) return refuse(refused);
                }
                if (handed == max) return refuse(refused);
                if (cold_ && cold_->current().key == key) {
                  error = advance_cold();  // hot wins
                  if (!error.ok()) return refuse(refused);
                }
              }
              if (layout_.tombstones && value.size() == 1 && value[0] == '\0') {
                return true;  // a tombstone (kTombstone)
              }
              SourceRow row;
              if (!decode(key, value, row)) {
                error = decode_error(key);
                return refuse(refused);
              }
              if (!emit(row)) {
                stopped = true;
                return refuse(refused);
              }
              ++handed;
              return true;
            });
        KALAM_RETURN_IF_ERROR(fail(std::move(error)));
        KALAM_RETURN_IF_ERROR(fail(consumed.status()));
        if (*consumed == 0 && !refused && it.valid()) {
          return fail(Status::Internal(
              "the backend's iterator handed out no entry and did not move "
              "(next_batch made no progress)"));
        }
        continue;
      }
      // The hot rows are done: the rest of the cold ones.
      if (!cold_) break;
      if (!hand_cold(emit, handed)) {
        stopped = true;
        break;
      }
      KALAM_RETURN_IF_ERROR(fail(advance_cold()));
    }
    return handed;
  }

  static bool refuse(bool& refused) {
    refused = true;
    return false;
  }
  // Moves the cold stream on; drops it at its end, so that the merge
  // costs one null check per hot row from then on (and for every row of a
  // partition without segments).
  Status advance_cold() {
    Status s = cold_->advance();
    if (s.ok() && !cold_->valid()) cold_.reset();
    return s;
  }

  // Hands the current cold entry unless it is a deletion; false when the
  // visitor refused it.
  template <typename Emit>
  bool hand_cold(const Emit& emit, size_t& handed) {
    KeyedEntry& entry = cold_->current();
    if (entry.deleted) return true;
    SourceRow row{.user_id = entry.row.user_id,
                  .row_id = entry.row.row_id,
                  .json = {},
                  .key = entry.key,
                  .dom = &entry.row.data,
                  .noun = layout_.noun};
    if (!emit(row)) return false;
    ++handed;
    return true;
  }

  // The row of a hot entry; false when its key is not one of the scan's.
  bool decode(std::string_view key, std::string_view value, SourceRow& row) {
    // Bounds are the backend's job; this check makes "no call returns
    // another user's row" hold even with a backend that gets them wrong.
    const std::string& prefix = layout_.prefix;
    if (key.size() < prefix.size() ||
        std::memcmp(key.data(), prefix.data(), prefix.size()) != 0) {
      return false;
    }
    std::string_view rest = key.substr(prefix.size());
    if (layout_.all_users) {
      auto user = keys::consume_escaped_view(rest, user_buffer_);
      if (!user) return false;
      row.user_id = *user;
    } else {
      row.user_id = layout_.user;
    }
    const size_t n = rest.size();
    if (layout_.kind == keys::RowKeyKind::kString && n >= 2 &&
        rest[n - 2] == '\0' && rest[n - 1] == '\x01' &&
        std::memchr(rest.data(), 0, n - 2) == nullptr) {
      row.row_id = rest.substr(0, n - 2);  // the common string id: a view
    } else {
      auto id = keys::row_id_view(layout_.kind, rest, id_buffer_);
      if (!id) return false;
      row.row_id = *id;
    }
    row.json = value;
    row.key = key;
    row.noun = layout_.noun;
    return true;
  }

  // Why decode() refused `key`.
  Status decode_error(std::string_view key) const {
    if (!key.starts_with(layout_.prefix)) {
      return Status::Corruption("the backend's iterator returned key '" +
                                keys::printable(key) +
                                "', outside the bounds of the scan");
    }
    std::string_view rest = key.substr(layout_.prefix.size());
    if (layout_.all_users) {
      std::string user;
      if (!keys::consume_escaped(rest, user)) {
        return Status::Corruption("malformed user-table key '" +
                                  keys::printable(key) + "'");
      }
    }
    auto checked = keys::row_id_from_key(layout_.kind, rest);
    return checked.ok() ? Status::Corruption("malformed row key '" +
                                             keys::printable(key) + "'")
                        : checked.status();
  }

  // Keeps the first error: every later visit() returns it.
  Status fail(Status s) {
    if (!s.ok() && status_.ok()) {
      status_ = s;
      iterator_.reset();
      cold_.reset();
    }
    return s;
  }

  std::optional<Iterator> iterator_;
  const HotLayout layout_;
  std::unique_ptr<EntryStream> cold_;
  std::string user_buffer_;
  std::string id_buffer_;
  std::string dumped_;
  Status status_;
  bool started_ = false;
};

}  // namespace

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

std::unique_ptr<ViewSource> merged_source(Iterator iterator, HotLayout layout,
                                          std::unique_ptr<EntryStream> cold) {
  return std::make_unique<MergedSource>(std::move(iterator), std::move(layout),
                                        std::move(cold));
}

}  // namespace kalam::tables::detail
