// The one mapping from ABI result codes to kalam::Status (internal).
#pragma once

#include <kalam/backend_api.h>
#include <kalam/status.h>

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace kalam {

// A caller-owned kalam_status, ready to hand to a plugin call.
class StatusBuffer {
 public:
  // Only the header fields and the message's first byte are set: a zeroed
  // 528-byte buffer on every ABI call would cost more than the call.
  StatusBuffer() {
    status_.struct_size = sizeof status_;
    status_.code = 0;
    status_.native_code = 0;
    status_.message[0] = '\0';
  }
  kalam_status* get() { return &status_; }
  // The plugin's message, or `fallback` when it left none.
  std::string message_or(std::string_view fallback) const {
    // Never trust a plugin to have terminated the buffer.
    const size_t len = strnlen(status_.message, sizeof status_.message);
    return len == 0 ? std::string(fallback) : std::string(status_.message, len);
  }

 private:
  kalam_status status_;
};

// The Status for ABI result `rc`: "<operation> (<backend>): <plugin
// message>". `operation` is a string, or a callable returning one; the
// callable runs only on failure, so the success path of every ABI call
// builds no text.
template <typename Operation>
Status status_from_abi(int rc, const StatusBuffer& detail,
                       const Operation& operation, std::string_view backend) {
  if (rc == KALAM_OK) return Status::OK();
  Code code = (rc >= KALAM_OK && rc <= KALAM_TOO_LARGE) ? static_cast<Code>(rc)
                                                        : Code::kInternal;
  std::string message;
  if constexpr (std::is_invocable_v<const Operation&>) {
    message = operation();
  } else {
    message = std::string(operation);
  }
  message += " (";
  message += backend;
  message += "): ";
  message += detail.message_or(kalam_code_name(rc));
  if (code == Code::kInternal && rc != KALAM_INTERNAL) {
    message += " [unknown result code " + std::to_string(rc) + "]";
  }
  return Status(code, std::move(message));
}

}  // namespace kalam
