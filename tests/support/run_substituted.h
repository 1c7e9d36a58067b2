// Test support for the server fixtures (kalam-pg-fixture,
// kalam-etcd-fixture): runs a command with a placeholder replaced by the
// running server's address in every argument.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace kalam::test {

// Runs argv[first..argc) with every `placeholder` in each argument replaced
// by `value`, waits for it, and returns its exit code (128 + signal when a
// signal ended it; 2 when it could not be started, 127 when exec failed).
// `who` names the fixture in messages.
inline int run_substituted(int argc, char** argv, int first,
                           std::string_view placeholder,
                           const std::string& value, const char* who) {
  std::vector<std::string> args;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    for (size_t at = arg.find(placeholder); at != std::string::npos;
         at = arg.find(placeholder, at + value.size())) {
      arg.replace(at, placeholder.size(), value);
    }
    args.push_back(arg);
  }
  std::vector<char*> child_argv;
  for (std::string& a : args) child_argv.push_back(a.data());
  child_argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::cerr << who << ": fork failed\n";
    return 2;
  }
  if (pid == 0) {
    execvp(child_argv[0], child_argv.data());
    std::cerr << who << ": cannot run " << child_argv[0] << "\n";
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace kalam::test
