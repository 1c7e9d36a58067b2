// Test support: a throwaway etcd cluster. N members (3 by default) of
// Debian's /usr/bin/etcd, each with its own data directory in a fresh temp
// dir, on free 127.0.0.1 ports (never 2379/2380), a bounded wait until every
// member reports healthy, and a stop by PID (SIGKILL, then a bounded wait
// for the exit) on every path: the destructor, and PR_SET_PDEATHSIG so the
// members die with the test process even if that is killed.
//
// Options: TLS on the client URLs (a throwaway CA and server certificate
// made with openssl in the temp dir, optionally client-certificate auth),
// and extra etcd flags (e.g. --quota-backend-bytes). Members can be killed
// (any signal) and restarted on their ports and data; etcdctl() runs the
// Debian etcdctl against the cluster (v3 API).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kalam::test {

struct EtcdClusterOptions {
  int members = 3;
  // https client URLs with a throwaway CA (ca_file(), see below).
  bool tls = false;
  // With tls: clients must present a certificate signed by the CA
  // (client_cert_file()/client_key_file()).
  bool client_cert_auth = false;
  // More etcd flags for every member, e.g. "--quota-backend-bytes=...".
  std::vector<std::string> extra_flags;
};

class EtcdCluster {
 public:
  static constexpr const char* kEtcd = "/usr/bin/etcd";
  static constexpr const char* kEtcdctl = "/usr/bin/etcdctl";

