#include "etcd_db.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include "etcd_batch.h"
#include "etcd_iter.h"

namespace kalam::etcd_plugin {
namespace {

// Bounded retries of the catalog's compare-and-swap (a lost race re-reads).
constexpr int kCatalogAttempts = 64;

std::string view(const void* data, size_t len) {
  return len == 0 ? std::string()
                  : std::string(static_cast<const char*>(data), len);
}

uint32_t decode_id(const std::string& value, bool* ok) {
  *ok = value.size() == 4;
  if (!*ok) return 0;
  return (uint32_t{static_cast<unsigned char>(value[0])} << 24) |
         (uint32_t{static_cast<unsigned char>(value[1])} << 16) |
         (uint32_t{static_cast<unsigned char>(value[2])} << 8) |
         uint32_t{static_cast<unsigned char>(value[3])};
}

std::string random_namespace() {
  std::random_device device;
  std::mt19937_64 rng((uint64_t{device()} << 32) ^ device());
  static const char kHex[] = "0123456789abcdef";
  std::string ns = "kalam/";
  for (int i = 0; i < 16; ++i) ns.push_back(kHex[rng() % 16]);
  ns.push_back('/');
  return ns;
}

// The namespace of the database at `path`: read from its namespace file, or
// (create) a new one written there. KALAM_NOT_FOUND when there is none.
int path_namespace(const std::string& path, bool create, std::string* out,
                   Error& err) {
  namespace fs = std::filesystem;
  const fs::path file = fs::path(path) / kNamespaceFileName;
  std::error_code ec;
  if (fs::exists(file, ec)) {
    std::ifstream in(file);
    std::string ns;
    std::getline(in, ns);
    if (!in || ns.empty()) {
      return fail(err, KALAM_CORRUPTION,
                  "etcd plugin: " + file.string() +
                      " does not hold a namespace; restore it or give the "
                      "option 'namespace'");
    }
    *out = ns;
    return KALAM_OK;
  }
  if (!create) {
    return fail(err, KALAM_NOT_FOUND,
                "etcd plugin: no database at " + path + " (no " +
                    kNamespaceFileName + ")");
  }
  fs::create_directories(path, ec);
  if (ec) {
    return fail(err, KALAM_IO_ERROR,
                "etcd plugin: cannot create " + path + ": " + ec.message(),
                ec.value());
  }
  const std::string ns = random_namespace();
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::trunc);
    o << ns << "\n";
    o.flush();
    if (!o) {
      return fail(err, KALAM_IO_ERROR,
                  "etcd plugin: cannot write " + tmp.string());
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    return fail(
        err, KALAM_IO_ERROR,
        "etcd plugin: cannot rename " + tmp.string() + ": " + ec.message(),
        ec.value());
  }
  *out = ns;
  return KALAM_OK;
}

pb::Compare* add_compare(pb::TxnRequest* txn, const std::string& key,
                         pb::Compare::CompareTarget target,
                         pb::Compare::CompareResult result) {
  pb::Compare* c = txn->add_compare();
  c->set_key(key);
  c->set_target(target);
  c->set_result(result);
  return c;
}

}  // namespace

std::string encode_id(uint32_t id) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(id >> 24);
  out[1] = static_cast<char>(id >> 16);
  out[2] = static_cast<char>(id >> 8);
  out[3] = static_cast<char>(id);
  return out;
}

// ---- Open and close ---------------------------------------------------------

