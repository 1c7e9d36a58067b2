// RowCursor (both read paths: Rows and views), RowView, and the adapter that
// serves Row-producing sources (system tables) as views.
#include <kalam/tables/json_input.h>
#include <kalam/tables/row.h>

#include "context.h"
#include "key_codec.h"

namespace kalam::tables {

namespace detail {
namespace {

class IteratorRowSource final : public RowSource {
 public:
  IteratorRowSource(Iterator iterator, RowDecoder decoder)
      : iterator_(std::move(iterator)), decoder_(std::move(decoder)) {}

  Status fill(std::deque<Row>& out, size_t max) override {
    if (!iterator_) return Status::OK();
    Iterator& it = *iterator_;
    if (!started_) {
      started_ = true;
      it.seek_to_first();
    }
    // Skipped entries (deletions) append nothing: keep reading until a row
    // arrives or the range ends.
    const size_t before = out.size();
    while (out.size() == before) {
      if (!it.valid()) {
        Status s = it.status();
        iterator_.reset();  // releases the iterator (and its hold on the db)
        return s;
      }
      KALAM_RETURN_IF_ERROR(decode_batch(
          it, max, [&](std::string_view key, std::string_view value) {
            Row row;
            KALAM_ASSIGN_OR_RETURN(bool keep, decoder_(key, value, row));
            if (keep) out.push_back(std::move(row));
            return Status::OK();
          }));
    }
    return Status::OK();
  }

 private:
  std::optional<Iterator> iterator_;
  RowDecoder decoder_;
  bool started_ = false;
};

// A RowSource served as a ViewSource: its rows are handed as DOMs.
class RowSourceViews final : public ViewSource {
 public:
  explicit RowSourceViews(std::unique_ptr<RowSource> source)
      : source_(std::move(source)) {}

  StatusOr<size_t> visit(
      size_t max, const std::function<bool(SourceRow&)>& visit) override {
    KALAM_RETURN_IF_ERROR(status_);
    size_t handed = 0;
    while (handed < max) {
      if (rows_.empty()) {
        if (source_ == nullptr) break;
        status_ = source_->fill(rows_, max - handed);
        if (!status_.ok()) {
          rows_.clear();
          source_.reset();
          return status_;
        }
        if (rows_.empty()) {
          source_.reset();
          break;
        }
      }
      Row& row = rows_.front();
      SourceRow view{.user_id = row.user_id,
                     .row_id = row.row_id,
                     .json = {},
                     .key = {},
                     .dom = &row.data};
      if (!visit(view)) break;
      rows_.pop_front();
      ++handed;
    }
    return handed;
  }