  explicit EtcdCluster(EtcdClusterOptions options = {})
      : options_(std::move(options)) {
    if (access(kEtcd, X_OK) != 0 || access(kEtcdctl, X_OK) != 0) {
      throw std::runtime_error(
          "no /usr/bin/etcd or /usr/bin/etcdctl (scripts/install-deps.sh "
          "installs etcd-server and etcd-client)");
    }
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/kalam-etcd-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    dir_ = pattern;
    try {
      if (options_.tls) make_certificates();
      std::set<int> used;
      for (int i = 0; i < options_.members; ++i) {
        Member m;
        m.name = "m" + std::to_string(i);
        m.client_port = free_port(&used);
        m.peer_port = free_port(&used);
        members_.push_back(m);
      }
      for (int i = 0; i < options_.members; ++i) start(i, /*fresh=*/true);
      if (!wait_healthy(std::chrono::seconds(60))) {
        throw std::runtime_error(
            "the etcd cluster did not become healthy "
            "within 60 s; see the logs in " +
            dir_.string() + " (kept)");
      }
    } catch (...) {
      stop_all();
      throw;  // the temp dir is kept for its logs
    }
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;
  ~EtcdCluster() {
    stop_all();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int size() const { return static_cast<int>(members_.size()); }
  const std::filesystem::path& dir() const { return dir_; }
  // "127.0.0.1:port,..." of every member (the plugin's `endpoints`).
  std::string endpoints() const {
    std::string out;
    for (const Member& m : members_) {
      if (!out.empty()) out += ",";
      out += "127.0.0.1:" + std::to_string(m.client_port);
    }
    return out;
  }
  std::string endpoint(int i) const {
    return "127.0.0.1:" + std::to_string(members_.at(i).client_port);
  }
  pid_t pid(int i) const { return members_.at(i).pid; }
  std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  std::string client_cert_file() const {
    return (dir_ / "client.pem").string();
  }
  std::string client_key_file() const {
    return (dir_ / "client-key.pem").string();
  }

  // Sends `sig` to member i and waits (bounded) for it to exit.
  void kill(int i, int sig = SIGKILL) {
    Member& m = members_.at(i);
    if (m.pid <= 0) return;
    ::kill(m.pid, sig);
    reap(m, std::chrono::seconds(20));
  }
  // Starts member i again on its ports and data directory.
  void restart(int i) { start(i, /*fresh=*/false); }
  bool running(int i) const { return members_.at(i).pid > 0; }

  // The index of the member that is leader, or -1 (asks every running
  // member; bounded by etcdctl's own timeouts).
  int leader() const {
    for (int i = 0; i < size(); ++i) {
      if (members_[i].pid <= 0) continue;
      std::string out;
      if (etcdctl({"--endpoints=" + endpoint(i), "endpoint", "status"}, &out,
                  /*all=*/false) != 0) {
        continue;
      }
      // "127.0.0.1:port, id, version, size, IS LEADER, IS LEARNER, ..."
      std::vector<std::string> fields;
      std::stringstream line(out);
      std::string field;
      while (std::getline(line, field, ',')) {
        fields.push_back(field.substr(field.find_first_not_of(' ')));
      }
      if (fields.size() > 4 && fields[4] == "true") return i;
    }
    return -1;
  }

  // Waits until every running member reports healthy; false after `limit`.
  bool wait_healthy(std::chrono::seconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string running;
      for (int i = 0; i < size(); ++i) {
        if (members_[i].pid <= 0) continue;
        if (!running.empty()) running += ",";
        running += endpoint(i);
      }
      std::string out;
      if (!running.empty() &&
          etcdctl({"--endpoints=" + running, "--command-timeout=2s", "endpoint",
                   "health"},
                  &out, /*all=*/false) == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Runs etcdctl (ETCDCTL_API=3) with `args`, against every member unless
  // `all` is false (then args name --endpoints), with the TLS flags when
  // the cluster has TLS and `extra_env` user/password when given. Returns
  // the exit code; stdout and stderr go to *out.
  int etcdctl(std::vector<std::string> args, std::string* out = nullptr,
              bool all = true) const {
    std::vector<std::string> argv = {kEtcdctl};
    if (all) argv.push_back("--endpoints=" + endpoints());
    if (options_.tls) {
      argv.push_back("--cacert=" + ca_file());
      if (options_.client_cert_auth) {
        argv.push_back("--cert=" + client_cert_file());
        argv.push_back("--key=" + client_key_file());
      }
    }
    if (!user_.empty()) argv.push_back("--user=" + user_);
    for (std::string& a : args) argv.push_back(std::move(a));
    const std::filesystem::path log =
        dir_ / ("etcdctl-" + std::to_string(++etcdctl_runs_) + ".out");
    const pid_t child = spawn(argv, log.string(), {"ETCDCTL_API=3"});
    int status = 0;
    // etcdctl's own --command-timeout (5 s default) bounds it; 60 s more.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (waitpid(child, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(child, SIGKILL);
        waitpid(child, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    if (out != nullptr) *out = text.str();
    std::error_code ec;
    std::filesystem::remove(log, ec);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // etcdctl() runs as this user ("name:password") from now on ("" = none).
  void set_etcdctl_user(std::string user) { user_ = std::move(user); }

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
  };

  std::string scheme() const { return options_.tls ? "https" : "http"; }

  void start(int i, bool fresh) {
    Member& m = members_.at(i);
    if (m.pid > 0) return;
    std::string cluster;
    for (const Member& o : members_) {
      if (!cluster.empty()) cluster += ",";
      cluster += o.name + "=http://127.0.0.1:" + std::to_string(o.peer_port);
    }
    const std::string client_url =
        scheme() + "://127.0.0.1:" + std::to_string(m.client_port);
    const std::string peer_url =
        "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::vector<std::string> argv = {
        kEtcd,
        "--name=" + m.name,
        "--data-dir=" + (dir_ / m.name).string(),
        "--listen-client-urls=" + client_url,
        "--advertise-client-urls=" + client_url,
        "--listen-peer-urls=" + peer_url,
        "--initial-advertise-peer-urls=" + peer_url,
        "--initial-cluster=" + cluster,
        "--initial-cluster-state=" + std::string(fresh ? "new" : "existing"),
        "--initial-cluster-token=kalam-test-" + dir_.filename().string(),
        "--logger=zap",
        "--log-outputs=stderr",
        "--log-level=warn",
    };
    if (options_.tls) {
      argv.push_back("--cert-file=" + (dir_ / "server.pem").string());
      argv.push_back("--key-file=" + (dir_ / "server-key.pem").string());
      if (options_.client_cert_auth) {
        argv.push_back("--client-cert-auth");
        argv.push_back("--trusted-ca-file=" + ca_file());
      }
    }
    for (const std::string& f : options_.extra_flags) argv.push_back(f);
    m.pid = spawn(argv, (dir_ / (m.name + ".log")).string(), {});
  }

  // The CA, a server certificate for 127.0.0.1 and a client certificate,
  // all throwaway (openssl, in the temp dir).
  void make_certificates() {
    const std::string d = dir_.string();
    const std::vector<std::vector<std::string>> steps = {
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
         "2", "-subj", "/CN=kalam-test-ca", "-keyout", d + "/ca-key.pem",
         "-out", d + "/ca.pem"},
        {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
         "/CN=127.0.0.1", "-keyout", d + "/server-key.pem", "-out",
         d + "/server.csr"},
        {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA",
         d + "/ca.pem", "-CAkey", d + "/ca-key.pem", "-CAcreateserial", "-days",
         "2", "-extfile", d + "/server.ext", "-out", d + "/server.pem"},
        {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
         "/CN=kalam-client", "-keyout", d + "/client-key.pem", "-out",
         d + "/client.csr"},
        {"openssl", "x509", "-req", "-in", d + "/client.csr", "-CA",
         d + "/ca.pem", "-CAkey", d + "/ca-key.pem", "-CAcreateserial", "-days",
         "2", "-extfile", d + "/client.ext", "-out", d + "/client.pem"},
    };
    {
      std::ofstream ext(dir_ / "server.ext");
      ext << "subjectAltName=IP:127.0.0.1\n"
             "extendedKeyUsage=serverAuth,clientAuth\n";
      std::ofstream cext(dir_ / "client.ext");
      cext << "extendedKeyUsage=clientAuth\n";
    }
    for (const auto& step : steps) {
      const pid_t child = spawn(step, (dir_ / "openssl.log").string(), {});
      int status = 0;
      waitpid(child, &status, 0);  // openssl ends by itself (no network)
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(
            "openssl failed making test certificates; "
            "see " +
            (dir_ / "openssl.log").string());
      }
    }
  }

  static int free_port(std::set<int>* used) {
    for (int attempt = 0; attempt < 100; ++attempt) {
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
      if (port != 0 && port != 2379 && port != 2380 &&
          used->insert(port).second) {
        return port;
      }
    }
    throw std::runtime_error("could not find a free loopback port");
  }

  static pid_t spawn(const std::vector<std::string>& args,
                     const std::string& log,
                     const std::vector<std::string>& env) {
    std::vector<char*> argv;
    for (const std::string& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
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
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(125);
      for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
      execvp(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  static void reap(Member& m, std::chrono::seconds limit) {
    if (m.pid <= 0) return;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(m.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(m.pid, SIGKILL);
        waitpid(m.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m.pid = -1;
  }

  // SIGKILL: the data is thrown away, and a graceful stop (SIGTERM) costs
  // seconds per member (leadership transfer, peers gone).
  void stop_all() {
    for (Member& m : members_) {
      if (m.pid > 0) ::kill(m.pid, SIGKILL);
    }
    for (Member& m : members_) reap(m, std::chrono::seconds(20));
  }

  EtcdClusterOptions options_;
  std::filesystem::path dir_;
  std::vector<Member> members_;
  std::string user_;
  mutable int etcdctl_runs_ = 0;
};

}  // namespace kalam::test