int Database::open(const kalam_open_params& params,
                   std::unique_ptr<Database>* out, Error& err) {
  if (params.flags & ~(KALAM_OPEN_CREATE_IF_MISSING | KALAM_OPEN_READ_ONLY)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: open: unknown flags");
  }
  if (params.flags & KALAM_OPEN_READ_ONLY) {
    return fail(err, KALAM_NOT_SUPPORTED,
                "etcd plugin: open: read-only opens are not supported (give "
                "the etcd user a read-only role instead)");
  }
  const bool create = (params.flags & KALAM_OPEN_CREATE_IF_MISSING) != 0;
  std::unique_ptr<Database> db(new Database());
  int rc = parse_options(params, &db->options_, err);
  if (rc != KALAM_OK) return rc;
  if (db->options_.ns_given) {
    db->ns_ = db->options_.ns;
  } else {
    if (params.path == nullptr || params.path[0] == '\0') {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "etcd plugin: open: no path and no option 'namespace'; the "
                  "namespace is recorded in the data directory");
    }
    rc = path_namespace(params.path, create, &db->ns_, err);
    if (rc != KALAM_OK) return rc;
  }
  rc = Client::connect(db->options_, &db->client_, err);
  if (rc != KALAM_OK) return rc;

  // The database marker: absent means no database in this namespace.
  const std::string marker = db->ns_ + "m";
  for (int attempt = 0; attempt < 2; ++attempt) {
    pb::RangeRequest get;
    get.set_key(marker);
    get.set_serializable(db->options_.serializable);
    pb::RangeResponse got;
    rc = db->client_->range(get, &got, err);
    if (rc != KALAM_OK) return rc;
    if (got.kvs_size() == 1) {
      if (got.kvs(0).value() != kFormatMarker) {
        return fail(err, KALAM_CORRUPTION,
                    "etcd plugin: key '" + marker + "' holds '" +
                        got.kvs(0).value() + "', not '" + kFormatMarker +
                        "': namespace '" + db->ns_ +
                        "' is not a Kalam etcd database of this format");
      }
      break;
    }
    if (!create) {
      return fail(err, KALAM_NOT_FOUND,
                  "etcd plugin: no database in namespace '" + db->ns_ +
                      "' of " + db->client_->endpoint_list());
    }
    if (attempt == 1) {
      return fail(err, KALAM_INTERNAL,
                  "etcd plugin: the database marker vanished right after "
                  "it was created; is another process deleting namespace '" +
                      db->ns_ + "'?");
    }
    pb::TxnRequest txn;
    add_compare(&txn, marker, pb::Compare::VERSION, pb::Compare::EQUAL)
        ->set_version(0);
    pb::RequestOp* put = txn.add_success();
    put->mutable_request_put()->set_key(marker);
    put->mutable_request_put()->set_value(kFormatMarker);
    put = txn.add_success();
    put->mutable_request_put()->set_key(db->ns_ + "n");
    put->mutable_request_put()->set_value("1");
    pb::TxnResponse done;
    rc = db->client_->txn(txn, &done, true, "open (create)", err);
    if (rc != KALAM_OK) return rc;
    // Created here or by a concurrent opener: read it back either way.
  }
  db->default_family_ = db->add_family(0, "default", 0);
  *out = std::move(db);
  return KALAM_OK;
}

int Database::close(Error& err) {
  const int64_t iterators = live_iterators_.load();
  const int64_t snapshots = live_snapshots_.load();
  if (iterators > 0 || snapshots > 0) {
    return fail(err, KALAM_BUSY,
                "etcd plugin: close: " + std::to_string(iterators) +
                    " iterator(s) and " + std::to_string(snapshots) +
                    " snapshot(s) are still alive; destroy them first");
  }
  return KALAM_OK;
}

// ---- Column families --------------------------------------------------------

Family* Database::add_family(uint32_t id, const std::string& name,
                             int64_t catalog_revision) {
  auto family = std::make_unique<Family>();
  family->db = this;
  family->id = id;
  family->name = name;
  family->catalog_revision = catalog_revision;
  family->prefix = ns_ + "d" + encode_id(id);
  family->end = id == UINT32_MAX ? ns_ + "e" : ns_ + "d" + encode_id(id + 1);
  Family* raw = family.get();
  families_.push_back(std::move(family));
  families_by_name_[name] = raw;
  return raw;
}

Family* Database::remember_family(uint32_t id, const std::string& name,
                                  int64_t catalog_revision) {
  std::lock_guard<std::mutex> lock(families_mutex_);
  // Another thread may have opened the same family meanwhile: one handle
  // per family.
  auto it = families_by_name_.find(name);
  if (it != families_by_name_.end() && !it->second->dropped.load() &&
      it->second->id == id &&
      it->second->catalog_revision == catalog_revision) {
    return it->second;
  }
  return add_family(id, name, catalog_revision);
}

int Database::resolve(kalam_cf* handle, Family** out, Error& err) {
  Family* family =
      handle == nullptr ? default_family_ : reinterpret_cast<Family*>(handle);
  if (family->dropped.load(std::memory_order_acquire)) {
    return fail(
        err, KALAM_DROPPED,
        "etcd plugin: column family '" + family->name + "' was dropped");
  }
  *out = family;
  return KALAM_OK;
}

