// The PostgreSQL plugin over TLS, against a throwaway server that speaks
// TLS only (tests/support/postgres_server.h, Tls::kOnly: a CA and a server
// certificate for 127.0.0.1 made with `openssl` at test time, `hostssl`
// lines only in pg_hba.conf): sslmode=verify-full with sslrootcert works end
// to end; a certificate from another CA and a connection without TLS are
// clear errors naming the server, never a hang. Skipped, saying why, only
// when the `openssl` command is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "conformance.h"
#include "postgres_server.h"

namespace kalam::conformance {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using Options = std::map<std::string, std::string>;

class PostgresTlsTest : public ::testing::Test, public RawDatabase {
 public:
  static void SetUpTestSuite() {
    if (!test::PostgresServer::have_openssl()) return;
    server_ = new test::PostgresServer({}, test::PostgresServer::Tls::kOnly);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) {
      GTEST_SKIP() << "the `openssl` command is missing, so the fixture "
                      "cannot make a certificate (scripts/install-deps.sh "
                      "installs openssl)";
    }
  }
  void TearDown() override { close_db(); }

  // The fixture's conninfo plus `tls` (sslmode and friends).
  static std::string conninfo(const std::string& tls) {
    return server_->conninfo() + " " + tls;
  }
  std::string verify_full(const std::filesystem::path& ca) const {
    return conninfo("sslmode=verify-full sslrootcert=" + ca.string());
  }
  BackendUnderTest backend(const std::string& conninfo) const {
    return {"postgres", KALAM_TEST_PLUGIN_POSTGRES_PATH,
            Options{{"conninfo", conninfo}}};
  }
  // Opens a second database with `conninfo`, expecting a failure: its code
  // and message, and that it came back promptly.
  std::pair<int, std::string> open_failing(const std::string& conninfo) {
    kalam_db* other = nullptr;
    RawStatus status;
    const auto begin = Clock::now();
    const int rc = open_at(dir_ / "other", &other, KALAM_OPEN_CREATE_IF_MISSING,
                           {{"conninfo", conninfo}}, &status);
    EXPECT_LT(Clock::now() - begin, std::chrono::seconds(15)) << "never a hang";
    EXPECT_EQ(other, nullptr);
    if (other != nullptr) vt().close(other, nullptr);
    return {rc, status.text()};
  }

  static test::PostgresServer* server_;
};
test::PostgresServer* PostgresTlsTest::server_ = nullptr;

TEST_F(PostgresTlsTest, VerifyFullWithTheServersCaWorksEndToEnd) {
  ASSERT_TRUE(start(backend(verify_full(server_->ca_file()))));
  kalam_cf* users = cf("users");
  ASSERT_EQ(write({Put(nullptr, "a", "1"), Put(users, "u1", "alice")}),
            KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "a"), "1");
  EXPECT_EQ(value_of(users, "u1"), "alice");
  const KV all = scan(users);
  ASSERT_EQ(all.size(), 1u);
  // Reopened (new connections, the schema found again) and still there.
  reopen();
  EXPECT_EQ(value_of(existing("users"), "u1"), "alice");
  // The plugin's pooled connections are TLS ones (the server says so), and
  // there is no other kind: pg_hba.conf admits TLS only.
  PGconn* probe = PQconnectdb(verify_full(server_->ca_file()).c_str());
  ASSERT_EQ(PQstatus(probe), CONNECTION_OK) << PQerrorMessage(probe);
  PGresult* r = PQexec(probe,
                       "SELECT count(*) FILTER (WHERE s.ssl), "
                       "count(*) FILTER (WHERE NOT s.ssl) FROM pg_stat_ssl s "
                       "JOIN pg_stat_activity a USING (pid) WHERE "
                       "a.application_name = 'kalam'");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  EXPECT_GE(std::stoi(PQgetvalue(r, 0, 0)), 1) << "no TLS connection";
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 1)), "0");
  PQclear(r);
  PQfinish(probe);
}

// A configuration error (IO_ERROR, as a wrong password), not UNAVAILABLE:
// retrying will not help.
TEST_F(PostgresTlsTest, ACertificateFromAnotherCaIsAClearErrorNamingTheServer) {
  ASSERT_TRUE(start(backend(verify_full(server_->ca_file()))));
  const auto [rc, text] = open_failing(verify_full(server_->other_ca_file()));
  EXPECT_STREQ(kalam_code_name(rc), kalam_code_name(KALAM_IO_ERROR));
  EXPECT_THAT(text, HasSubstr("127.0.0.1"));
  EXPECT_THAT(text, HasSubstr(std::to_string(server_->port())));
  EXPECT_THAT(text, HasSubstr("certificate verify failed"));
  EXPECT_THAT(text, HasSubstr("sslrootcert"));  // what to check
}

TEST_F(PostgresTlsTest, AConnectionWithoutTlsIsRefusedWithAClearError) {
  ASSERT_TRUE(start(backend(verify_full(server_->ca_file()))));
  const auto [rc, text] = open_failing(conninfo("sslmode=disable"));
  EXPECT_STREQ(kalam_code_name(rc), kalam_code_name(KALAM_IO_ERROR));
  EXPECT_THAT(text, HasSubstr("127.0.0.1"));
  EXPECT_THAT(text, HasSubstr(std::to_string(server_->port())));
  EXPECT_THAT(text, HasSubstr("no pg_hba.conf entry"));
  EXPECT_THAT(text, AnyOf(HasSubstr("no encryption"), HasSubstr("SSL off")));
  EXPECT_THAT(text, HasSubstr("sslmode"));  // what to check
}

}  // namespace
}  // namespace kalam::conformance
