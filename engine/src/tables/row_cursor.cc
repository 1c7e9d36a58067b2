// RowCursor: a batch-at-a-time, decoding wrapper around one Iterator.
#include <kalam/tables/row.h>

namespace kalam::tables {

RowCursor::RowCursor(Iterator iterator, detail::RowDecoder decoder)
    : iterator_(std::move(iterator)), decoder_(std::move(decoder)) {}

RowCursor::RowCursor(RowCursor&&) noexcept = default;
RowCursor& RowCursor::operator=(RowCursor&&) noexcept = default;
RowCursor::~RowCursor() = default;

void RowCursor::fill() {
  if (!iterator_ || !status_.ok()) return;
  Iterator& it = *iterator_;
  if (!started_) {
    started_ = true;
    it.seek_to_first();
  }
  if (!it.valid()) {
    status_ = it.status();
    iterator_.reset();  // releases the iterator (and its hold on the db) early
    return;
  }
  Status decode_error;
  auto consumed = it.next_batch(
      batch_size_, [&](std::string_view key, std::string_view value) {
        Row row;
        decode_error = decoder_(key, value, row);
        if (!decode_error.ok()) return false;
        buffer_.push_back(std::move(row));
        return true;
      });
  if (!decode_error.ok()) {
    status_ = std::move(decode_error);
  } else if (!consumed.ok()) {
    status_ = consumed.status();
  } else if (*consumed == 0 && it.valid()) {
    status_ = Status::Internal(
        "the backend's iterator handed out no entry and did not move "
        "(next_batch made no progress)");
  }
  if (!status_.ok()) {
    buffer_.clear();
    iterator_.reset();
  }
}

bool RowCursor::next() {
  if (buffer_.empty()) fill();
  if (buffer_.empty()) {
    // The end (status_ OK) or an error: nothing more either way.
    iterator_.reset();
    return false;
  }
  current_ = std::move(buffer_.front());
  buffer_.pop_front();
  return true;
}

}  // namespace kalam::tables
