#include "case_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace kalam::conformance {

std::string one_line(const ::testing::TestPartResult& part) {
  std::string text;
  if (part.failed() && part.file_name() != nullptr) {
    text = std::filesystem::path(part.file_name()).filename().string() + ":" +
           std::to_string(part.line_number()) + ": ";
  }
  for (char c : std::string(part.message())) {
    if (c == '\n') {
      text += " | ";
    } else if (c == '\t') {
      text += ' ';
    } else {
      text += c;
    }
  }
  return text;
}

namespace {

std::string case_name_of(const ::testing::TestInfo& info) {
  const std::string name = info.name();  // "<Case>/<label>"
  return name.substr(0, name.find('/'));
}

}  // namespace

CaseResult result_of(const ::testing::TestInfo& info) {
  const ::testing::TestResult& result = *info.result();
  CaseResult row{case_name_of(info), "passed", "",
                 static_cast<double>(result.elapsed_time()) / 1000.0};
  if (result.Skipped()) {
    row.result = "skipped";
  } else if (result.Failed()) {
    row.result = "failed";
  }
  for (int i = 0; i < result.total_part_count(); ++i) {
    const auto& part = result.GetTestPartResult(i);
    if ((part.skipped() || part.failed()) && row.detail.empty()) {
      row.detail = one_line(part);
    }
  }
  return row;
}

namespace {

// In the child: reports each failing part as it happens (so a crash later in
// the case still shows what failed before it) and the result at the end, one
// line each: "part\t<detail>" and "end\t<result>\t<detail>".
class PipeReporter : public ::testing::EmptyTestEventListener {
 public:
  explicit PipeReporter(int fd) : fd_(fd) {}
  void OnTestPartResult(const ::testing::TestPartResult& part) override {
    if (part.failed() || part.skipped()) send("part\t" + one_line(part));
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    const CaseResult row = result_of(info);
    send("end\t" + row.result + "\t" + row.detail);
  }

 private:
  void send(std::string line) {
    line += '\n';
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  int fd_;
};

[[noreturn]] void child_main(int fd, const std::string& full_name) {
  // Its own process group, so a timeout kills whatever the case started;
  // and it dies with the runner (e.g. when ctest kills the runner).
  setpgid(0, 0);
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  GTEST_FLAG_SET(filter, full_name);
  ::testing::UnitTest::GetInstance()->listeners().Append(new PipeReporter(fd));
  const int rc = RUN_ALL_TESTS();
  std::cout.flush();
  std::fflush(nullptr);
  // No static destructors: the parent process owns them.
  _exit(rc == 0 ? 0 : 1);
}

// Parses the child's lines into `row`. Returns whether an "end" line came.
bool parse_lines(const std::string& text, CaseResult* row) {
  bool ended = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a line cut by a crash
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("part\t", 0) == 0) {
      if (row->detail.empty()) row->detail = line.substr(5);
    } else if (line.rfind("end\t", 0) == 0) {
      const std::string rest = line.substr(4);
      const size_t tab = rest.find('\t');
      row->result = rest.substr(0, tab);
      if (tab != std::string::npos && !rest.substr(tab + 1).empty()) {
        row->detail = rest.substr(tab + 1);
      }
      ended = true;
    }
  }
  return ended;
}

void drain(int fd, std::string* out) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return;  // EOF, EAGAIN or an error: nothing more now
  }
}

}  // namespace

CaseResult run_case_in_child(const std::string& full_name,
                             const std::string& case_name,
                             std::chrono::seconds timeout) {
  using Clock = std::chrono::steady_clock;
  CaseResult row{case_name, "failed", "", 0};
  int fds[2];
  if (pipe(fds) != 0) {
    row.detail = std::string("cannot create a pipe: ") + std::strerror(errno);
    return row;
  }
  std::cout.flush();
  std::fflush(nullptr);
  const auto started = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    row.detail = std::string("cannot fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return row;
  }
  if (pid == 0) {
    close(fds[0]);
    child_main(fds[1], full_name);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  // Read until the child exits or the deadline passes (not until EOF: a
  // process the case started may hold the pipe open).
  std::string text;
  int wstatus = 0;
  bool timed_out = false;
  const auto deadline = started + timeout;
  for (;;) {
    const pid_t done = waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    poll(&p, 1, 50);
    drain(fds[0], &text);
  }
  drain(fds[0], &text);
  close(fds[0]);
  // Whatever the case started and left behind goes with it.
  kill(-pid, SIGKILL);
  row.seconds = std::chrono::duration<double>(Clock::now() - started).count();

  const bool ended = parse_lines(text, &row);
  std::string what;
  if (timed_out) {
    what = "timed out after " + std::to_string(timeout.count()) +
           " s (the case's process was killed; the plugin hangs)";
  } else if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    what =
        "crashed: signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  } else if (!ended) {
    what = "the case's process exited with status " +
           std::to_string(WEXITSTATUS(wstatus)) +
           " before the case finished (the plugin called exit?)";
  }
  if (!what.empty()) {
    row.result = "failed";
    row.detail =
        row.detail.empty() ? what : what + "; before that: " + row.detail;
    std::cout << "[  ABORTED ] " << full_name << ": " << what << "\n";
  }
  return row;
}

}  // namespace kalam::conformance
