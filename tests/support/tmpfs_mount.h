// A small tmpfs mounted for the life of an object: the real disk-full tests
// (tests/faults/disk_full_test.cc, tests/plugins/postgres_no_space_test.cc).
// Mounting needs root (CI runs the tests as root); where it is refused,
// mounted() is false and error() says why, so the test can skip saying so.
#pragma once

#include <sys/mount.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

namespace kalam::test {

class TmpfsMount {
 public:
  // Mounts a tmpfs of `size` (e.g. "8m") on `where` (created if missing),
  // mode 0700, owned by `owner` (uid, gid) when given: a server running as
  // another user must be able to write there.
  TmpfsMount(const std::filesystem::path& where, const std::string& size,
             std::optional<std::pair<uid_t, gid_t>> owner = std::nullopt)
      : dir_(where) {
    std::filesystem::create_directories(dir_);
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error_ = std::strerror(errno);
      return;
    }
    mounted_ = true;
    if (owner && ::chown(dir_.c_str(), owner->first, owner->second) != 0) {
      error_ = std::strerror(errno);
    }
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  // Mounted, and owned as asked.
  bool mounted() const { return mounted_ && error_.empty(); }
  const std::string& error() const { return error_; }
  // Frees space: the same files on a larger file system.
  bool grow(const std::string& size) {
    const std::string options = "size=" + size;
    return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT,
                   options.c_str()) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace kalam::test
