// Test support: a throwaway PostgreSQL server. initdb into a fresh temp dir,
// `postgres` on a free 127.0.0.1 port (never 5432) with its unix socket in
// the temp dir, scram-sha-256 password authentication, a bounded wait until
// it accepts connections, and a stop by PID (SIGINT, then SIGKILL after a
// bounded wait) on every path: the destructor, and PR_SET_PDEATHSIG so the
// server dies with the test process even if that is killed.
//
// With Tls::kOnly the server speaks TLS only: the fixture generates, with
// the `openssl` command, a throwaway CA and a server certificate for
// 127.0.0.1 and localhost signed by it (plus a second, unrelated CA for
// "wrong CA" tests), sets ssl=on, and its pg_hba.conf has `hostssl` lines
// only, so a connection without TLS is refused. have_openssl() says whether
// that can be done here.
//
// PostgreSQL refuses to run as root: as root, the server runs as the
// unprivileged user `postgres` (Debian's package creates it) or else
// `nobody`, and the temp dir is handed to that user.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kalam::test {

class PostgresServer {
 public:
  static constexpr const char* kUser = "kalam";
  static constexpr const char* kPassword = "kalam-test-password";

  enum class Tls { kOff, kOnly };

  // True when the `openssl` command is on PATH (Tls::kOnly needs it).
  static bool have_openssl() {
    return std::system("openssl version >/dev/null 2>&1") == 0;
  }

