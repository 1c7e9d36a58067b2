// kalam-pg-fixture: runs one command against a throwaway PostgreSQL server.
//
//   kalam-pg-fixture [--set name=value]... <command> [args...]
//
// --set passes a server setting (postgres -c name=value).
// Starts a server (tests/support/postgres_server.h), replaces @CONNINFO@ in
// every argument with its libpq connection string (also exported as
// KALAM_PG_CONNINFO), runs the command, stops the server by PID and exits
// with the command's exit code. ctest uses it to run kalam-conformance and
// the CLI against the PostgreSQL plugin.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "postgres_server.h"
#include "run_substituted.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kalam-pg-fixture <command> [args...] (@CONNINFO@ is "
                 "replaced by the server's connection string)\n";
    return 2;
  }
  int first = 1;
  std::vector<std::string> settings;
  while (first + 1 < argc && std::string(argv[first]) == "--set") {
    settings.emplace_back(argv[first + 1]);
    first += 2;
  }
  if (first >= argc) {
    std::cerr << "kalam-pg-fixture: no command given\n";
    return 2;
  }
  try {
    kalam::test::PostgresServer server(settings);
    const std::string conninfo = server.conninfo();
    setenv("KALAM_PG_CONNINFO", conninfo.c_str(), 1);
    // The server is stopped by PID when `server` goes out of scope.
    return kalam::test::run_substituted(argc, argv, first, "@CONNINFO@",
                                        conninfo, "kalam-pg-fixture");
  } catch (const std::exception& e) {
    std::cerr << "kalam-pg-fixture: " << e.what() << "\n";
    return 2;
  }
}