int Database::find_family(const std::string& name, bool create, Family** out,
                          Error& err) {
  const std::string catalog = catalog_key(name);
  const std::string counter = ns_ + "n";
  for (int attempt = 0; attempt < kCatalogAttempts; ++attempt) {
    // One read of the catalog entry and the id counter, at one revision.
    pb::TxnRequest read;
    read.add_success()->mutable_request_range()->set_key(catalog);
    read.add_success()->mutable_request_range()->set_key(counter);
    pb::TxnResponse state;
    int rc = client_->txn(read, &state, false, "cf_open", err);
    if (rc != KALAM_OK) return rc;
    const pb::RangeResponse& entry = state.responses(0).response_range();
    const pb::RangeResponse& next = state.responses(1).response_range();
    if (entry.kvs_size() == 1) {
      bool ok = false;
      const uint32_t id = decode_id(entry.kvs(0).value(), &ok);
      if (!ok || id == 0) {
        return fail(err, KALAM_CORRUPTION,
                    "etcd plugin: catalog key of column family '" + name +
                        "' does not hold a 4-byte id");
      }
      *out = remember_family(id, name, entry.kvs(0).create_revision());
      return KALAM_OK;
    }
    if (!create) {
      return fail(err, KALAM_NOT_FOUND,
                  "etcd plugin: no column family '" + name + "'");
    }
    if (next.kvs_size() != 1) {
      return fail(err, KALAM_CORRUPTION,
                  "etcd plugin: the id counter '" + counter +
                      "' is missing in namespace '" + ns_ + "'");
    }
    uint64_t id = 0;
    const std::string& text = next.kvs(0).value();
    auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id == 0 ||
        id > UINT32_MAX) {
      return fail(
          err, KALAM_CORRUPTION,
          "etcd plugin: the id counter '" + counter + "' holds '" + text + "'");
    }
    // Allocate: the counter unchanged and the name still free.
    pb::TxnRequest txn;
    add_compare(&txn, counter, pb::Compare::MOD, pb::Compare::EQUAL)
        ->set_mod_revision(next.kvs(0).mod_revision());
    add_compare(&txn, catalog, pb::Compare::VERSION, pb::Compare::EQUAL)
        ->set_version(0);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(counter);
    put->set_value(std::to_string(id + 1));
    put = txn.add_success()->mutable_request_put();
    put->set_key(catalog);
    put->set_value(encode_id(static_cast<uint32_t>(id)));
    pb::TxnResponse done;
    rc = client_->txn(txn, &done, true, "cf_open (create)", err);
    if (rc != KALAM_OK) return rc;
    if (done.succeeded()) {
      *out = remember_family(static_cast<uint32_t>(id), name,
                             done.header().revision());
      return KALAM_OK;
    }
    // Lost a race with another creator: read again.
  }
  return fail(err, KALAM_BUSY,
              "etcd plugin: cf_open: could not allocate an id for '" + name +
                  "' after " + std::to_string(kCatalogAttempts) +
                  " attempts (other processes creating families)");
}

int Database::cf_open(const char* name, uint32_t flags, kalam_cf** out,
                      Error& err) {
  if (name == nullptr || name[0] == '\0' || out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: cf_open: name must be non-empty and out_cf "
                "non-NULL");
  }
  if (flags & ~KALAM_CF_CREATE_IF_MISSING) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: cf_open: unknown flags");
  }
  const std::string n(name);
  if (n == "default") {
    *out = nullptr;
    return KALAM_OK;
  }
  {
    std::lock_guard<std::mutex> lock(families_mutex_);
    auto it = families_by_name_.find(n);
    if (it != families_by_name_.end() && !it->second->dropped.load()) {
      *out = reinterpret_cast<kalam_cf*>(it->second);
      return KALAM_OK;
    }
  }
  Family* family = nullptr;
  const int rc =
      find_family(n, (flags & KALAM_CF_CREATE_IF_MISSING) != 0, &family, err);
  if (rc != KALAM_OK) return rc;
  *out = reinterpret_cast<kalam_cf*>(family);
  return KALAM_OK;
}

int Database::cf_drop(kalam_cf* cf, Error& err) {
  if (cf == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: cf_drop: the default column family cannot be "
                "dropped");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  // One txn: the catalog entry (if it is still this family's) and the data.
  const std::string catalog = catalog_key(family->name);
  pb::TxnRequest txn;
  add_compare(&txn, catalog, pb::Compare::CREATE, pb::Compare::EQUAL)
      ->set_create_revision(family->catalog_revision);
  txn.add_success()->mutable_request_delete_range()->set_key(catalog);
  auto* range = txn.add_success()->mutable_request_delete_range();
  range->set_key(family->prefix);
  range->set_range_end(family->end);
  pb::TxnResponse done;
  rc = client_->txn(txn, &done, true, "cf_drop", err);
  if (rc != KALAM_OK) return rc;
  family->dropped.store(true, std::memory_order_release);
  if (!done.succeeded()) {
    return fail(err, KALAM_DROPPED,
                "etcd plugin: column family '" + family->name +
                    "' was already dropped (by another process)");
  }
  return KALAM_OK;
}

int Database::cf_list(kalam_name_visitor visit, void* ctx, Error& err) {
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: cf_list: visit is NULL");
  }
  pb::RangeRequest request;
  request.set_key(ns_ + "c");
  request.set_range_end(ns_ + "d");
  request.set_keys_only(true);
  pb::RangeResponse response;
  const int rc = client_->range(request, &response, err);
  if (rc != KALAM_OK) return rc;
  visit(ctx, "default");
  const size_t skip = ns_.size() + 1;
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    visit(ctx, kv.key().substr(skip).c_str());
  }
  return KALAM_OK;
}

