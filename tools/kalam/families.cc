#include "families.h"

#include <kalam/backend_api.h>

#include <algorithm>
#include <charconv>

#include "cli_error.h"

namespace kalam::cli {

ColumnFamily open_family(OpenedDatabase& opened, const std::string& name) {
  auto cf = opened.db->column_family(name, /*create_if_missing=*/false);
  if (cf.ok()) return *cf;
  if (cf.status().is_not_found()) {
    throw CliError(kExitFailure,
                   "unknown column family '" + name + "' in " +
                       describe_location(opened.config) +
                       "; 'kalam cf list' shows the families, 'kalam cf "
                       "create " +
                       name + "' makes one",
                   cf.status().message());
  }
  throw CliError::FromStatus("cannot open column family '" + name + "'",
                             cf.status());
}

std::vector<std::string> list_families(OpenedDatabase& opened) {
  return value_or_throw(
      opened.db->list_column_families(),
      "cannot list the column families of " + describe_location(opened.config));
}

std::vector<std::string> select_families(
    OpenedDatabase& opened, const std::vector<std::string>& requested) {
  std::vector<std::string> all = list_families(opened);
  if (requested.empty()) return all;
  std::vector<std::string> chosen;
  for (const auto& name : requested) {
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      (void)open_family(opened, name);  // throws the unknown-family error
    }
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) {
      chosen.push_back(name);
    }
  }
  return chosen;
}

bool family_is_empty(Database& db, const ColumnFamily& cf,
                     const std::string& name) {
  Iterator it = value_or_throw(db.new_iterator(cf),
                               "cannot read column family '" + name + "'");
  it.seek_to_first();
  throw_if_error(it.status(), "cannot read column family '" + name + "'");
  return !it.valid();
}

std::vector<std::string> non_empty_families(OpenedDatabase& opened) {
  std::vector<std::string> found;
  for (const auto& name : list_families(opened)) {
    if (!family_is_empty(*opened.db, open_family(opened, name), name)) {
      found.push_back(name);
    }
  }
  return found;
}

void refuse_non_empty(OpenedDatabase& destination, bool allow_non_empty,
                      std::string_view command) {
  if (allow_non_empty) return;
  const std::vector<std::string> used = non_empty_families(destination);
  if (used.empty()) return;
  throw CliError::Failure(
      std::string(command) +
      " refuses to write into a database that holds "
      "data: " +
      describe_location(destination.config) + " has data in column famil" +
      (used.size() == 1 ? "y " : "ies ") + quote_list(used) +
      "; use an empty destination, or pass --allow-non-empty to merge (keys "
      "present on both sides get the incoming values)");
}

std::optional<uint64_t> numeric_property(Database& db, const ColumnFamily& cf,
                                         const std::string& name) {
  if (!db.plugin().has(KALAM_CAP_PROPERTIES)) return std::nullopt;
  auto text = db.property(cf, name);
  if (!text.ok()) return std::nullopt;
  uint64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<uint64_t> estimate_entries(
    OpenedDatabase& opened, const std::vector<std::string>& families) {
  uint64_t total = 0;
  for (const auto& name : families) {
    auto cf = opened.db->column_family(name);
    if (!cf.ok()) return std::nullopt;
    auto n =
        numeric_property(*opened.db, *cf, KALAM_PROPERTY_ESTIMATE_NUM_KEYS);
    if (!n) return std::nullopt;
    total += *n;
  }
  return total;
}

void for_each_entry(Database& db, const ColumnFamily& cf,
                    const std::string& name, const Snapshot* snapshot,
                    const std::function<void(std::string_view key,
                                             std::string_view value)>& visit,
                    const std::function<void()>& after_batch,
                    const std::function<size_t()>& fetch_size) {
  const std::string doing = "cannot read column family '" + name + "'";
  Iterator it =
      value_or_throw(db.new_iterator(cf, {.snapshot = snapshot}), doing);
  it.seek_to_first();
  constexpr size_t kBatch = 256;
  while (it.valid()) {
    const size_t fetch =
        fetch_size ? std::clamp<size_t>(fetch_size(), 1, kBatch) : kBatch;
    auto consumed =
        it.next_batch(fetch, [&](std::string_view key, std::string_view value) {
          visit(key, value);
          return true;
        });
    throw_if_error(consumed.status(), doing);
    if (after_batch) after_batch();
    if (*consumed == 0) break;
  }
  throw_if_error(it.status(), doing);
}

std::string quote_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

}  // namespace kalam::cli
