// The interactive `kalam sql` shell (libedit) driven through a pseudo-
// terminal, as a person at a terminal uses it: the banner and prompt, a
// statement typed and its rows, a statement over two lines, a statement
// recalled from the history (Ctrl-P) and run again, Ctrl-D on an empty line
// leaving with exit code 0, and the history file written at the end and
// read by the next shell.
// Every wait is bounded; the child is killed (by its PID) on a timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

// A child process on the slave side of a pseudo-terminal.
class PtyChild {
 public:
  // Starts `argv` with the pty as its controlling terminal and standard
  // input, output and error; `env` replaces the environment.
  PtyChild(const std::vector<std::string>& argv,
           const std::vector<std::string>& env) {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) {
      error_ = std::string("posix_openpt: ") + std::strerror(errno);
      return;
    }
    const char* slave_name = ptsname(master_);
    if (slave_name == nullptr) {
      error_ = "ptsname failed";
      return;
    }
    const std::string slave_path = slave_name;
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) {
      error_ = std::string("fork: ") + std::strerror(errno);
      return;
    }
    if (pid_ == 0) {
      // The child: only async-signal-safe calls until exec.
      setsid();
      const int slave = open(slave_path.c_str(), O_RDWR);
      if (slave < 0) _exit(126);
      ioctl(slave, TIOCSCTTY, 0);
      struct winsize size = {};
      size.ws_row = 40;
      size.ws_col = 200;
      ioctl(slave, TIOCSWINSZ, &size);
      dup2(slave, 0);
      dup2(slave, 1);
      dup2(slave, 2);
      if (slave > 2) close(slave);
      close(master_);
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
  }

  ~PtyChild() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }

  const std::string& error() const { return error_; }

  void type(const std::string& keys) {
    size_t done = 0;
    while (done < keys.size()) {
      const ssize_t n = write(master_, keys.data() + done, keys.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ASSERT_GT(n, 0) << "write to the pty: " << std::strerror(errno);
      done += static_cast<size_t>(n);
    }
  }

  // Reads until what was read since `from` contains `text` (true), or
  // until the end of output or `timeout` (false). Everything read is kept
  // in output().
  bool wait_for(const std::string& text, size_t from,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = Clock::now() + timeout;
    while (output_.find(text, from) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }

  // Reads until the child closes its side of the pty (bounded).
  void read_to_end(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (read_some(deadline)) {
    }
  }

  // Waits (bounded) for the child to exit: its exit code, or -1 when it did
  // not exit in time (it is killed) or ended by a signal.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(20 * 1000);
    }
    return -1;
  }

  // Waits (bounded) until the terminal is out of canonical mode, i.e. the
  // line editor reads each key itself: true, or false at the deadline.
  bool wait_line_editing(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      termios mode{};
      if (tcgetattr(master_, &mode) == 0 && (mode.c_lflag & ICANON) == 0) {
        return true;
      }
      usleep(5 * 1000);
    }
    return false;
  }
  const std::string& output() const { return output_; }
  size_t mark() const { return output_.size(); }

 private:
  // One read with a deadline: false at the end of output or the deadline.
  bool read_some(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) return false;
    struct pollfd p = {master_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buffer[4096];
    const ssize_t n = read(master_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;  // EIO: the child closed the slave side
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int master_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string error_;
  std::string output_;
};

TEST(SqlShellPtyTest, TypedStatementsHistoryAndCtrlD) {
  const auto backends = persistent_backends();
  if (backends.empty()) GTEST_SKIP() << "no persistent backend built";
  TempDir dir;
  const std::string config = write_config(dir, "db", backends.front());
  auto ok = [&](std::vector<std::string> args) {
    args.push_back("--config");
    args.push_back(config);
    CliResult r = run_kalam(dir, args);
    ASSERT_EQ(r.exit_code, 0) << r;
  };
  ok({"ns", "create", "app"});
  ok({"table", "create", "app.notes", "--kind", "user", "--column", "id:int64",
      "--column", "title:string", "--primary-key", "id"});
  ok({"insert", "app.notes", "--user", "alice",
      R"({"id": 1, "title": "first note"})",
      R"({"id": 2, "title": "second note"})"});
  ok({"insert", "app.notes", "--user", "bob",
      R"({"id": 3, "title": "bob's note"})"});

  const std::filesystem::path home = dir / "home";
  std::filesystem::create_directories(home);
  PtyChild shell({KALAM_CLI_PATH, "sql", "--user", "alice", "--config", config},
                 {"HOME=" + home.string(), "TERM=dumb", "LANG=C"});
  ASSERT_EQ(shell.error(), "");

  ASSERT_TRUE(shell.wait_for("kalam> ", 0)) << shell.output();
  EXPECT_THAT(shell.output(), HasSubstr("user 'alice' session"));

  // One statement, typed and run.
  size_t from = shell.mark();
  shell.type("SELECT id, title FROM app.notes WHERE id = 2;\r");
  ASSERT_TRUE(shell.wait_for("second note", from)) << shell.output();
  ASSERT_TRUE(shell.wait_for("kalam> ", from)) << shell.output();
  EXPECT_THAT(shell.output().substr(from), HasSubstr("id | title"));

  // A statement over two lines: the continuation prompt, then the rows
  // (alice's only).
  from = shell.mark();
  shell.type("SELECT count(*) AS n\r");
  ASSERT_TRUE(shell.wait_for("...> ", from)) << shell.output();
  from = shell.mark();
  shell.type("FROM app.notes;\r");
  ASSERT_TRUE(shell.wait_for("kalam> ", from)) << shell.output();
  EXPECT_THAT(shell.output().substr(from), HasSubstr("\r\n2"));

  // The history: Ctrl-P three times (one per line typed) recalls the first
  // statement; Enter runs it again.
  from = shell.mark();
  shell.type("\x10\x10\x10");
  ASSERT_TRUE(shell.wait_for("WHERE id = 2;", from)) << shell.output();
  from = shell.mark();
  shell.type("\r");
  ASSERT_TRUE(shell.wait_for("second note", from)) << shell.output();
  ASSERT_TRUE(shell.wait_for("kalam> ", from)) << shell.output();

  // Ctrl-D on an empty line: the shell leaves, exit code 0. libedit prints
  // its prompt before it turns the terminal's canonical mode off; a Ctrl-D
  // typed in between is taken by the terminal, not by libedit (seen under
  // load: the line then holds it and later Ctrl-Ds only ring the bell), so
  // wait until libedit reads the terminal itself.
  ASSERT_TRUE(shell.wait_line_editing(std::chrono::seconds(20)))
      << shell.output();
  shell.type("\x04");
  shell.read_to_end(std::chrono::seconds(20));
  EXPECT_EQ(shell.wait_exit(std::chrono::seconds(20)), 0) << shell.output();
  EXPECT_THAT(shell.output(), ::testing::Not(HasSubstr("bob's note")));

  // The history file holds the lines typed (libedit's format: a header,
  // one line per entry, spaces written as \040).
  const std::string history = read_file(home / ".kalam_sql_history");
  EXPECT_THAT(history, ::testing::StartsWith("_HiStOrY_V2_\n"));
  EXPECT_THAT(history, HasSubstr("WHERE\\040id\\040=\\0402;\n"));
  EXPECT_THAT(history, HasSubstr("\nFROM\\040app.notes;\n"));

  // The next shell starts with that history: Ctrl-P recalls the last
  // statement, and it runs.
  PtyChild again({KALAM_CLI_PATH, "sql", "--user", "alice", "--config", config},
                 {"HOME=" + home.string(), "TERM=dumb", "LANG=C"});
  ASSERT_EQ(again.error(), "");
  ASSERT_TRUE(again.wait_for("kalam> ", 0)) << again.output();
  from = again.mark();
  again.type("\x10");
  ASSERT_TRUE(again.wait_for("WHERE id = 2;", from)) << again.output();
  from = again.mark();
  again.type("\r");
  ASSERT_TRUE(again.wait_for("second note", from)) << again.output();
  ASSERT_TRUE(again.wait_for("kalam> ", from)) << again.output();
  again.type("\x04");
  again.read_to_end(std::chrono::seconds(20));
  EXPECT_EQ(again.wait_exit(std::chrono::seconds(20)), 0) << again.output();
}

}  // namespace
}  // namespace kalam::test