// ---- Reads ------------------------------------------------------------------

int Database::check_key(const void* key, size_t len, const char* what,
                        Error& err) const {
  if (key == nullptr && len > 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                std::string("etcd plugin: ") + what + ": key is NULL");
  }
  if (len > kMaxKeySize) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                std::string("etcd plugin: ") + what + ": key of " +
                    std::to_string(len) + " bytes is over the maximum of " +
                    std::to_string(kMaxKeySize));
  }
  return KALAM_OK;
}

std::string Database::data_key(const Family& family, const void* key,
                               size_t len) const {
  std::string out = family.prefix;
  if (len > 0) out.append(static_cast<const char*>(key), len);
  return out;
}

int Database::snapshot_revision(const kalam_read_options* options, int64_t* out,
                                Error& err) {
  *out = 0;
  if (options == nullptr) return KALAM_OK;
  if (!KALAM_PLUGIN_COVERS(options, snapshot)) return KALAM_OK;
  if (options->snapshot == nullptr) return KALAM_OK;
  const Snapshot* snap = reinterpret_cast<const Snapshot*>(options->snapshot);
  if (snap->db != this) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: the snapshot belongs to another database");
  }
  *out = snap->revision;
  return KALAM_OK;
}

int Database::current_revision(int64_t* out, Error& err) {
  pb::RangeRequest request;
  request.set_key(ns_ + "m");
  request.set_count_only(true);
  request.set_serializable(options_.serializable);
  pb::RangeResponse response;
  const int rc = client_->range(request, &response, err);
  if (rc != KALAM_OK) return rc;
  *out = response.header().revision();
  return KALAM_OK;
}

int Database::get(const kalam_read_options* options, kalam_cf* cf,
                  const void* key, size_t key_len, kalam_value_visitor visit,
                  void* ctx, Error& err) {
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT, "etcd plugin: get: visit is NULL");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  rc = check_key(key, key_len, "get", err);
  if (rc != KALAM_OK) return rc;
  int64_t revision = 0;
  rc = snapshot_revision(options, &revision, err);
  if (rc != KALAM_OK) return rc;
  if (key_len == 0) return KALAM_NOT_FOUND;
  pb::RangeRequest request;
  request.set_key(data_key(*family, key, key_len));
  request.set_revision(revision);
  request.set_serializable(options_.serializable);
  pb::RangeResponse response;
  rc = client_->range(request, &response, err);
  if (rc != KALAM_OK) return rc;
  if (response.kvs_size() == 0) return KALAM_NOT_FOUND;
  const std::string& value = response.kvs(0).value();
  visit(ctx, value.data(), value.size());
  return KALAM_OK;
}

int Database::get_into(const kalam_read_options* options, kalam_cf* cf,
                       const void* key, size_t key_len, void* buf,
                       size_t buf_size, size_t* value_len, Error& err) {
  if (value_len == nullptr || (buf == nullptr && buf_size > 0)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: get_into: value_len is NULL, or buf is NULL "
                "with a size");
  }
  std::string value;
  const int rc = get(
      options, cf, key, key_len,
      [](void* c, const void* v, size_t len) {
        static_cast<std::string*>(c)->assign(static_cast<const char*>(v), len);
      },
      &value, err);
  if (rc != KALAM_OK) return rc;
  if (value.size() > buf_size) {
    *value_len = value.size();
    return fail(err, KALAM_BUFFER_TOO_SMALL,
                "etcd plugin: get_into: the value has " +
                    std::to_string(value.size()) + " bytes, the buffer " +
                    std::to_string(buf_size));
  }
  if (!value.empty()) std::memcpy(buf, value.data(), value.size());
  *value_len = value.size();
  return KALAM_OK;
}

int Database::read_points(const std::vector<std::string>& keys,
                          int64_t* revision,
                          std::vector<const mvccpb::KeyValue*>* found,
                          std::vector<pb::TxnResponse>* holders, Error& err) {
  found->assign(keys.size(), nullptr);
  const size_t chunk =
      static_cast<size_t>(std::max<int64_t>(options_.max_txn_ops, 1));
  holders->reserve((keys.size() + chunk - 1) / chunk);
  for (size_t first = 0; first < keys.size(); first += chunk) {
    const size_t last = std::min(keys.size(), first + chunk);
    pb::TxnRequest txn;
    for (size_t i = first; i < last; ++i) {
      auto* range = txn.add_success()->mutable_request_range();
      range->set_key(keys[i]);
      range->set_revision(*revision);
    }
    holders->emplace_back();
    pb::TxnResponse& response = holders->back();
    const int rc = client_->txn(txn, &response, false, "multi_get", err);
    if (rc != KALAM_OK) return rc;
    if (*revision == 0) *revision = response.header().revision();
    if (response.responses_size() != static_cast<int>(last - first)) {
      return fail(err, KALAM_INTERNAL,
                  "etcd plugin: multi_get: the txn answered " +
                      std::to_string(response.responses_size()) + " of " +
                      std::to_string(last - first) + " reads");
    }
    for (size_t i = first; i < last; ++i) {
      const pb::RangeResponse& r =
          response.responses(static_cast<int>(i - first)).response_range();
      if (r.kvs_size() > 0) (*found)[i] = &r.kvs(0);
    }
  }
  return KALAM_OK;
}

