// kalam::Status and kalam::StatusOr<T>: how every fallible engine call
// reports its outcome. An OK status costs no allocation.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace kalam {

// The outcome of a call. Values 0 to 18 are the backend ABI's result codes
// (same numbers, see backend_api.h for what each means); the rest are the
// engine's own.
enum class Code : int {
  kOk = 0,
  kNotFound = 1,
  kInvalidArgument = 2,
  kIoError = 3,
  kCorruption = 4,
  kNotSupported = 5,
  kBusy = 6,
  kNoSpace = 7,
  kNoMemory = 8,
  kAbiMismatch = 9,
  kInternal = 10,
  kBufferTooSmall = 11,
  kDropped = 12,
  // ABI 1.2.
  kConflict = 13,        // a write's expectation did not hold; nothing applied
  kUnavailable = 14,     // no server or no quorum; nothing applied
  kTimedOut = 15,        // gave up waiting; a write: nothing applied
  kOutcomeUnknown = 16,  // a write may or may not have been applied
  kSnapshotTooOld = 17,  // the snapshot's data was compacted away
  kTooLarge = 18,        // over the store's per-write limits; nothing applied
  // Engine-only codes.
  kClosed = 100,         // the database (or what owned the handle) is closed
  kAlreadyExists = 101,  // a name is taken
};

// "OK", "NOT_FOUND", ...: stable names for messages and JSON output.
std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  // OK.
  Status() = default;
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) {
    return {Code::kNotFound, std::move(m)};
  }
  static Status InvalidArgument(std::string m) {
    return {Code::kInvalidArgument, std::move(m)};
  }
  static Status IoError(std::string m) {
    return {Code::kIoError, std::move(m)};
  }
  static Status Corruption(std::string m) {
    return {Code::kCorruption, std::move(m)};
  }
  static Status NotSupported(std::string m) {
    return {Code::kNotSupported, std::move(m)};
  }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status AbiMismatch(std::string m) {
    return {Code::kAbiMismatch, std::move(m)};
  }
  static Status Internal(std::string m) {
    return {Code::kInternal, std::move(m)};
  }
  static Status Dropped(std::string m) {
    return {Code::kDropped, std::move(m)};
  }
  static Status Conflict(std::string m) {
    return {Code::kConflict, std::move(m)};
  }
  static Status TooLarge(std::string m) {
    return {Code::kTooLarge, std::move(m)};
  }
  static Status Closed(std::string m) { return {Code::kClosed, std::move(m)}; }
  static Status AlreadyExists(std::string m) {
    return {Code::kAlreadyExists, std::move(m)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // What went wrong, where, and what to do; empty for OK.
  const std::string& message() const { return message_; }
  bool is_not_found() const { return code_ == Code::kNotFound; }
  // A conditional write's expectation failed (nothing was applied): re-read
  // and retry, or give up.
  bool is_conflict() const { return code_ == Code::kConflict; }
  // A write that may or may not have been applied: never retry it blindly;
  // read to find out.
  bool is_outcome_unknown() const { return code_ == Code::kOutcomeUnknown; }

  // "OK", or "<CODE>: <message>".
  std::string to_string() const;

  // Aborts with the message when not OK: for call sites where an error is a
  // bug (examples, tests), never inside the engine.
  void check(const char* what = "") const {
    if (!ok()) {
      std::fprintf(stderr, "%s%s%s\n", what, *what ? ": " : "",
                   to_string().c_str());
      std::abort();
    }
  }

  // Prefixes the message with context: "<context>: <message>".
  Status with_context(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) {
  return os << s.to_string();
}

// A value or the error that prevented it. Never both.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // REQUIRES: !status.ok()
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("StatusOr built from OK");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  // REQUIRES: ok(); aborts with the error otherwise.
  T& value() & {
    status_.check("StatusOr::value() on an error");
    return *value_;
  }
  const T& value() const& {
    status_.check("StatusOr::value() on an error");
    return *value_;
  }
  T&& value() && {
    status_.check("StatusOr::value() on an error");
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace kalam

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define KALAM_RETURN_IF_ERROR(expr)                        \
  do {                                                     \
    ::kalam::Status kalam_status_tmp_ = (expr);            \
    if (!kalam_status_tmp_.ok()) return kalam_status_tmp_; \
  } while (0)

#define KALAM_CONCAT_INNER_(a, b) a##b
#define KALAM_CONCAT_(a, b) KALAM_CONCAT_INNER_(a, b)
// `lhs = value of expr` (a StatusOr), or returns its error.
#define KALAM_ASSIGN_OR_RETURN(lhs, expr) \
  KALAM_ASSIGN_OR_RETURN_IMPL_(KALAM_CONCAT_(kalam_or_, __LINE__), lhs, expr)
#define KALAM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()
