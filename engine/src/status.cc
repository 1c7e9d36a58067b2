#include <kalam/status.h>

namespace kalam {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kIoError:
      return "IO_ERROR";
    case Code::kCorruption:
      return "CORRUPTION";
    case Code::kNotSupported:
      return "NOT_SUPPORTED";
    case Code::kBusy:
      return "BUSY";
    case Code::kNoSpace:
      return "NO_SPACE";
    case Code::kNoMemory:
      return "NO_MEMORY";
    case Code::kAbiMismatch:
      return "ABI_MISMATCH";
    case Code::kInternal:
      return "INTERNAL";
    case Code::kBufferTooSmall:
      return "BUFFER_TOO_SMALL";
    case Code::kDropped:
      return "DROPPED";
    case Code::kConflict:
      return "CONFLICT";
    case Code::kUnavailable:
      return "UNAVAILABLE";
    case Code::kTimedOut:
      return "TIMED_OUT";
    case Code::kOutcomeUnknown:
      return "OUTCOME_UNKNOWN";
    case Code::kSnapshotTooOld:
      return "SNAPSHOT_TOO_OLD";
    case Code::kTooLarge:
      return "TOO_LARGE";
    case Code::kClosed:
      return "CLOSED";
    case Code::kAlreadyExists:
      return "ALREADY_EXISTS";
  }
  return "UNKNOWN";
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string out(code_name(code_));
  if (!message_.empty()) out += ": " + message_;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

}  // namespace kalam
