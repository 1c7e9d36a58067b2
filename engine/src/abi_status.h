// The one mapping from ABI result codes to kalam::Status (internal).
#pragma once

#include <kalam/backend_api.h>
#include <kalam/status.h>

#include <cstring>
#include <string>
#include <string_view>

namespace kalam {

// A caller-owned kalam_status, ready to hand to a plugin call.
class StatusBuffer {
 public:
  StatusBuffer() {
    status_.struct_size = sizeof status_;
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
  kalam_status status_{};
};

// The Status for ABI result `rc` of `operation` (e.g. "put"), served by
// backend `backend`: "<operation> (<backend>): <plugin message>".
inline Status status_from_abi(int rc, const StatusBuffer& detail,
                              std::string_view operation,
                              std::string_view backend) {
  if (rc == KALAM_OK) return Status::OK();
  Code code = (rc >= KALAM_OK && rc <= KALAM_DROPPED) ? static_cast<Code>(rc)
                                                      : Code::kInternal;
  std::string message(operation);
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