int Database::multi_get(const kalam_read_options* options, size_t count,
                        kalam_cf* const* cfs, const void* const* keys,
                        const size_t* key_lens, kalam_multi_get_visitor visit,
                        void* ctx, Error& err) {
  if (visit == nullptr ||
      (count > 0 && (keys == nullptr || key_lens == nullptr))) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: multi_get: visit, keys or key_lens is NULL");
  }
  int64_t revision = 0;
  int rc = snapshot_revision(options, &revision, err);
  if (rc != KALAM_OK) return rc;
  // Per-key problems are that key's code; the rest are read together.
  std::vector<int> codes(count, KALAM_OK);
  std::vector<std::string> etcd_keys;
  std::vector<size_t> index_of;
  for (size_t i = 0; i < count; ++i) {
    Family* family = nullptr;
    Error key_err;
    rc = resolve(cfs == nullptr ? nullptr : cfs[i], &family, key_err);
    if (rc == KALAM_OK)
      rc = check_key(keys[i], key_lens[i], "multi_get", key_err);
    if (rc == KALAM_OK && key_lens[i] == 0) rc = KALAM_NOT_FOUND;
    codes[i] = rc;
    if (rc == KALAM_OK) {
      etcd_keys.push_back(data_key(*family, keys[i], key_lens[i]));
      index_of.push_back(i);
    }
  }
  std::vector<const mvccpb::KeyValue*> found;
  std::vector<pb::TxnResponse> holders;
  std::vector<pb::RangeResponse> singles;
  if (options_.serializable) {
    // A txn is always linearizable: serializable reads go one by one,
    // pinned to the revision of the first.
    found.assign(etcd_keys.size(), nullptr);
    singles.resize(etcd_keys.size());
    for (size_t k = 0; k < etcd_keys.size(); ++k) {
      pb::RangeRequest request;
      request.set_key(etcd_keys[k]);
      request.set_revision(revision);
      request.set_serializable(true);
      rc = client_->range(request, &singles[k], err);
      if (rc != KALAM_OK) return rc;
      if (revision == 0) revision = singles[k].header().revision();
      if (singles[k].kvs_size() > 0) found[k] = &singles[k].kvs(0);
    }
  } else if (!etcd_keys.empty()) {
    rc = read_points(etcd_keys, &revision, &found, &holders, err);
    if (rc != KALAM_OK) return rc;
  }
  size_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    if (codes[i] != KALAM_OK) {
      visit(ctx, i, codes[i], nullptr, 0);
      continue;
    }
    const mvccpb::KeyValue* kv = found[next++];
    if (kv == nullptr) {
      visit(ctx, i, KALAM_NOT_FOUND, nullptr, 0);
    } else {
      visit(ctx, i, KALAM_OK, kv->value().data(), kv->value().size());
    }
  }
  return KALAM_OK;
}

// ---- Writes -----------------------------------------------------------------

int Database::get_limits(kalam_limits* out, Error& err) {
  if (out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: get_limits: out is NULL");
  }
  const uint64_t ops = static_cast<uint64_t>(options_.max_txn_ops);
  // Framing: every op and compare carries a namespaced key (twice for a
  // range) and a few bytes of protobuf; 64 KiB more for the rest.
  const uint64_t framing =
      (uint64_t{64} << 10) + 2 * ops * 2 * (ns_.size() + 5 + 16);
  const uint64_t request = static_cast<uint64_t>(options_.max_request_bytes);
  if (KALAM_PLUGIN_COVERS(out, max_write_ops)) out->max_write_ops = ops;
  if (KALAM_PLUGIN_COVERS(out, max_write_bytes)) {
    out->max_write_bytes = request > framing ? request - framing : 1;
  }
  if (KALAM_PLUGIN_COVERS(out, max_expectations)) {
    out->max_expectations = ops > kGuardReserve ? ops - kGuardReserve : 1;
  }
  return KALAM_OK;
}