 private:
  std::unique_ptr<RowSource> source_;
  std::deque<Row> rows_;
  Status status_;
};

StatusOr<nlohmann::json> parse_object(std::string_view text) {
  StatusOr<nlohmann::json> j = tables::parse_json(text);
  if (!j.ok() || !j->is_object()) {
    return Status::Corruption("not a JSON object" +
                              (j.ok() ? "" : ": " + j.status().message()));
  }
  return j;
}

// The Row of a source row: its DOM moved out, or its text parsed.
StatusOr<Row> to_row(SourceRow& source) {
  Row row;
  row.user_id = source.user_id;
  row.row_id = source.row_id;
  if (source.dom != nullptr) {
    row.data = std::move(*source.dom);
    return row;
  }
  auto data = parse_object(source.json);
  if (!data.ok()) {
    return Status::Corruption("the stored " + std::string(source.noun) +
                              " under key '" + keys::printable(source.key) +
                              "' is not a JSON object");
  }
  row.data = std::move(*data);
  return row;
}

}  // namespace

Status decode_batch(
    Iterator& it, size_t max,
    const std::function<Status(std::string_view, std::string_view)>& decode) {
  Status decode_error;
  auto consumed =
      it.next_batch(max, [&](std::string_view key, std::string_view value) {
        decode_error = decode(key, value);
        return decode_error.ok();
      });
  KALAM_RETURN_IF_ERROR(decode_error);
  KALAM_RETURN_IF_ERROR(consumed.status());
  if (*consumed == 0 && it.valid()) {
    return Status::Internal(
        "the backend's iterator handed out no entry and did not move "
        "(next_batch made no progress)");
  }
  return Status::OK();
}

StatusOr<size_t> ViewSource::visit_views(size_t max, const RowVisitor& visit,
                                         bool& stopped) {
  return this->visit(max, [&](SourceRow& source) {
    if (source.dom != nullptr) {
      scratch_ = source.dom->dump();
      source.json = scratch_;
    }
    if (visit(RowView{.user_id = source.user_id,
                      .row_id = source.row_id,
                      .json = source.json})) {
      return true;
    }
    stopped = true;
    return false;
  });
}

RowCursor RowCursorAccess::make(std::unique_ptr<RowSource> source) {
  return make_views(std::make_unique<RowSourceViews>(std::move(source)));
}

RowCursor RowCursorAccess::make(Iterator iterator, RowDecoder decoder) {
  return make(std::make_unique<IteratorRowSource>(std::move(iterator),
                                                  std::move(decoder)));
}

}  // namespace detail

// --- RowView -------------------------------------------------------------

StatusOr<nlohmann::json> RowView::data() const {
  auto data = detail::parse_object(json);
  if (!data.ok()) {
    std::string owner;
    if (!user_id.empty()) owner = " of user '" + keys::printable(user_id) + "'";
    return Status::Corruption("row '" + keys::printable(row_id) + "'" + owner +
                              " is not a JSON object");
  }
  return data;
}

StatusOr<Row> RowView::to_row() const {
  KALAM_ASSIGN_OR_RETURN(nlohmann::json parsed, data());
  return Row{.user_id = std::string(user_id),
             .row_id = std::string(row_id),
             .data = std::move(parsed)};
}

// --- RowCursor -----------------------------------------------------------

RowCursor::RowCursor(std::unique_ptr<detail::ViewSource> source)
    : source_(std::move(source)) {}

RowCursor::RowCursor(RowCursor&&) noexcept = default;
RowCursor& RowCursor::operator=(RowCursor&&) noexcept = default;
RowCursor::~RowCursor() = default;

void RowCursor::finish(Status s) {
  if (!s.ok() && status_.ok()) status_ = std::move(s);
  // The end or an error: nothing more either way. Releasing the source
  // releases its iterator, and with it the database.
  source_.reset();
  buffer_.clear();
  copied_.clear();
  next_copied_ = 0;
}

bool RowCursor::next() {
  if (views_pending()) {
    // Rows next_view() copied come first.
    const Copied& c = copied_[next_copied_++];
    const std::string_view arena(arena_);
    const RowView v{.user_id = arena.substr(c.user_id, c.user_id_size),
                    .row_id = arena.substr(c.row_id, c.row_id_size),
                    .json = arena.substr(c.json, c.json_size)};
    auto parsed = v.to_row();
    if (!parsed.ok()) {
      finish(parsed.status());
      return false;
    }
    current_ = std::move(*parsed);
    return true;
  }
  if (buffer_.empty() && source_ != nullptr && status_.ok()) {
    Status error;
    auto got = source_->visit(batch_size_, [&](detail::SourceRow& source) {
      auto row = detail::to_row(source);
      if (!row.ok()) {
        error = row.status();
        return false;
      }
      buffer_.push_back(std::move(*row));
      return true;
    });
    if (!error.ok()) {
      finish(std::move(error));
      return false;
    }
    if (!got.ok()) {
      finish(got.status());
      return false;
    }
  }
  if (buffer_.empty()) {
    finish(Status::OK());
    return false;
  }
  current_ = std::move(buffer_.front());
  buffer_.pop_front();
  return true;
}

size_t RowCursor::drain_copied(size_t max, const RowVisitor& visit) {
  size_t handed = 0;
  while (handed < max && views_pending()) {
    const Copied& c = copied_[next_copied_];
    const std::string_view arena(arena_);
    const RowView v{.user_id = arena.substr(c.user_id, c.user_id_size),
                    .row_id = arena.substr(c.row_id, c.row_id_size),
                    .json = arena.substr(c.json, c.json_size)};
    if (!visit(v)) break;
    ++next_copied_;
    ++handed;
  }
  return handed;
}

StatusOr<size_t> RowCursor::next_batch(size_t max_rows,
                                       const RowVisitor& visit) {
  if (max_rows == 0) return size_t{0};
  size_t handed = 0;
  // Rows an earlier next() or next_view() read ahead come first.
  while (handed < max_rows && !buffer_.empty()) {
    const Row& row = buffer_.front();
    scratch_ = row.data.dump();
    const RowView v{
        .user_id = row.user_id, .row_id = row.row_id, .json = scratch_};
    if (!visit(v)) return handed;
    buffer_.pop_front();
    ++handed;
  }
  if (views_pending()) {
    const size_t drained = drain_copied(max_rows - handed, visit);
    handed += drained;
    if (views_pending()) return handed;  // stopped, or max reached
  }
  if (handed == max_rows) return handed;
  if (source_ == nullptr || !status_.ok()) {
    if (!status_.ok()) return status_;
    return handed;
  }
  bool stopped = false;
  auto got = source_->visit_views(max_rows - handed, visit, stopped);
  if (!got.ok()) {
    finish(got.status());
    return status_;
  }
  // An empty step the visitor did not stop is the end.
  if (*got == 0 && !stopped) finish(Status::OK());
  handed += *got;
  return handed;
}

bool RowCursor::next_view() {
  if (!buffer_.empty()) {
    // A row next() read ahead: its text into the arena.
    Row row = std::move(buffer_.front());
    buffer_.pop_front();
    arena_ = row.user_id;
    arena_ += row.row_id;
    const size_t json_at = arena_.size();
    arena_ += row.data.dump();
    copied_.assign(
        1, Copied{0, row.user_id.size(), row.user_id.size(), row.row_id.size(),
                  json_at, arena_.size() - json_at});
    next_copied_ = 0;
  }
  if (!views_pending()) {
    arena_.clear();
    copied_.clear();
    next_copied_ = 0;
    if (source_ == nullptr || !status_.ok()) return false;
    auto got = source_->visit(batch_size_, [&](detail::SourceRow& source) {
      Copied c{};
      c.user_id = arena_.size();
      c.user_id_size = source.user_id.size();
      arena_ += source.user_id;
      c.row_id = arena_.size();
      c.row_id_size = source.row_id.size();
      arena_ += source.row_id;
      c.json = arena_.size();
      if (source.dom != nullptr) {
        arena_ += source.dom->dump();
      } else {
        arena_ += source.json;
      }
      c.json_size = arena_.size() - c.json;
      copied_.push_back(c);
      return true;
    });
    if (!got.ok()) {
      finish(got.status());
      return false;
    }
    if (copied_.empty()) {
      finish(Status::OK());
      return false;
    }
  }
  const Copied& c = copied_[next_copied_++];
  const std::string_view arena(arena_);
  view_ = RowView{.user_id = arena.substr(c.user_id, c.user_id_size),
                  .row_id = arena.substr(c.row_id, c.row_id_size),
                  .json = arena.substr(c.json, c.json_size)};
  return true;
}

}  // namespace kalam::tables
