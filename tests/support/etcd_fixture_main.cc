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
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "etcd_cluster.h"

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
    std::vector<std::string> args;
    for (int i = first; i < argc; ++i) {
      std::string arg = argv[i];
      for (size_t at = arg.find("@ENDPOINTS@"); at != std::string::npos;
           at = arg.find("@ENDPOINTS@", at + endpoints.size())) {
        arg.replace(at, 11, endpoints);
      }
      args.push_back(arg);
    }
    std::vector<char*> child_argv;
    for (std::string& a : args) child_argv.push_back(a.data());
    child_argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      std::cerr << "kalam-etcd-fixture: fork failed\n";
      return 2;
    }
    if (pid == 0) {
      execvp(child_argv[0], child_argv.data());
      std::cerr << "kalam-etcd-fixture: cannot run " << child_argv[0] << "\n";
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    // The members are stopped by PID when `cluster` goes out of scope.
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  } catch (const std::exception& e) {
    std::cerr << "kalam-etcd-fixture: " << e.what() << "\n";
    return 2;
  }
}
