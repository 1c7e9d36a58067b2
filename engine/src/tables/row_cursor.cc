// RowCursor, and its most common source: one Iterator, entries decoded a
// batch at a time.
#include <kalam/tables/row.h>

#include "context.h"

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

RowCursor RowCursorAccess::make(Iterator iterator, RowDecoder decoder) {
  return make(std::make_unique<IteratorRowSource>(std::move(iterator),
                                                  std::move(decoder)));
}

}  // namespace detail

RowCursor::RowCursor(std::unique_ptr<detail::RowSource> source)
    : source_(std::move(source)) {}

RowCursor::RowCursor(RowCursor&&) noexcept = default;
RowCursor& RowCursor::operator=(RowCursor&&) noexcept = default;
RowCursor::~RowCursor() = default;

bool RowCursor::next() {
  if (buffer_.empty() && source_ != nullptr && status_.ok()) {
    status_ = source_->fill(buffer_, batch_size_);
    if (!status_.ok()) buffer_.clear();
  }
  if (buffer_.empty()) {
    // The end (status_ OK) or an error: nothing more either way. Releasing
    // the source releases its iterator, and with it the database.
    source_.reset();
    return false;
  }
  current_ = std::move(buffer_.front());
  buffer_.pop_front();
  return true;
}

}  // namespace kalam::tables