  // `extra` settings go on the postgres command line (-c name=value).
  explicit PostgresServer(std::vector<std::string> extra = {},
                          Tls tls = Tls::kOff)
      : extra_(std::move(extra)), tls_(tls) {
    bindir_ = find_bindir();
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/kalam-pg-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    dir_ = pattern;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) pw = getpwnam("nobody");
      if (pw == nullptr) {
        throw std::runtime_error(
            "running as root and there is no 'postgres' or 'nobody' user to "
            "run the PostgreSQL server as");
      }
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      user_name_ = pw->pw_name;
      if (chown(dir_.c_str(), uid_, gid_) != 0) {
        throw std::runtime_error("chown " + dir_.string() + " failed");
      }
    }
    {
      std::ofstream pw(dir_ / "pwfile");
      pw << kPassword << "\n";
    }
    if (geteuid() == 0 && chown((dir_ / "pwfile").c_str(), uid_, gid_) != 0) {
      throw std::runtime_error("chown pwfile failed");
    }
    const int rc = run_as_server_user(
        {bindir_ + "/initdb", "-D", data_dir().string(), "-U", kUser,
         "--pwfile=" + (dir_ / "pwfile").string(), "-A", "scram-sha-256", "-E",
         "UTF8", "--locale=C", "--no-sync"},
        dir_ / "initdb.log");
    if (rc != 0) {
      throw std::runtime_error("initdb failed (exit " + std::to_string(rc) +
                               "); see " + (dir_ / "initdb.log").string());
    }
    if (tls_ == Tls::kOnly) set_up_tls();
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      if (start()) return;
    }
    throw std::runtime_error("the PostgreSQL server did not start; see " +
                             (dir_ / "server.log").string());
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  ~PostgresServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path data_dir() const { return dir_ / "data"; }
  // A libpq connection string for the test user.
  std::string conninfo(const std::string& password = kPassword) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kUser +
           " password=" + password + " dbname=postgres connect_timeout=5";
  }

  // Tls::kOnly: the CA that signed the server's certificate, and another
  // CA that did not (PEM files).
  std::filesystem::path ca_file() const { return dir_ / "tls" / "ca.crt"; }
  std::filesystem::path other_ca_file() const {
    return dir_ / "tls" / "other-ca.crt";
  }

  // Starts the server on port() (again). True once it accepts connections
  // (bounded wait), false if it exited or did not come up.
  bool start() {
    const std::string log = (dir_ / "server.log").string();
    std::vector<std::string> args = {
        bindir_ + "/postgres",        "-D", data_dir().string(),   "-p",
        std::to_string(port_),        "-k", dir_.string(),         "-c",
        "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c",
        "shared_buffers=32MB"};
    if (tls_ == Tls::kOnly) {
      for (const std::string& e :
           {std::string("ssl=on"),
            "ssl_cert_file=" + (dir_ / "tls" / "server.crt").string(),
            "ssl_key_file=" + (dir_ / "tls" / "server.key").string()}) {
        args.push_back("-c");
        args.push_back(e);
      }
    }
    for (const std::string& e : extra_) {
      args.push_back("-c");
      args.push_back(e);
    }
    pid_ = spawn(args, log, /*die_with_parent=*/true);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) +
                             " dbname=postgres connect_timeout=2";
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (PQping(ping.c_str()) == PQPING_OK) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    return false;
  }

  // Stops the server by PID: SIGINT (fast shutdown), SIGKILL after 20 s.
  void stop() { signal_and_wait(SIGINT, std::chrono::seconds(20)); }
  // kill -9 of the postmaster; its backends exit when they notice.
  void kill9() { signal_and_wait(SIGKILL, std::chrono::seconds(20)); }

  // Runs one SQL command as the test user; "" on success, else the error.
  std::string sql(const std::string& command) const {
    PGconn* conn = PQconnectdb(conninfo().c_str());
    std::string error;
    if (PQstatus(conn) != CONNECTION_OK) {
      error = PQerrorMessage(conn);
    } else {
      PGresult* r = PQexec(conn, command.c_str());
      const ExecStatusType st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        error = PQresultErrorMessage(r);
      }
      PQclear(r);
    }
    PQfinish(conn);
    return error;
  }

 private:
  // A CA, a server certificate for 127.0.0.1 and localhost signed by it,
  // another CA, and a pg_hba.conf that admits TLS connections only. Run as
  // the server's user, so the key is its own and private (the server
  // refuses a key others can read).
  void set_up_tls() {
    if (!have_openssl()) {
      throw std::runtime_error(
          "the `openssl` command is missing (scripts/install-deps.sh "
          "installs it); a TLS server cannot be set up");
    }
    const std::filesystem::path tls = dir_ / "tls";
    std::filesystem::create_directory(tls);
    if (geteuid() == 0 && chown(tls.c_str(), uid_, gid_) != 0) {
      throw std::runtime_error("chown " + tls.string() + " failed");
    }
    {
      std::ofstream ext(tls / "san.ext");
      ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    }
    const std::string t = tls.string() + "/";
    const std::filesystem::path log = dir_ / "openssl.log";
    const std::vector<std::vector<std::string>> steps = {
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
         "2", "-subj", "/CN=Kalam test CA", "-keyout", t + "ca.key", "-out",
         t + "ca.crt"},
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
         "2", "-subj", "/CN=Some other CA", "-keyout", t + "other-ca.key",
         "-out", t + "other-ca.crt"},
        {"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
         "/CN=localhost", "-keyout", t + "server.key", "-out",
         t + "server.csr"},
        {"openssl", "x509", "-req", "-in", t + "server.csr", "-CA",
         t + "ca.crt", "-CAkey", t + "ca.key", "-CAcreateserial", "-days", "2",
         "-extfile", t + "san.ext", "-out", t + "server.crt"},
    };
    for (const auto& step : steps) {
      std::vector<std::string> args = step;
      args[0] = find_on_path("openssl");
      const int rc = run_as_server_user(args, log);
      if (rc != 0) {
        throw std::runtime_error("openssl " + step[1] + " failed (exit " +
                                 std::to_string(rc) + "); see " + log.string());
      }
    }
    std::ofstream hba(data_dir() / "pg_hba.conf", std::ios::trunc);
    hba << "# TLS only (tests/support/postgres_server.h, Tls::kOnly)\n"
           "local all all scram-sha-256\n"
           "hostssl all all 127.0.0.1/32 scram-sha-256\n";
  }

  static std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream in(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(in, dir, ':')) {
      const std::string candidate = dir + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "/usr/bin/" + name;
  }

  static std::string find_bindir() {
    if (const char* env = std::getenv("KALAM_PG_BINDIR")) return env;
    std::string best;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::string bin = entry.path().string() + "/bin";
      if (std::filesystem::exists(bin + "/initdb") && bin > best) best = bin;
    }
    if (best.empty()) {
      throw std::runtime_error(
          "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
          "(scripts/install-deps.sh installs postgresql-15), and "
          "KALAM_PG_BINDIR is not set");
    }
    return best;
  }

  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    if (port == 0 || port == 5432) {
      throw std::runtime_error("could not find a free loopback port");
    }
    return port;
  }

  pid_t spawn(const std::vector<std::string>& args, const std::string& log,
              bool die_with_parent) const {
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (geteuid() == 0) {
        if (fd >= 0 && fchown(fd, uid_, gid_) != 0) _exit(126);
        if (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 ||
            setuid(uid_) != 0) {
          _exit(126);
        }
      }
      // After setuid, which clears it.
      if (die_with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(125);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  int run_as_server_user(const std::vector<std::string>& args,
                         const std::filesystem::path& log) const {
    const pid_t pid = spawn(args, log.string(), true);
    int status = 0;
    // initdb takes a few seconds; bounded by ctest's timeout as well.
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void signal_and_wait(int sig, std::chrono::seconds limit) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  std::vector<std::string> extra_;
  Tls tls_ = Tls::kOff;
  std::string bindir_;
  std::filesystem::path dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string user_name_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kalam::test
