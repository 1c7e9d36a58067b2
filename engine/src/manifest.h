// The data-directory manifest (internal): which backend and on-disk format
// wrote a directory, so another backend never opens it by mistake.
#pragma once

#include <kalam/plugin.h>
#include <kalam/status.h>

#include <filesystem>

namespace kalam {

// The manifest's file name inside a data directory.
inline constexpr const char* kManifestFileName = "KALAM_MANIFEST";

// The directory a plugin keeps its files in, inside a data directory.
inline std::filesystem::path store_dir_of(const std::filesystem::path& dir) {
  return dir / "store";
}

// Prepares `data_dir` for `plugin` and returns the directory the plugin
// stores its files in (data_dir/store). For a persistent plugin: an existing
// manifest must name the same backend and a format the plugin reads; a
// directory without one must be empty or absent, and is then created and
// stamped (when `create`). Non-persistent plugins leave no trace on disk.
StatusOr<std::filesystem::path> prepare_data_dir(
    const Plugin& plugin, const std::filesystem::path& data_dir, bool create);

// Writes `text` to `file` through a temporary file renamed into place, so
// a crash leaves the old file or the new one, never half of one. With
// `sync`, durably: the file and then its directory are fsync'ed.
Status write_file_atomically(const std::filesystem::path& file,
                             const std::string& text, bool sync = true);

// Copies data_dir's manifest into checkpoint directory `dir`.
Status copy_manifest(const std::filesystem::path& data_dir,
                     const std::filesystem::path& dir);

}  // namespace kalam
