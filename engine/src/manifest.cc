#include "manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kalam {
namespace {

namespace fs = std::filesystem;
constexpr int kManifestVersion = 1;

Status errno_status(const std::string& what) {
  const int err = errno;
  std::string message = what + ": " + std::strerror(err);
  return err == ENOSPC ? Status(Code::kNoSpace, message)
                       : Status::IoError(message);
}

}  // namespace

Status write_file_atomically(const fs::path& file, const std::string& text,
                             bool sync) {
  const fs::path tmp = file.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("cannot create " + tmp.string());
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = errno_status("cannot write " + tmp.string());
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    Status s = errno_status("cannot fsync " + tmp.string());
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    Status s = errno_status("cannot rename " + tmp.string());
    ::unlink(tmp.c_str());
    return s;
  }
  if (!sync) return Status::OK();
  int dir =
      ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::OK();
}

namespace {

std::string now_utc() {
  const auto now =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status check_manifest(const Plugin& plugin, const fs::path& data_dir,
                      const fs::path& file) {
  // A manifest is a few hundred bytes; anything huge is not one.
  constexpr uintmax_t kMaxManifestSize = 64 * 1024;
  std::error_code size_ec;
  const uintmax_t size = fs::file_size(file, size_ec);
  if (!size_ec && size > kMaxManifestSize) {
    return Status::Corruption(file.string() + " is " + std::to_string(size) +
                              " bytes, not a manifest (at most " +
                              std::to_string(kMaxManifestSize) + ")");
  }
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Status::IoError("cannot read " + file.string());
  nlohmann::json manifest = nlohmann::json::parse(text.str(), nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() ||
      !manifest.contains("backend") || !manifest["backend"].is_string() ||
      !manifest.contains("format_version") ||
      !manifest["format_version"].is_number_unsigned()) {
    return Status::Corruption(
        file.string() +
        " is damaged: it must be a JSON object with 'backend' and "
        "'format_version'; restore it from a backup, or if you know which "
        "backend wrote " +
        data_dir.string() + ", rewrite it");
  }
  const std::string backend = manifest["backend"];
  const uint64_t format = manifest["format_version"];
  if (backend != plugin.name()) {
    return Status::InvalidArgument(
        "data directory " + data_dir.string() + " was written by backend '" +
        backend + "' (format " + std::to_string(format) +
        "), but the config asks for '" + plugin.name() +
        "': set storage.backend to '" + backend +
        "', point storage.path at another directory, or copy the data "
        "across with 'kalam migrate'");
  }
  if (format > plugin.format_version()) {
    return Status::InvalidArgument(
        "data directory " + data_dir.string() + " was written in " + backend +
        " format " + std::to_string(format) + ", newer than this plugin (" +
        plugin.version() + ") reads (up to format " +
        std::to_string(plugin.format_version()) + "); upgrade the plugin at " +
        plugin.file().string());
  }
  return Status::OK();
}

}  // namespace

StatusOr<fs::path> prepare_data_dir(const Plugin& plugin,
                                    const fs::path& data_dir, bool create) {
  const fs::path store = store_dir_of(data_dir);
  if (!plugin.has(KALAM_CAP_PERSISTENT)) return store;

  const fs::path file = data_dir / kManifestFileName;
  std::error_code ec;
  if (fs::exists(file, ec)) {
    KALAM_RETURN_IF_ERROR(check_manifest(plugin, data_dir, file));
    return store;
  }
  if (fs::exists(data_dir, ec)) {
    if (!fs::is_directory(data_dir, ec)) {
      return Status::InvalidArgument("storage.path " + data_dir.string() +
                                     " exists and is not a directory");
    }
    // A creation killed while writing the manifest leaves only its
    // temporary file: the directory was never a database, so start over.
    const fs::path stale = file.string() + ".tmp";
    if (fs::exists(stale, ec)) {
      size_t entries = 0;
      for (fs::directory_iterator it(data_dir, ec), end; !ec && it != end;
           it.increment(ec)) {
        ++entries;
      }
      if (!ec && entries == 1) fs::remove(stale, ec);
    }
    if (!fs::is_empty(data_dir, ec)) {
      return Status::InvalidArgument(
          "data directory " + data_dir.string() + " is not empty and has no " +
          kManifestFileName +
          ", so Kalam cannot tell which backend wrote it; point "
          "storage.path at an empty or new directory");
    }
  }
  if (!create) {
    return Status::NotFound("no Kalam database at " + data_dir.string() +
                            " (open with create_if_missing to make one)");
  }
  fs::create_directories(data_dir, ec);
  if (ec) {
    return Status::IoError("cannot create data directory " + data_dir.string() +
                           ": " + ec.message());
  }
  nlohmann::json manifest = {
      {"kalam_manifest", kManifestVersion},
      {"backend", plugin.name()},
      {"format_version", plugin.format_version()},
      {"abi", std::to_string(plugin.abi_major()) + "." +
                  std::to_string(plugin.abi_minor())},
      {"plugin_version", plugin.version()},
      {"created_at", now_utc()},
  };
  KALAM_RETURN_IF_ERROR(write_file_atomically(file, manifest.dump(2) + "\n"));
  return store;
}

Status copy_manifest(const fs::path& data_dir, const fs::path& dir) {
  std::error_code ec;
  const fs::path from = data_dir / kManifestFileName;
  if (!fs::exists(from, ec)) return Status::OK();
  std::ifstream in(from);
  std::ostringstream text;
  text << in.rdbuf();
  return write_file_atomically(dir / kManifestFileName, text.str());
}

}  // namespace kalam
