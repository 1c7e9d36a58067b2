// The JSON Lines cold store (see cold_store.h for the layout).
#include <fcntl.h>
#include <kalam/tables/cold_store.h>
#include <kalam/tables/json_input.h>
#include <kalam/tables/schema.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <system_error>

namespace kalam::tables {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kFormat = "kalam.segment";
// Version 2 adds "crc32" to the header: the CRC-32 of every byte after the
// header line. Version 1 segments (no checksum) are still read.
constexpr int kVersion = 2;
constexpr int kOldestVersion = 1;
constexpr std::string_view kSuffix = ".jsonl";
constexpr size_t kSeqDigits = 20;
// Directory names stay well below NAME_MAX (255).
constexpr size_t kMaxUserDirName = 200;

Status io_error(const std::string& what, int err) {
  return Status(Code::kIoError, what + ": " + std::strerror(err));
}

Status io_error(const std::string& what, const std::error_code& ec) {
  return Status(Code::kIoError, what + ": " + ec.message());
}

bool plain_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string user_dir_name(std::string_view user) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : user) {
    if (plain_byte(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  if (out.size() <= kMaxUserDirName) return out;
  // Too long for a file name: a readable prefix and a hash of the whole id.
  // Two users may then share a directory; readers check each segment's
  // header, so they never mix.
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : user) h = (h ^ c) * 1099511628211ULL;
  std::string shortened = out.substr(0, 160);
  // Never cut a %HH escape in half.
  if (auto pct = shortened.rfind('%');
      pct != std::string::npos && pct + 3 > shortened.size()) {
    shortened.resize(pct);
  }
  char suffix[20];
  std::snprintf(suffix, sizeof(suffix), "~%016llx",
                static_cast<unsigned long long>(h));
  return shortened + suffix;
}

bool valid_utf8(std::string_view s) {
  try {
    (void)json(std::string(s)).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

uint32_t crc32_of(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string seq_name(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(kSeqDigits - digits.size(), '0') + digits +
         std::string(kSuffix);
}

// The sequence number of a segment file name, or nullopt for anything else
// (temporary files included).
std::optional<uint64_t> parse_seq_name(const std::string& name) {
  if (name.size() != kSeqDigits + kSuffix.size() || !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (size_t i = 0; i < kSeqDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return seq;
}

Status fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return io_error("open " + path.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync " + path.string(), err);
  return Status::OK();
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (err == ENOSPC) {
        return Status(Code::kNoSpace,
                      "write " + path.string() + ": " + std::strerror(err));
      }
      return io_error("write " + path.string(), err);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

class JsonLinesReader final : public ColdSegmentReader {
 public:
  JsonLinesReader(fs::path path, std::ifstream in, uint64_t expected)
      : path_(std::move(path)), in_(std::move(in)), expected_(expected) {}

  bool next(ColdRecord& out) override {
    if (done_) return false;
    std::string line;
    if (!std::getline(in_, line)) {
      done_ = true;
      if (in_.bad()) {
        status_ = Status(Code::kIoError, "read " + path_.string());
      } else if (read_ != expected_) {
        status_ = corrupt("the header promises " + std::to_string(expected_) +
                          " records, the file holds " + std::to_string(read_));
      }
      return false;
    }
    ++line_no_;
    // A record wraps its row one level deeper than a row may nest.
    StatusOr<json> parsed = parse_json(line, kMaxJsonDepth + 1);
    json j = parsed.ok() ? std::move(*parsed) : json(json::value_t::discarded);
    auto id = j.is_object() ? j.find("id") : j.end();
    if (j.is_discarded() || !j.is_object() || id == j.end() ||
        !id->is_string() || read_ == expected_) {
      return fail(read_ == expected_ ? "more records than the header promises"
                                     : "not a segment record");
    }
    out.row_id = id->get<std::string>();
    if (auto row = j.find("row"); row != j.end() && row->is_object()) {
      out.row = std::move(*row);
    } else if (auto del = j.find("deleted");
               del != j.end() && del->is_boolean() && del->get<bool>()) {
      out.row.reset();
    } else {
      return fail("a record needs \"row\" (an object) or \"deleted\": true");
    }
    ++read_;
    return true;
  }

  const Status& status() const override { return status_; }

 private:
  Status corrupt(const std::string& what) const {
    return Status::Corruption("cold segment " + path_.string() + ": " + what);
  }
  bool fail(const std::string& what) {
    status_ = Status::Corruption("cold segment " + path_.string() + " line " +
                                 std::to_string(line_no_) + ": " + what);
    done_ = true;
    return false;
  }

  fs::path path_;
  std::ifstream in_;
  uint64_t expected_;
  uint64_t read_ = 0;
  uint64_t line_no_ = 1;  // the header
  bool done_ = false;
  Status status_;
};

class JsonLinesColdStore final : public ColdStore {
 public:
  explicit JsonLinesColdStore(fs::path root) : root_(std::move(root)) {}

  Status write_segment(const ColdPartition& partition,
                       Span<const ColdRecord> records) override {
    const fs::path dir = partition_dir(partition);
    // One writer at a time per store: sequence numbers are read-then-write.
    std::lock_guard lock(write_mu_);
    KALAM_RETURN_IF_ERROR(make_dirs(dir));
    KALAM_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, segment_seqs(dir));
    return write_file(partition, dir, seqs.empty() ? 1 : seqs.back() + 1,
                      records);
  }

  Status replace_segments(const ColdPartition& partition,
                          Span<const ColdRecord> records) override {
    const fs::path dir = partition_dir(partition);
    std::lock_guard lock(write_mu_);
    KALAM_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, segment_seqs(dir));
    // The partition's own segments: a user whose long id shares the
    // directory keeps theirs.
    std::vector<uint64_t> replaced;
    for (uint64_t seq : seqs) {
      if (partition.user) {
        const fs::path path = dir / seq_name(seq);
        KALAM_ASSIGN_OR_RETURN(OpenedSegment segment, open_file(path));
        KALAM_ASSIGN_OR_RETURN(bool own,
                               owned_by(segment.header, partition, path));
        if (!own) continue;
      }
      replaced.push_back(seq);
    }
    if (!records.empty()) {
      KALAM_RETURN_IF_ERROR(make_dirs(dir));
      KALAM_RETURN_IF_ERROR(write_file(
          partition, dir, seqs.empty() ? 1 : seqs.back() + 1, records));
    }
    if (replaced.empty()) return Status::OK();
    {
      // Listing and opening (open_segments, users) see the old segments
      // all present or all gone.
      std::unique_lock files(files_mu_);
      for (uint64_t seq : replaced) {  // ascending: oldest first
        const fs::path path = dir / seq_name(seq);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
          return io_error("remove " + path.string(), errno);
        }
        forget_verified(path.string());
      }
    }
    return fsync_path(dir, O_RDONLY | O_DIRECTORY);
  }

  StatusOr<std::vector<std::unique_ptr<ColdSegmentReader>>> open_segments(
      const ColdPartition& partition) override {
    std::vector<std::unique_ptr<ColdSegmentReader>> readers;
    const fs::path dir = partition_dir(partition);
    std::shared_lock files(files_mu_);
    KALAM_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, segment_seqs(dir));
    for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
      const fs::path path = dir / seq_name(*it);
      KALAM_ASSIGN_OR_RETURN(OpenedSegment segment, open_file(path));
      KALAM_ASSIGN_OR_RETURN(bool own,
                             owned_by(segment.header, partition, path));
      if (!own) continue;  // another user whose long id shares the directory
      readers.push_back(std::make_unique<JsonLinesReader>(
          path, std::move(segment.in), segment.header.records));
    }
    return readers;
  }

  StatusOr<bool> has_segments(const ColdPartition& partition) override {
    KALAM_ASSIGN_OR_RETURN(size_t count, segment_count(partition));
    return count > 0;
  }

  StatusOr<size_t> segment_count(const ColdPartition& partition) override {
    std::shared_lock files(files_mu_);
    KALAM_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs,
                           segment_seqs(partition_dir(partition)));
    return seqs.size();
  }

  StatusOr<bool> empty() override {
    std::error_code ec;
    if (!fs::exists(root_, ec)) return true;
    // increment(ec), not ++: a listing error is a Status, never a throw.
    for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (parse_seq_name(it->path().filename().string())) return false;
    }
    if (ec) return io_error("list " + root_.string(), ec);
    return true;
  }

  StatusOr<std::vector<std::string>> users(
      const ColdPartition& table) override {
    const fs::path dir = table_dir(table) / "users";
    std::set<std::string> out;
    std::shared_lock files(files_mu_);
    std::error_code ec;
    if (!fs::exists(dir, ec)) return std::vector<std::string>();
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      const fs::directory_entry& entry = *it;
      std::error_code type_ec;
      if (!entry.is_directory(type_ec)) continue;
      KALAM_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs,
                             segment_seqs(entry.path()));
      for (uint64_t seq : seqs) {
        const fs::path path = entry.path() / seq_name(seq);
        KALAM_ASSIGN_OR_RETURN(OpenedSegment segment,
                               open_file(path, /*verify=*/false));
        if (!segment.header.user) {
          return Status::Corruption("cold segment " + path.string() +
                                    " is a shared table segment among the "
                                    "user segments of " +
                                    table.ns + "." + table.table);
        }
        out.insert(std::move(*segment.header.user));
      }
    }
    if (ec) return io_error("list " + dir.string(), ec);
    return std::vector<std::string>(out.begin(), out.end());
  }

  StatusOr<std::vector<ColdSegmentInfo>> list_segments() override {
    std::vector<ColdSegmentInfo> out;
    std::shared_lock files(files_mu_);
    std::error_code ec;
    if (!fs::exists(root_, ec)) return out;
    // <root>/<ns>/<table>-<id>/{shared,users/<user>}/<seq>.jsonl
    for (const fs::path& ns_dir : subdirs(root_, ec)) {
      for (const fs::path& table_dir : subdirs(ns_dir, ec)) {
        ColdPartition place{.ns = ns_dir.filename().string()};
        const std::string name = table_dir.filename().string();
        const size_t dash = name.rfind('-');
        uint64_t id = 0;
        bool numeric = dash != std::string::npos && dash + 1 < name.size();
        for (size_t i = dash + 1; numeric && i < name.size(); ++i) {
          numeric = name[i] >= '0' && name[i] <= '9';
          id = id * 10 + static_cast<uint64_t>(name[i] - '0');
        }
        if (!numeric) continue;  // not a table directory
        place.table = name.substr(0, dash);
        place.table_id = id;
        KALAM_RETURN_IF_ERROR(
            list_partition(table_dir / "shared", place, std::nullopt, &out));
        for (const fs::path& user_dir : subdirs(table_dir / "users", ec)) {
          KALAM_RETURN_IF_ERROR(list_partition(
              user_dir, place, user_dir.filename().string(), &out));
        }
      }
    }
    if (ec) return io_error("list " + root_.string(), ec);
    std::sort(out.begin(), out.end(),
              [](const ColdSegmentInfo& a, const ColdSegmentInfo& b) {
                return std::tie(a.partition.ns, a.partition.table,
                                a.partition.table_id, a.partition.user, a.seq) <
                       std::tie(b.partition.ns, b.partition.table,
                                b.partition.table_id, b.partition.user, b.seq);
              });
    return out;
  }

  StatusOr<std::unique_ptr<ColdSegmentReader>> open_segment(
      const ColdSegmentInfo& segment) override {
    if (!segment.damage.ok()) return segment.damage;
    const fs::path path =
        partition_dir(segment.partition) / seq_name(segment.seq);
    std::shared_lock files(files_mu_);
    KALAM_ASSIGN_OR_RETURN(OpenedSegment opened, open_file(path));
    KALAM_ASSIGN_OR_RETURN(bool own,
                           owned_by(opened.header, segment.partition, path));
    if (!own) {
      return Status::NotFound("cold segment " + path.string() +
                              " belongs to another user");
    }
    return std::unique_ptr<ColdSegmentReader>(std::make_unique<JsonLinesReader>(
        path, std::move(opened.in), opened.header.records));
  }

  Status drop_table(const ColdPartition& table) override {
    std::lock_guard lock(write_mu_);
    std::error_code ec;
    fs::remove_all(table_dir(table), ec);
    if (ec) return io_error("remove " + table_dir(table).string(), ec);
    forget_verified(table_dir(table).string() + "/");
    return Status::OK();
  }

  Status clear() override {
    std::lock_guard lock(write_mu_);
    std::error_code ec;
    fs::remove_all(root_, ec);
    if (ec) return io_error("remove " + root_.string(), ec);
    forget_verified(root_.string());
    return Status::OK();
  }

 private:
  struct Header {
    std::string ns;
    std::string table;
    uint64_t table_id = 0;
    // Set for segments of user tables.
    std::optional<std::string> user;
    uint64_t records = 0;
  };

  struct OpenedSegment {
    Header header;
    std::ifstream in;  // positioned after the header line
  };

  // Opens a segment and reads its header. With `verify`, also checks the
  // CRC-32 of everything after the header (version 2 segments) before
  // handing the file out, so a reader never sees a record of a damaged
  // segment; a segment checked once is not read twice while its file is
  // unchanged (same inode, size and modification time).
  StatusOr<OpenedSegment> open_file(const fs::path& path, bool verify = true) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status(Code::kIoError, "open " + path.string());
    std::string line;
    if (!std::getline(in, line)) {
      return Status::Corruption("cold segment " + path.string() +
                                ": empty (no header line)");
    }
    KALAM_ASSIGN_OR_RETURN(ParsedHeader parsed, parse_header(line, path));
    if (verify && parsed.crc32) {
      KALAM_RETURN_IF_ERROR(verify_body(path, in, *parsed.crc32));
    }
    return OpenedSegment{.header = std::move(parsed.header),
                         .in = std::move(in)};
  }

  // Checks the CRC-32 of what follows the header; leaves `in` where it was.
  Status verify_body(const fs::path& path, std::ifstream& in,
                     uint32_t expected) {
    struct stat st {};
    const bool stamped = ::stat(path.c_str(), &st) == 0;
    const FileStamp stamp{
        .inode = static_cast<uint64_t>(st.st_ino),
        .size = static_cast<uint64_t>(st.st_size),
        .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                    st.st_mtim.tv_nsec};
    if (stamped) {
      std::lock_guard lock(verified_mu_);
      auto it = verified_.find(path.string());
      if (it != verified_.end() && it->second == stamp) return Status::OK();
    }
    const std::streampos body = in.tellg();
    boost::crc_32_type crc;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      crc.process_bytes(buffer, static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return Status(Code::kIoError, "read " + path.string());
    in.clear();
    in.seekg(body);
    if (!in) return Status(Code::kIoError, "seek in " + path.string());
    if (crc.checksum() != expected) {
      char text[64];
      std::snprintf(text, sizeof text, "stored 0x%08x, computed 0x%08x",
                    expected, crc.checksum());
      return Status::Corruption("cold segment " + path.string() +
                                ": checksum mismatch (" + text +
                                "); the file was damaged after it was written");
    }
    if (stamped) {
      std::lock_guard lock(verified_mu_);
      verified_[path.string()] = stamp;
    }
    return Status::OK();
  }

  // Whether the segment at `path` (header `header`) is one of `partition`'s
  // segments: true when it is, false when it belongs to another user whose
  // long id shares the directory, CORRUPTION when it claims another table,
  // or another user than the one its directory is named after (a file moved
  // or copied into the wrong place). Reads never hand out another
  // partition's rows.
  static StatusOr<bool> owned_by(const Header& header,
                                 const ColdPartition& partition,
                                 const fs::path& path) {
    if (header.ns != partition.ns || header.table != partition.table ||
        header.table_id != partition.table_id) {
      return Status::Corruption(
          "cold segment " + path.string() + " claims table " + header.ns + "." +
          header.table + " (id " + std::to_string(header.table_id) +
          ") but lies among the segments of " + partition.ns + "." +
          partition.table + " (id " + std::to_string(partition.table_id) + ")");
    }
    if (header.user.has_value() != partition.user.has_value()) {
      return Status::Corruption("cold segment " + path.string() + " is a " +
                                (header.user ? "user" : "shared") +
                                " table segment but lies among "
                                "the " +
                                (partition.user ? "user" : "shared") +
                                " segments of " + partition.ns + "." +
                                partition.table);
    }
    if (!header.user || *header.user == *partition.user) return true;
    if (user_dir_name(*header.user) == user_dir_name(*partition.user)) {
      return false;  // a long id that shortens to the same directory
    }
    return Status::Corruption(
        "cold segment " + path.string() + " holds the rows of user '" +
        printable_user(*header.user) + "' but lies in the directory of user '" +
        printable_user(*partition.user) +
        "' (moved or copied there?); its rows are not read");
  }

  static std::string printable_user(std::string_view user) {
    std::string out;
    for (unsigned char c : user.substr(0, 64)) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        out.push_back(static_cast<char>(c));
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02X", c);
        out += hex;
      }
    }
    if (user.size() > 64) out += "...";
    return out;
  }

  // Writes `records` as segment `seq` of `dir` (see the header comment for
  // the steps that make it all-or-nothing). REQUIRES: write_mu_ held.
  Status write_file(const ColdPartition& partition, const fs::path& dir,
                    uint64_t seq, Span<const ColdRecord> records) {
    json header = {
        {"format", kFormat},
        {"version", kVersion},
        {"namespace", partition.ns},
        {"table", partition.table},
        {"table_id", partition.table_id},
        {"seq", seq},
        {"created_at", std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()},
        {"records", records.size()}};
    if (partition.user) {
      header["user_base64"] = base64_encode(*partition.user);
      if (valid_utf8(*partition.user)) header["user"] = *partition.user;
    }
    std::string text;
    try {
      std::string body;
      for (const ColdRecord& r : records) {
        json line = {{"id", r.row_id}};
        if (r.row) {
          line["row"] = *r.row;
        } else {
          line["deleted"] = true;
        }
        body += line.dump();
        body += '\n';
      }
      header["crc32"] = crc32_of(body);
      text = header.dump() + "\n" + body;
    } catch (const json::exception& e) {
      return Status::InvalidArgument(std::string("cannot encode a segment: ") +
                                     e.what());
    }

    const fs::path final_path = dir / seq_name(seq);
    const fs::path tmp =
        dir / (seq_name(seq) + ".tmp-" + std::to_string(::getpid()) + "-" +
               std::to_string(++tmp_counter_));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("create " + tmp.string(), errno);
    Status s = write_all(fd, text, tmp);
    if (s.ok() && ::fsync(fd) != 0)
      s = io_error("fsync " + tmp.string(), errno);
    if (::close(fd) != 0 && s.ok()) {
      s = io_error("close " + tmp.string(), errno);
    }
    if (s.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
      s = io_error("rename " + tmp.string() + " to " + final_path.string(),
                   errno);
    }
    if (!s.ok()) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      return s;
    }
    return fsync_path(dir, O_RDONLY | O_DIRECTORY);
  }

  struct ParsedHeader {
    Header header;
    std::optional<uint32_t> crc32;  // version 2 and later
  };

  static StatusOr<ParsedHeader> parse_header(const std::string& line,
                                             const fs::path& path) {
    auto bad = [&path](const std::string& what) {
      return Status::Corruption("cold segment " + path.string() +
                                " line 1: " + what);
    };
    StatusOr<json> header_json = parse_json(line);
    if (!header_json.ok() || !header_json->is_object()) {
      return bad("not a JSON object");
    }
    json j = std::move(*header_json);
    if (j.value("format", "") != kFormat) {
      return bad("not a Kalam segment header");
    }
    auto version = j.find("version");
    if (version == j.end() || !version->is_number_integer() ||
        version->get<int64_t>() < kOldestVersion ||
        version->get<int64_t>() > kVersion) {
      return bad(
          "segment format version " +
          (version == j.end() ? std::string("missing") : version->dump()) +
          "; this engine reads versions " + std::to_string(kOldestVersion) +
          " to " + std::to_string(kVersion));
    }
    auto records = j.find("records");
    if (records == j.end() || !records->is_number_unsigned()) {
      return bad("\"records\" is missing or not a count");
    }
    auto ns = j.find("namespace");
    auto table = j.find("table");
    auto table_id = j.find("table_id");
    if (ns == j.end() || !ns->is_string() || table == j.end() ||
        !table->is_string() || table_id == j.end() ||
        !table_id->is_number_unsigned()) {
      return bad("\"namespace\", \"table\" or \"table_id\" is missing");
    }
    ParsedHeader parsed{.header = {.ns = ns->get<std::string>(),
                                   .table = table->get<std::string>(),
                                   .table_id = table_id->get<uint64_t>(),
                                   .records = records->get<uint64_t>()}};
    if (auto user = j.find("user_base64"); user != j.end()) {
      auto decoded =
          user->is_string()
              ? base64_decode(user->get<std::string>())
              : StatusOr<std::string>(Status::InvalidArgument("not a string"));
      if (!decoded.ok()) return bad("\"user_base64\" is not base64");
      parsed.header.user = std::move(*decoded);
    }
    if (version->get<int64_t>() >= 2) {
      auto crc = j.find("crc32");
      if (crc == j.end() || !crc->is_number_unsigned() ||
          crc->get<uint64_t>() > UINT32_MAX) {
        return bad("\"crc32\" is missing or not a CRC-32");
      }
      parsed.crc32 = static_cast<uint32_t>(crc->get<uint64_t>());
    }
    return parsed;
  }

  // The subdirectories of `dir` (none when it does not exist); a listing
  // error goes to `ec`.
  static std::vector<fs::path> subdirs(const fs::path& dir,
                                       std::error_code& ec) {
    std::vector<fs::path> out;
    std::error_code local;
    if (!fs::is_directory(dir, local)) return out;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_directory(type_ec)) out.push_back(it->path());
    }
    return out;
  }

  // Lists the segments of one partition directory into `out`. `place` is
  // the table the directory belongs to; `user_dir` its user directory's
  // name (nullopt: shared). A segment whose header does not parse or does
  // not match its place is listed with `damage` set.
  Status list_partition(const fs::path& dir, const ColdPartition& place,
                        const std::optional<std::string>& user_dir,
                        std::vector<ColdSegmentInfo>* out) {
    KALAM_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, segment_seqs(dir));
    for (uint64_t seq : seqs) {
      const fs::path path = dir / seq_name(seq);
      ColdSegmentInfo info{
          .partition = place, .seq = seq, .location = path.string()};
      // Until the header says who it belongs to: the directory's name.
      info.partition.user = user_dir;
      auto opened = open_file(path, /*verify=*/false);
      if (!opened.ok()) {
        if (opened.status().code() != Code::kCorruption) {
          return opened.status();
        }
        info.damage = opened.status();
        out->push_back(std::move(info));
        continue;
      }
      const Header& header = opened->header;
      ColdPartition claimed = place;
      claimed.user = header.user;
      if (header.ns != place.ns || header.table != place.table ||
          header.table_id != place.table_id) {
        info.damage = Status::Corruption(
            "cold segment " + path.string() + " claims table " + header.ns +
            "." + header.table + " (id " + std::to_string(header.table_id) +
            ") but lies among the segments of " + place.ns + "." + place.table +
            " (id " + std::to_string(place.table_id) + ")");
      } else if (header.user.has_value() != user_dir.has_value() ||
                 (header.user && user_dir_name(*header.user) != *user_dir)) {
        info.damage = Status::Corruption(
            "cold segment " + path.string() +
            (header.user ? " holds the rows of user '" +
                               printable_user(*header.user) + "'"
                         : std::string(" is a shared table segment")) +
            " but lies in " +
            (user_dir ? "the directory of user '" + *user_dir + "'"
                      : std::string("the shared directory")) +
            " (moved or copied there?)");
      } else {
        info.partition = std::move(claimed);
      }
      out->push_back(std::move(info));
    }
    return Status::OK();
  }

  fs::path table_dir(const ColdPartition& p) const {
    return root_ / p.ns / (p.table + "-" + std::to_string(p.table_id));
  }

  fs::path partition_dir(const ColdPartition& p) const {
    if (!p.user) return table_dir(p) / "shared";
    return table_dir(p) / "users" / user_dir_name(*p.user);
  }

  // Creates `dir` and its missing parents, fsync'ing each parent of a new
  // directory so the new entries survive a crash.
  Status make_dirs(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return Status::OK();
    std::vector<fs::path> created;
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec);
         p = p.parent_path()) {
      created.push_back(p);
      if (p == p.parent_path()) break;
    }
    fs::create_directories(dir, ec);
    if (ec) return io_error("create directory " + dir.string(), ec);
    for (const fs::path& p : created) {
      KALAM_RETURN_IF_ERROR(
          fsync_path(p.parent_path(), O_RDONLY | O_DIRECTORY));
    }
    return Status::OK();
  }

  // The sequence numbers of the segments in `dir`, ascending.
  static StatusOr<std::vector<uint64_t>> segment_seqs(const fs::path& dir) {
    std::vector<uint64_t> seqs;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return seqs;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (auto seq = parse_seq_name(it->path().filename().string())) {
        seqs.push_back(*seq);
      }
    }
    if (ec) return io_error("list " + dir.string(), ec);
    std::sort(seqs.begin(), seqs.end());
    return seqs;
  }

  const fs::path root_;
  // Serialises writers (write_segment, replace_segments, drop_table,
  // clear): sequence numbers are read-then-write.
  std::mutex write_mu_;
  // Held exclusively while replace_segments unlinks the old segments, and
  // shared while readers list and open segment files.
  std::shared_mutex files_mu_;
  std::atomic<uint64_t> tmp_counter_{0};

  // Segments whose checksum was verified, by path, with the file's stamp
  // then (segments are immutable: a changed stamp means a changed file).
  struct FileStamp {
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  std::mutex verified_mu_;
  std::map<std::string, FileStamp> verified_;

  // Drops the verified stamps of paths starting with `prefix` (removed
  // files: the map stays as large as the store).
  void forget_verified(const std::string& prefix) {
    std::lock_guard lock(verified_mu_);
    for (auto it = verified_.lower_bound(prefix);
         it != verified_.end() && it->first.starts_with(prefix);) {
      it = verified_.erase(it);
    }
  }
};

}  // namespace

StatusOr<std::vector<ColdSegmentInfo>> ColdStore::list_segments() {
  return Status::NotSupported(
      "this cold store cannot list its segments (ColdStore::list_segments), "
      "so its cold tier cannot be copied or checked");
}

StatusOr<std::unique_ptr<ColdSegmentReader>> ColdStore::open_segment(
    const ColdSegmentInfo& segment) {
  return Status::NotSupported("this cold store cannot open segment " +
                              segment.location +
                              " on its own (ColdStore::open_segment)");
}

std::shared_ptr<ColdStore> json_lines_cold_store(std::filesystem::path root) {
  return std::make_shared<JsonLinesColdStore>(std::move(root));
}

}  // namespace kalam::tables
