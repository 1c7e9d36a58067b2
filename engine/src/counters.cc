#include "counters.h"

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "manifest.h"

namespace kalam {

namespace {

// In the order of CounterCells::Field.
constexpr std::array<EngineCounterField, detail::CounterCells::kFieldCount>
    kFields = {{
        {"puts", &EngineCounters::puts, "keys written (put and batch puts)"},
        {"deletes", &EngineCounters::deletes,
         "keys deleted (del and batch deletes)"},
        {"delete_ranges", &EngineCounters::delete_ranges,
         "delete-range ops in batches"},
        {"batches", &EngineCounters::batches, "write batches applied"},
        {"bytes_written", &EngineCounters::bytes_written,
         "key and value bytes of applied writes"},
        {"gets", &EngineCounters::gets, "keys looked up"},
        {"get_hits", &EngineCounters::get_hits, "lookups that found the key"},
        {"get_bytes", &EngineCounters::get_bytes,
         "value bytes returned by lookups"},
        {"iterators", &EngineCounters::iterators, "iterators created"},
        {"iterator_entries", &EngineCounters::iterator_entries,
         "entries iterators landed on"},
        {"errors", &EngineCounters::errors,
         "calls that failed (not counting NOT_FOUND)"},
    }};

// Every member of EngineCounters is a uint64_t listed above (operator==,
// operator+= and the counters file rely on it).
static_assert(sizeof(EngineCounters) == kFields.size() * sizeof(uint64_t));

constexpr const char* kCountersFormat = "kalam.counters";
constexpr int kCountersVersion = 1;
// The file is a few hundred bytes; anything much larger is not one.
constexpr std::streamsize kMaxCountersFileSize = 64 * 1024;

}  // namespace

EngineCounters& EngineCounters::operator+=(const EngineCounters& other) {
  for (const auto& field : kFields) this->*field.member += other.*field.member;
  return *this;
}

bool operator==(const EngineCounters& a, const EngineCounters& b) {
  for (const auto& field : kFields) {
    if (a.*field.member != b.*field.member) return false;
  }
  return true;
}

Span<const EngineCounterField> engine_counter_fields() { return kFields; }

namespace detail {

EngineCounters CounterCells::read() const {
  EngineCounters out;
  for (size_t i = 0; i < kFields.size(); ++i) {
    out.*kFields[i].member = cells_[i].load(std::memory_order_relaxed);
  }
  return out;
}

StoredCounters read_stored_counters(const std::filesystem::path& data_dir,
                                    std::string* damaged) {
  const std::filesystem::path file = data_dir / kCountersFileName;
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};  // none stored yet
  std::string text(kMaxCountersFileSize + 1, '\0');
  in.read(text.data(), kMaxCountersFileSize + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  auto fail = [&](const std::string& why) {
    if (damaged != nullptr) *damaged = file.string() + " " + why;
    return StoredCounters{};
  };
  if (in.bad()) return fail("cannot be read");
  if (text.size() > static_cast<size_t>(kMaxCountersFileSize)) {
    return fail("is larger than a counters file can be");
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("format") ||
      j["format"] != kCountersFormat) {
    return fail("is not a kalam.counters JSON object");
  }
  if (!j.contains("version") || !j["version"].is_number_unsigned() ||
      j["version"].get<uint64_t>() > kCountersVersion) {
    return fail("has an unknown version");
  }
  StoredCounters out;
  auto number = [&](const nlohmann::json& object, const char* name,
                    uint64_t* value) {
    const auto it = object.find(name);
    if (it == object.end()) return true;  // a field added later
    if (!it->is_number_unsigned()) return false;
    *value = it->get<uint64_t>();
    return true;
  };
  const auto totals = j.find("totals");
  if (!number(j, "opens", &out.opens) ||
      !number(j, "clean_closes", &out.clean_closes) ||
      !number(j, "unclean_shutdowns", &out.unclean_shutdowns) ||
      !j.contains("open") || !j["open"].is_boolean() || totals == j.end() ||
      !totals->is_object()) {
    return fail("is missing a field or has one of the wrong type");
  }
  out.open = j["open"].get<bool>();
  for (const auto& field : kFields) {
    if (!number(*totals, field.name, &(out.totals.*field.member))) {
      return fail(std::string("has a bad totals.") + field.name);
    }
  }
  return out;
}

Status write_stored_counters(const std::filesystem::path& data_dir,
                             const StoredCounters& counters) {
  nlohmann::json totals = nlohmann::json::object();
  for (const auto& field : kFields) {
    totals[field.name] = counters.totals.*field.member;
  }
  const nlohmann::json j = {{"format", kCountersFormat},
                            {"version", kCountersVersion},
                            {"open", counters.open},
                            {"opens", counters.opens},
                            {"clean_closes", counters.clean_closes},
                            {"unclean_shutdowns", counters.unclean_shutdowns},
                            {"totals", totals}};
  return write_file_atomically(data_dir / kCountersFileName, j.dump(2) + "\n",
                               /*sync=*/false);
}

}  // namespace detail
}  // namespace kalam