int Database::write(const kalam_write_options* options,
                    const kalam_expectation* expects, size_t expect_count,
                    const kalam_write_op* ops, size_t op_count, Error& err) {
  const char* what = expect_count > 0 ? "write_conditional" : "write";
  if (options == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                std::string("etcd plugin: ") + what + ": options is NULL");
  }
  if (options->flags & ~KALAM_WRITE_SYNC) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                std::string("etcd plugin: ") + what + ": unknown flags");
  }
  if (op_count > 0 &&
      (ops == nullptr || !KALAM_PLUGIN_COVERS(options, op_stride) ||
       options->op_stride < sizeof(kalam_write_op))) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                std::string("etcd plugin: ") + what +
                    ": ops is NULL or op_stride is smaller than "
                    "kalam_write_op");
  }
  kalam_status check{};
  check.struct_size = sizeof check;
  if (kalam_plugin::check_expectations("etcd plugin", expects, expect_count,
                                       &check) != KALAM_OK) {
    return fail(err, check.code, check.message);
  }
  // Validate every op and expectation before anything is sent.
  std::vector<PhysicalOp> physical;
  physical.reserve(op_count);
  std::vector<Family*> touched;
  const auto touch = [&](Family* f) {
    if (f->id != 0 &&
        std::find(touched.begin(), touched.end(), f) == touched.end()) {
      touched.push_back(f);
    }
  };
  uint64_t bytes = 0;
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op& op = *kalam_write_op_at(ops, options->op_stride, i);
    const std::string at = std::string("etcd plugin: ") + what + ": op #" +
                           std::to_string(i) + " ";
    if (op.type != KALAM_OP_PUT && op.type != KALAM_OP_DELETE &&
        op.type != KALAM_OP_DELETE_RANGE) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  at + "has unknown type " + std::to_string(op.type) +
                      "; nothing was applied");
    }
    if (op.reserved0 != 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  at + "has reserved0 != 0; nothing was applied");
    }
    Family* family = nullptr;
    int rc = resolve(op.cf, &family, err);
    if (rc != KALAM_OK) return rc;
    touch(family);
    if (op.type != KALAM_OP_DELETE_RANGE &&
        (op.key_len == 0 || op.key == nullptr)) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  at + "has an empty key; keys are 1 or more bytes; nothing "
                       "was applied");
    }
    if ((op.key == nullptr && op.key_len > 0) ||
        (op.value == nullptr && op.value_len > 0)) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  at + "has a NULL key or value with a length; nothing was "
                       "applied");
    }
    if (op.key_len > kMaxKeySize ||
        (op.type == KALAM_OP_DELETE_RANGE && op.value_len > kMaxKeySize)) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  at + "has a key over the maximum of " +
                      std::to_string(kMaxKeySize) +
                      " bytes; nothing was "
                      "applied");
    }
    if (op.type == KALAM_OP_PUT && op.value_len > kMaxValueSize) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  at + "has a value of " + std::to_string(op.value_len) +
                      " bytes, over the maximum of " +
                      std::to_string(kMaxValueSize) + "; nothing was applied");
    }
    bytes += op.key_len + (op.type == KALAM_OP_DELETE ? 0 : op.value_len);
    PhysicalOp p;
    p.key = data_key(*family, op.key, op.key_len);
    if (op.type == KALAM_OP_PUT) {
      p.type = PhysicalOp::kPut;
      p.value = view(op.value, op.value_len);
    } else if (op.type == KALAM_OP_DELETE) {
      p.type = PhysicalOp::kDelete;
    } else {
      p.type = PhysicalOp::kDeleteRange;
      // An empty end removes nothing (end <= begin), whatever the family.
      p.value = op.value_len == 0 ? std::string()
                                  : data_key(*family, op.value, op.value_len);
    }
    physical.push_back(std::move(p));
  }
  std::vector<Family*> expect_families(expect_count, nullptr);
  for (size_t i = 0; i < expect_count; ++i) {
    const kalam_expectation& e = expects[i];
    int rc = resolve(e.cf, &expect_families[i], err);
    if (rc != KALAM_OK) return rc;
    rc = check_key(e.key, e.key_len, what, err);
    if (rc != KALAM_OK) return rc;
    touch(expect_families[i]);
    bytes += e.key_len + (e.type == KALAM_EXPECT_VALUE ? e.value_len : 0);
  }
  // The limits (get_limits()), checked before anything is sent.
  kalam_limits limits{};
  limits.struct_size = sizeof limits;
  get_limits(&limits, err);
  if (op_count > limits.max_write_ops) {
    return fail(err, KALAM_TOO_LARGE,
                std::string("etcd plugin: ") + what + ": " +
                    std::to_string(op_count) + " ops, over the limit of " +
                    std::to_string(limits.max_write_ops) +
                    " per write (etcd --max-txn-ops); nothing was applied");
  }
  if (expect_count > limits.max_expectations) {
    return fail(err, KALAM_TOO_LARGE,
                std::string("etcd plugin: ") + what + ": " +
                    std::to_string(expect_count) +
                    " expectations, over the limit of " +
                    std::to_string(limits.max_expectations) +
                    " per write; nothing was applied");
  }
  if (bytes > limits.max_write_bytes) {
    return fail(err, KALAM_TOO_LARGE,
                std::string("etcd plugin: ") + what + ": " +
                    std::to_string(bytes) +
                    " bytes of keys and values, over "
                    "the limit of " +
                    std::to_string(limits.max_write_bytes) +
                    " per write (etcd --max-request-bytes less framing); "
                    "nothing was applied");
  }
  if (op_count == 0 && expect_count == 0) return KALAM_OK;

  pb::TxnRequest txn;
  for (size_t i = 0; i < expect_count; ++i) {
    const kalam_expectation& e = expects[i];
    const std::string key = data_key(*expect_families[i], e.key, e.key_len);
    if (e.type == KALAM_EXPECT_ABSENT) {
      add_compare(&txn, key, pb::Compare::VERSION, pb::Compare::EQUAL)
          ->set_version(0);
    } else if (e.type == KALAM_EXPECT_PRESENT) {
      add_compare(&txn, key, pb::Compare::VERSION, pb::Compare::GREATER)
          ->set_version(0);
    } else {
      add_compare(&txn, key, pb::Compare::VALUE, pb::Compare::EQUAL)
          ->set_value(view(e.value, e.value_len));
    }
  }
  for (Family* f : touched) {
    add_compare(&txn, catalog_key(f->name), pb::Compare::CREATE,
                pb::Compare::EQUAL)
        ->set_create_revision(f->catalog_revision);
  }
  const std::vector<PhysicalOp> collapsed = collapse(std::move(physical));
  for (const PhysicalOp& p : collapsed) {
    pb::RequestOp* op = txn.add_success();
    switch (p.type) {
      case PhysicalOp::kPut:
        op->mutable_request_put()->set_key(p.key);
        op->mutable_request_put()->set_value(p.value);
        break;
      case PhysicalOp::kDelete:
        op->mutable_request_delete_range()->set_key(p.key);
        break;
      case PhysicalOp::kDeleteRange:
        op->mutable_request_delete_range()->set_key(p.key);
        op->mutable_request_delete_range()->set_range_end(p.value);
        break;
    }
  }
  const uint64_t max_ops = static_cast<uint64_t>(options_.max_txn_ops);
  if (static_cast<uint64_t>(txn.compare_size()) > max_ops ||
      static_cast<uint64_t>(txn.success_size()) > max_ops) {
    return fail(err, KALAM_TOO_LARGE,
                std::string("etcd plugin: ") + what + ": the write needs " +
                    std::to_string(txn.compare_size()) + " compares and " +
                    std::to_string(txn.success_size()) +
                    " ops in one etcd txn (delete ranges split around keys "
                    "put after them, one compare per column family "
                    "touched), over --max-txn-ops " +
                    std::to_string(max_ops) + "; nothing was applied");
  }
  if (txn.ByteSizeLong() > static_cast<size_t>(options_.max_request_bytes)) {
    return fail(err, KALAM_TOO_LARGE,
                std::string("etcd plugin: ") + what + ": the etcd txn has " +
                    std::to_string(txn.ByteSizeLong()) +
                    " bytes, over --max-request-bytes " +
                    std::to_string(options_.max_request_bytes) +
                    "; nothing was applied");
  }
  if (txn.success_size() == 0 && txn.compare_size() == 0) return KALAM_OK;
  pb::TxnResponse response;
  int rc = client_->txn(txn, &response, txn.success_size() > 0, what, err);
  if (rc != KALAM_OK) return rc;
  if (response.succeeded()) return KALAM_OK;

  // Something did not hold: find out what, at the revision the compares
  // were evaluated at (the txn's header revision; a failed txn writes
  // nothing). Dropped families first (they are validation errors), then
  // the expectations in index order.
  std::vector<std::string> keys;
  for (Family* f : touched) keys.push_back(catalog_key(f->name));
  for (size_t i = 0; i < expect_count; ++i) {
    keys.push_back(
        data_key(*expect_families[i], expects[i].key, expects[i].key_len));
  }
  int64_t revision = response.header().revision();
  std::vector<const mvccpb::KeyValue*> found;
  std::vector<pb::TxnResponse> holders;
  rc = read_points(keys, &revision, &found, &holders, err);
  if (rc != KALAM_OK) {
    return fail(err, KALAM_CONFLICT,
                std::string("etcd plugin: ") + what +
                    ": an expectation or a column family check did not hold "
                    "(nothing was applied), and reading which one failed: " +
                    err.message,
                0);
  }
  for (size_t t = 0; t < touched.size(); ++t) {
    if (found[t] == nullptr ||
        found[t]->create_revision() != touched[t]->catalog_revision) {
      touched[t]->dropped.store(true, std::memory_order_release);
      return fail(err, KALAM_DROPPED,
                  "etcd plugin: column family '" + touched[t]->name +
                      "' was dropped (by another process); nothing was "
                      "applied");
    }
  }
  for (size_t i = 0; i < expect_count; ++i) {
    const mvccpb::KeyValue* kv = found[touched.size() + i];
    const bool holds =
        kv == nullptr
            ? kalam_plugin::expectation_holds(expects[i], false, nullptr, 0)
            : kalam_plugin::expectation_holds(
                  expects[i], true, kv->value().data(), kv->value().size());
    if (!holds) {
      kalam_status s{};
      s.struct_size = sizeof s;
      kalam_plugin::conflict(&s, "etcd plugin", i, expects[i]);
      return fail(err, KALAM_CONFLICT, s.message, static_cast<int64_t>(i));
    }
  }
  return fail(err, KALAM_INTERNAL,
              std::string("etcd plugin: ") + what +
                  ": etcd refused the txn's compares but every expectation "
                  "holds at revision " +
                  std::to_string(revision) + "; nothing was applied");
}

