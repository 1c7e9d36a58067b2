// One Kalam write as the ops of one etcd Txn. etcd refuses a Txn that puts
// one key twice or puts a key inside one of its own delete ranges
// ("duplicate key given in txn request"); a Kalam write may do both (a later
// op on the same key wins). collapse() turns the ops, in order, into the
// equivalent set etcd accepts: the last put or delete of each key, the
// delete ranges merged and split around the keys put after them.
#pragma once

#include <string>
#include <vector>

namespace kalam::etcd_plugin {

struct PhysicalOp {
  enum Type { kPut, kDelete, kDeleteRange };
  Type type = kPut;
  std::string key;    // the etcd key (namespaced); a range's inclusive begin
  std::string value;  // kPut: the value; kDeleteRange: the exclusive end
};

// The ops etcd accepts in one Txn with the effect of applying `ops` in
// order: no key put twice, no put inside a delete range, no empty range
// (end <= begin, which etcd would read as "to the end of the keyspace").
std::vector<PhysicalOp> collapse(std::vector<PhysicalOp> ops);

}  // namespace kalam::etcd_plugin
