// kalam-etcd-fixture: runs one command against a throwaway 3-member etcd
// cluster.
//
//   kalam-etcd-fixture [--flag <etcd flag>]... <command> [args...]
//
// Starts the cluster (tests/support/etcd_cluster.h), replaces @ENDPOINTS@
// in every argument with its client addresses (also exported as
// KALAM_ETCD_ENDPOINTS), runs the command, stops the members by PID and
// exits with the command's exit code. ctest uses it to run kalam-conformance
// and the CLI against the etcd plugin.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "etcd_cluster.h"
#include "run_substituted.h"

int main(int argc, char** argv) {
  int first = 1;
  kalam::test::EtcdClusterOptions options;
  while (first + 1 < argc && std::string(argv[first]) == "--flag") {
    options.extra_flags.emplace_back(argv[first + 1]);
    first += 2;
  }
  if (first >= argc) {
    std::cerr << "usage: kalam-etcd-fixture [--flag <etcd flag>]... <command> "
                 "[args...] (@ENDPOINTS@ is replaced by the cluster's "
                 "client addresses)\n";
    return 2;
  }
  try {
    kalam::test::EtcdCluster cluster(options);
    const std::string endpoints = cluster.endpoints();
    setenv("KALAM_ETCD_ENDPOINTS", endpoints.c_str(), 1);
    // The members are stopped by PID when `cluster` goes out of scope.
    return kalam::test::run_substituted(argc, argv, first, "@ENDPOINTS@",
                                        endpoints, "kalam-etcd-fixture");
  } catch (const std::exception& e) {
    std::cerr << "kalam-etcd-fixture: " << e.what() << "\n";
    return 2;
  }
}