// ---- Snapshots and iterators
// --------------------------------------------------

int Database::snapshot_create(kalam_snapshot** out, Error& err) {
  if (out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: snapshot_create: out is NULL");
  }
  auto snap = std::make_unique<Snapshot>();
  snap->db = this;
  const int rc = current_revision(&snap->revision, err);
  if (rc != KALAM_OK) return rc;
  live_snapshots_.fetch_add(1);
  *out = reinterpret_cast<kalam_snapshot*>(snap.release());
  return KALAM_OK;
}

void Database::snapshot_release(kalam_snapshot* snapshot) noexcept {
  if (snapshot == nullptr) return;
  delete reinterpret_cast<Snapshot*>(snapshot);
  live_snapshots_.fetch_sub(1);
}

int Database::iter_create(const kalam_iter_options* options, kalam_cf* cf,
                          kalam_iter** out, Error& err) {
  if (out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_create: out_iter is NULL");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  IterBounds bounds;
  int64_t revision = 0;
  bool reverse_hint = false;
  if (options != nullptr) {
    const uint32_t known = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                           KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;
    if (options->flags & ~known) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "etcd plugin: iter_create: unknown flags");
    }
    if (options->snapshot != nullptr) {
      const Snapshot* snap =
          reinterpret_cast<const Snapshot*>(options->snapshot);
      if (snap->db != this) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    "etcd plugin: iter_create: the snapshot belongs to "
                    "another database");
      }
      revision = snap->revision;
    }
    if (options->flags & KALAM_ITER_LOWER_BOUND) {
      if (options->lower == nullptr && options->lower_len > 0) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    "etcd plugin: iter_create: lower is NULL with a length");
      }
      bounds.has_lower = true;
      bounds.lower = view(options->lower, options->lower_len);
    }
    if (options->flags & KALAM_ITER_UPPER_BOUND) {
      if (options->upper == nullptr && options->upper_len > 0) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    "etcd plugin: iter_create: upper is NULL with a length");
      }
      bounds.has_upper = true;
      bounds.upper = view(options->upper, options->upper_len);
    }
    if (options->flags & KALAM_ITER_PREFIX) {
      // The host narrows the bounds to the prefix too; narrow them here as
      // well so a prefix alone is honoured.
      const std::string prefix = view(options->prefix, options->prefix_len);
      if (!bounds.has_lower || bounds.lower < prefix) {
        bounds.has_lower = true;
        bounds.lower = prefix;
      }
      if (auto next = kalam_plugin::prefix_successor(prefix)) {
        if (!bounds.has_upper || *next < bounds.upper) {
          bounds.has_upper = true;
          bounds.upper = *next;
        }
      }
    }
    reverse_hint = (options->flags & KALAM_ITER_REVERSE) != 0;
  }
  auto iter =
      std::make_unique<Iterator>(this, family, revision, std::move(bounds));
  live_iterators_.fetch_add(1);
  if (revision == 0) {
    // The iterator sees the data as of its creation: read its first page
    // (last, with the reverse hint) now, which fixes the revision.
    rc = iter->start(reverse_hint, err);
    if (rc != KALAM_OK) return rc;  // ~Iterator balances the count
  }
  *out = reinterpret_cast<kalam_iter*>(iter.release());
  return KALAM_OK;
}

}  // namespace kalam::etcd_plugin
