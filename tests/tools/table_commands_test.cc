// kalam ns / table / insert / select / flush: the table layer from the
// command line, each command a separate process against a temporary
// database on every persistent in-tree backend (one run reads what another
// wrote). Bad input is checked for its message and exit code: 2 for a
// command line that is wrong on its own, 1 for what depends on the
// database's content or on input data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using nlohmann::json;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The persistent backends of this build that are real stores (not test
// wrappers).
std::vector<std::string> table_backends() {
  std::vector<std::string> out;
  for (const char* name : {"rocksdb", "lmdb", "sqlite"}) {
    if (have_backend(name)) out.push_back(name);
  }
  return out;
}

class TableCommandsTest : public ::testing::TestWithParam<std::string> {
 protected:
  CliResult kalam(std::vector<std::string> args,
                  const std::filesystem::path& stdin_file = "/dev/null") {
    args.push_back("--config");
    args.push_back(config_);
    return run_kalam(dir_, args, stdin_file);
  }
  // Expects exit 0 and nothing on stderr; returns stdout.
  std::string ok(std::vector<std::string> args,
                 const std::filesystem::path& stdin_file = "/dev/null") {
    CliResult r = kalam(args, stdin_file);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r;
    EXPECT_EQ(r.err, "") << args[0] << ": " << r;
    return r.out;
  }
  // Expects exit `code`, nothing on stdout, and one stderr line starting
  // with "kalam: " that contains every one of `parts`.
  void expect_error(std::vector<std::string> args, int code,
                    const std::vector<std::string>& parts,
                    const std::filesystem::path& stdin_file = "/dev/null") {
    CliResult r = kalam(args, stdin_file);
    EXPECT_EQ(r.exit_code, code) << r;
    EXPECT_THAT(r.err, StartsWith("kalam: ")) << r;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
    for (const auto& part : parts) EXPECT_THAT(r.err, HasSubstr(part)) << r;
    EXPECT_EQ(r.out, "") << r;
  }
  // app.notes: a user table (id int64 key, title, done nullable).
  void make_notes() {
    ok({"ns", "create", "app"});
    ok({"table", "create", "app.notes", "--kind", "user", "--column",
        "id:int64", "--column", "title:string", "--column",
        "done:bool:nullable", "--primary-key", "id"});
  }

  TempDir dir_;
  std::string config_ = write_config(dir_, "db", GetParam());
};

TEST_P(TableCommandsTest, FullFlowWithTwoUsers) {
  EXPECT_EQ(ok({"ns", "create", "app"}), "created namespace 'app'\n");
  EXPECT_EQ(ok({"ns", "list"}), "app\n");
  const json ns = json::parse(ok({"ns", "list", "--json"}));
  EXPECT_EQ(ns["name"], "app");
  EXPECT_TRUE(ns["created_at"].is_number_integer());

  EXPECT_EQ(ok({"table", "create", "app.notes", "--kind", "user", "--column",
                "id:int64", "--column", "title:string", "--column",
                "done:bool:nullable", "--primary-key", "id", "--flush-rows",
                "1000", "--flush-interval", "10s"}),
            "created user table app.notes (id 1)\n");
  EXPECT_EQ(ok({"table", "list", "app"}), "notes  user\n");

  // Two rows for alice from arguments, two for bob from a file; each run
  // prints the row ids.
  EXPECT_EQ(ok({"insert", "app.notes", "--user", "alice",
                R"({"id": 2, "title": "eggs", "done": true})",
                R"({"id": 1, "title": "milk"})"}),
            "2\n1\n");
  write_file(dir_ / "bob.jsonl",
             "{\"id\": 3, \"title\": \"bread\", \"done\": false}\n\n"
             "{\"id\": 1, \"title\": \"bob's first\"}\n");
  EXPECT_EQ(ok({"insert", "app.notes", "--user", "bob", "--file",
                (dir_ / "bob.jsonl").string()}),
            "3\n1\n");

  // Each user sees only their own rows, in row-id order.
  EXPECT_EQ(ok({"select", "app.notes", "--user", "alice"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"milk\"}\n"
            "2\t{\"done\":true,\"id\":2,\"title\":\"eggs\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "bob"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"bob's first\"}\n"
            "3\t{\"done\":false,\"id\":3,\"title\":\"bread\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "carol"}), "");

  // Without --user: every user's rows, each line saying whose.
  EXPECT_EQ(ok({"select", "app.notes"}),
            "alice\t1\t{\"done\":null,\"id\":1,\"title\":\"milk\"}\n"
            "alice\t2\t{\"done\":true,\"id\":2,\"title\":\"eggs\"}\n"
            "bob\t1\t{\"done\":null,\"id\":1,\"title\":\"bob's first\"}\n"
            "bob\t3\t{\"done\":false,\"id\":3,\"title\":\"bread\"}\n");
  const std::vector<std::string> all =
      lines_of(ok({"select", "app.notes", "--format", "json"}));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(json::parse(all[2]),
            json({{"user_id", "bob"},
                  {"row_id", "1"},
                  {"row",
                   {{"id", 1}, {"title", "bob's first"}, {"done", nullptr}}}}));

  // Equality filters, typed by the schema: "1" matches the int64 1.
  EXPECT_EQ(ok({"select", "app.notes", "--where", "id=1"}),
            "alice\t1\t{\"done\":null,\"id\":1,\"title\":\"milk\"}\n"
            "bob\t1\t{\"done\":null,\"id\":1,\"title\":\"bob's first\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "bob", "--where", "id=1"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"bob's first\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--where", "done=false", "--where",
                "title=bread"}),
            "bob\t3\t{\"done\":false,\"id\":3,\"title\":\"bread\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--where", "done=true", "--where",
                "title=bread"}),
            "");
  EXPECT_EQ(ok({"select", "app.notes", "--limit", "1", "--json"}),
            "{\"row\":{\"done\":null,\"id\":1,\"title\":\"milk\"},\"row_id\":"
            "\"1\",\"user_id\":\"alice\"}\n");
  EXPECT_EQ(
      lines_of(ok({"select", "app.notes", "--where", "id=1", "--limit", "5"}))
          .size(),
      2u);

  // Re-inserting a key replaces the row.
  EXPECT_EQ(ok({"insert", "app.notes", "--user", "alice",
                R"({"id": 1, "title": "oat milk", "done": true})"}),
            "1\n");
  EXPECT_EQ(
      ok({"select", "app.notes", "--user", "alice", "--where", "done=true"}),
      "1\t{\"done\":true,\"id\":1,\"title\":\"oat milk\"}\n"
      "2\t{\"done\":true,\"id\":2,\"title\":\"eggs\"}\n");

  // describe: text and JSON.
  const std::vector<std::string> text =
      lines_of(ok({"table", "describe", "app.notes"}));
  ASSERT_EQ(text.size(), 12u);
  EXPECT_EQ(text[0], "table:        app.notes");
  EXPECT_EQ(text[1], "kind:         user");
  EXPECT_EQ(text[2], "id:           1");
  EXPECT_THAT(text[3], StartsWith("created:      20"));
  EXPECT_EQ(text[4], "primary key:  id");
  EXPECT_EQ(text[5], "columns:");
  EXPECT_EQ(text[6], "  id     int64   not null, primary key");
  EXPECT_EQ(text[7], "  title  string  not null");
  EXPECT_EQ(text[8], "  done   bool    nullable");
  EXPECT_EQ(text[9], "options:");
  EXPECT_EQ(text[10], "  flush rows:      1000");
  EXPECT_EQ(text[11], "  flush interval:  10s");
  json described =
      json::parse(ok({"table", "describe", "app.notes", "--json"}));
  EXPECT_TRUE(described["created_at"].is_number_integer());
  described.erase("created_at");
  EXPECT_EQ(described,
            json::parse(R"({"id": 1, "namespace": "app", "name": "notes",
              "kind": "user",
              "columns": [{"name": "id", "type": "int64", "nullable": false},
                          {"name": "title", "type": "string", "nullable": false},
                          {"name": "done", "type": "bool", "nullable": true}],
              "primary_key": "id",
              "options": {"flush": {"row_count": 1000, "interval_ms": 10000}}})"));

  // The catalog is readable as rows too.
  const std::string system = ok({"select", "system.tables"});
  EXPECT_THAT(system, StartsWith("app.notes\t{"));
  EXPECT_EQ(json::parse(ok({"select", "system.namespaces", "--where",
                            "name=app", "--format", "json"})),
            json({{"row_id", "app"}, {"row", ns}}));

  // A namespace with tables is not dropped without --cascade.
  expect_error({"ns", "drop", "app"}, 1,
               {"cannot drop namespace 'app': it still has 1 table(s): "
                "app.notes",
                "--cascade"});
  EXPECT_EQ(ok({"ns", "list"}), "app\n");
  EXPECT_EQ(lines_of(ok({"select", "app.notes"})).size(), 4u);

  EXPECT_EQ(ok({"ns", "drop", "app", "--cascade"}),
            "dropped namespace 'app' and its 1 table(s)\n");
  EXPECT_EQ(ok({"ns", "list"}), "");
  expect_error({"select", "app.notes"}, 1,
               {"table app.notes does not exist: there is no namespace 'app'"});
  EXPECT_EQ(ok({"select", "system.tables"}), "");

  // The rows went with the table: a new table of the same name is empty.
  make_notes();
  EXPECT_EQ(ok({"select", "app.notes"}), "");
}

TEST_P(TableCommandsTest, SharedTablesStandardInputAndTypedFilters) {
  ok({"ns", "create", "shop"});
  EXPECT_EQ(ok({"table", "create", "shop.items", "--kind", "shared", "--column",
                "sku:string", "--column", "price:float64", "--column",
                "added:timestamp:nullable", "--column", "tags:json:nullable",
                "--column", "blob:bytes:nullable", "--primary-key", "sku"}),
            "created shared table shop.items (id 1)\n");
  write_file(dir_ / "rows.jsonl",
             "{\"sku\": \"b-2\", \"price\": 3, \"added\": "
             "\"2024-05-01T09:00:00Z\", \"tags\": [\"x\"]}\n"
             "{\"sku\": \"a-1\", \"price\": 2.5, \"blob\": \"aGk=\"}\n");
  EXPECT_EQ(ok({"insert", "shop.items"}, dir_ / "rows.jsonl"), "b-2\na-1\n");
  EXPECT_EQ(ok({"select", "shop.items"}),
            "a-1\t{\"added\":null,\"blob\":\"aGk=\",\"price\":2.5,\"sku\":"
            "\"a-1\",\"tags\":null}\n"
            "b-2\t{\"added\":1714554000000,\"blob\":null,\"price\":3.0,"
            "\"sku\":\"b-2\",\"tags\":[\"x\"]}\n");
  // float64 "3" matches the stored 3.0; a timestamp matches as RFC 3339 or
  // as milliseconds; json compares as JSON; bytes as canonical base64.
  for (const char* where :
       {"price=3", "price=3.0", "added=2024-05-01T09:00:00Z",
        "added=1714554000000", "tags=[\"x\"]", "sku=b-2"}) {
    EXPECT_EQ(lines_of(ok({"select", "shop.items", "--where", where})),
              std::vector<std::string>{
                  "b-2\t{\"added\":1714554000000,\"blob\":null,\"price\":3.0,"
                  "\"sku\":\"b-2\",\"tags\":[\"x\"]}"})
        << where;
  }
  EXPECT_EQ(
      lines_of(ok({"select", "shop.items", "--where", "blob=aGk="})).size(),
      1u);
  EXPECT_EQ(ok({"select", "shop.items", "--where", "price=2.51"}), "");

  // Shared tables have no users.
  expect_error({"insert", "shop.items", "--user", "alice",
                R"({"sku": "c", "price": 1})"},
               1, {"shop.items", "is a shared table", "drop --user"});
  expect_error({"select", "shop.items", "--user", "alice"}, 1,
               {"is a shared table", "drop --user"});
  EXPECT_EQ(
      json::parse(ok({"table", "list", "shop", "--format", "json"})).at("kind"),
      "shared");

  EXPECT_EQ(ok({"table", "drop", "shop.items"}), "dropped table shop.items\n");
  EXPECT_EQ(ok({"table", "list", "shop"}), "");
  expect_error({"table", "drop", "shop.items"}, 1,
               {"cannot drop table shop.items", "does not exist"});
  EXPECT_EQ(ok({"ns", "drop", "shop"}), "dropped namespace 'shop'\n");
}

TEST_P(TableCommandsTest, SchemaFileAndDescribeJsonRoundTrip) {
  make_notes();
  write_file(dir_ / "notes.json",
             ok({"table", "describe", "app.notes", "--json"}));
  // describe --json output makes a table of the same shape.
  EXPECT_EQ(ok({"table", "create", "app.copy", "--schema",
                (dir_ / "notes.json").string()}),
            "created user table app.copy (id 2)\n");
  json original = json::parse(read_file(dir_ / "notes.json"));
  json copy = json::parse(ok({"table", "describe", "app.copy", "--json"}));
  for (json* j : {&original, &copy}) {
    j->erase("id");
    j->erase("name");
    j->erase("created_at");
  }
  EXPECT_EQ(original, copy);

  // A plain Schema JSON with --kind and option flags.
  write_file(dir_ / "events.json",
             R"({"columns": [{"name": "what", "type": "string"}]})");
  EXPECT_EQ(ok({"table", "create", "app.events", "--kind", "shared", "--schema",
                (dir_ / "events.json").string(), "--flush-interval", "5m"}),
            "created shared table app.events (id 3)\n");
  const json events =
      json::parse(ok({"table", "describe", "app.events", "--json"}));
  EXPECT_EQ(
      events["columns"],
      json::parse(R"([{"name":"what","type":"string","nullable":true}])"));
  EXPECT_EQ(events["primary_key"], nullptr);
  EXPECT_EQ(events["options"],
            json::parse(R"({"flush":{"interval_ms":300000}})"));
  // Without a primary key each row gets a generated, increasing id.
  const std::vector<std::string> ids = lines_of(
      ok({"insert", "app.events", R"({"what": "a"})", R"({"what": "b"})"}));
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].size(), 32u);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_EQ(ok({"select", "app.events", "--where", "what=b"}),
            ids[1] + "\t{\"what\":\"b\"}\n");

  // Bad schema files.
  write_file(dir_ / "broken.json", "{\"columns\": [");
  expect_error({"table", "create", "app.x", "--kind", "user", "--schema",
                (dir_ / "broken.json").string()},
               1, {"--schema file", "is not valid JSON"});
  write_file(dir_ / "extra.json",
             R"({"columns": [{"name": "a", "type": "int64"}], "colour": 1})");
  expect_error({"table", "create", "app.x", "--kind", "user", "--schema",
                (dir_ / "extra.json").string()},
               1, {"unknown member 'colour'"});
  expect_error({"table", "create", "app.x", "--kind", "shared", "--schema",
                (dir_ / "notes.json").string()},
               2, {"--kind shared contradicts \"kind\": \"user\""});
  expect_error({"table", "create", "app.x", "--kind", "user", "--schema",
                (dir_ / "missing.json").string()},
               2, {"--schema file", "does not exist"});
  expect_error({"table", "create", "app.x", "--schema",
                (dir_ / "events.json").string(), "--column", "a:int64"},
               2, {"not both"});
  EXPECT_EQ(ok({"table", "list", "app"}),
            "copy    user\nevents  shared\nnotes   user\n");
}

TEST_P(TableCommandsTest, BadInputIsRefusedWithAClearMessage) {
  make_notes();
  ok({"insert", "app.notes", "--user", "alice", R"({"id": 1, "title": "a"})"});

  // Unknown columns: in --where, and in a row (which writes nothing, not
  // even the valid rows of the same run).
  expect_error({"select", "app.notes", "--where", "colour=red"}, 1,
               {"unknown column 'colour' in app.notes; the columns are id, "
                "title, done"});
  expect_error({"insert", "app.notes", "--user", "alice",
                R"({"id": 2, "title": "b"})", R"({"id": 3, "colour": "red"})"},
               1,
               {"cannot insert into app.notes: ROW_JSON argument 2",
                "unknown column 'colour'"});
  write_file(dir_ / "rows.jsonl",
             "{\"id\": 4, \"title\": \"d\"}\n{\"id\": \"5\", \"title\": "
             "\"e\"}\n");
  expect_error({"insert", "app.notes", "--user", "alice", "--file",
                (dir_ / "rows.jsonl").string()},
               1, {"line 2 of", "column 'id' expects int64"});
  EXPECT_EQ(ok({"select", "app.notes"}),
            "alice\t1\t{\"done\":null,\"id\":1,\"title\":\"a\"}\n");

  // Values of the wrong type.
  expect_error({"select", "app.notes", "--where", "id=abc"}, 1,
               {"--where id=abc: column 'id' of app.notes is int64, and 'abc' "
                "is not an integer"});
  expect_error({"select", "app.notes", "--where", "done=yes"}, 1,
               {"is bool", "true or false"});
  expect_error(
      {"insert", "app.notes", "--user", "alice", R"({"id": 9, "title": 7})"}, 1,
      {"column 'title' expects string"});
  expect_error({"insert", "app.notes", "--user", "alice", R"({"id": 9})"}, 1,
               {"missing column 'title'"});
  expect_error(
      {"table", "create", "app.t", "--kind", "user", "--column", "a:integer"},
      2, {"bad --column 'a:integer'", "unknown column type 'integer'"});
  expect_error({"table", "create", "app.t", "--kind", "user", "--column", "a"},
               2, {"bad --column 'a'", "NAME:TYPE"});
  expect_error({"table", "create", "app.t", "--kind", "user", "--column",
                "a:int64:null"},
               2, {"may only be 'nullable'"});
  expect_error(
      {"table", "create", "app.t", "--kind", "table", "--column", "a:int64"}, 2,
      {"bad --kind", "unknown table kind 'table'"});
  expect_error({"table", "create", "app.t", "--column", "a:int64"}, 2,
               {"--kind is required"});
  expect_error({"table", "create", "app.t", "--kind", "user"}, 2,
               {"a table needs columns"});
  expect_error({"table", "create", "app.t", "--kind", "user", "--column",
                "a:int64", "--flush-interval", "10"},
               2, {"bad --flush-interval '10'", "no unit"});
  expect_error({"table", "create", "app.t", "--kind", "user", "--column",
                "a:float64", "--primary-key", "a"},
               1, {"cannot create table app.t", "primary key"});
  // Retention belongs to stream tables: the catalog's refusal comes through.
  expect_error({"table", "create", "app.t", "--kind", "user", "--column",
                "a:int64", "--ttl", "1h"},
               1,
               {"cannot create table app.t",
                "ttl and max_rows apply to "
                "stream tables only"});
  expect_error({"table", "create", "app.t", "--kind", "shared", "--column",
                "a:int64", "--max-rows", "10"},
               1, {"ttl and max_rows apply to stream tables only"});
  expect_error(
      {"table", "create", "app.notes", "--kind", "user", "--column", "a:int64"},
      1, {"table app.notes already exists"});
  expect_error(
      {"table", "create", "nope.t", "--kind", "user", "--column", "a:int64"}, 1,
      {"namespace 'nope' does not exist"});

  // Unknown tables and namespaces, bad names.
  expect_error({"select", "app.nope"}, 1,
               {"cannot select from app.nope: table app.nope does not exist"});
  expect_error({"insert", "app.nope", R"({"a": 1})"}, 1,
               {"table app.nope does not exist"});
  expect_error({"table", "describe", "app.nope"}, 1, {"does not exist"});
  expect_error({"table", "list", "nope"}, 1,
               {"namespace 'nope' does not exist"});
  expect_error({"ns", "drop", "nope"}, 1, {"namespace 'nope' does not exist"});
  expect_error({"ns", "create", "app"}, 1, {"namespace 'app' already exists"});
  expect_error({"select", "notes"}, 2, {"bad table name 'notes'"});
  expect_error({"select", "app.Notes"}, 2, {"invalid table name 'Notes'"});
  expect_error({"ns", "create", "9lives"}, 2, {"invalid namespace name"});
  expect_error({"ns", "create", "system"}, 2, {"'system' is reserved"});
  expect_error({"insert", "system.tables", R"({"a": 1})"}, 1,
               {"read-only system table"});

  // Malformed JSON: an argument is a usage error, a line of input data
  // an operational one.
  expect_error({"insert", "app.notes", "--user", "alice", "{\"id\": 1,"}, 2,
               {"ROW_JSON argument 1 is not valid JSON"});
  expect_error({"insert", "app.notes", "--user", "alice", "[1, 2]"}, 2,
               {"ROW_JSON argument 1 is not a row: a row is a JSON object",
                "got array [1,2]"});
  expect_error({"insert", "app.notes", "--user", "alice",
                R"([{"id": 8, "title": "x"}])"},
               2, {"ROW_JSON argument 1 is not a row", "got array"});
  expect_error(
      {"insert", "app.notes", "--usr", "alice", R"({"id": 8, "title": "x"})"},
      2, {"unknown option '--usr'"});
  write_file(dir_ / "bad.jsonl", "{\"id\": 7, \"title\": \"x\"}\n{oops}\n");
  expect_error({"insert", "app.notes", "--user", "alice"}, 1,
               {"line 2 of standard input is not valid JSON"},
               dir_ / "bad.jsonl");
  write_file(dir_ / "empty.jsonl", "\n\n");
  expect_error({"insert", "app.notes", "--user", "alice", "--file",
                (dir_ / "empty.jsonl").string()},
               1, {"no rows in"});
  expect_error({"insert", "app.notes", "--user", "alice", "--file",
                (dir_ / "missing.jsonl").string()},
               2, {"--file", "does not exist"});
  expect_error({"insert", "app.notes", "--user", "alice", "--file", "-",
                R"({"id": 1, "title": "a"})"},
               2, {"not both"});

  // Users.
  expect_error({"insert", "app.notes", R"({"id": 2, "title": "b"})"}, 1,
               {"it is a user table; pass --user USER"});
  expect_error(
      {"insert", "app.notes", "--user", "", R"({"id": 2, "title": "b"})"}, 2,
      {"--user is empty"});
  expect_error({"select", "app.notes", "--where", "id"}, 2,
               {"bad --where 'id'", "COLUMN=VALUE"});
  expect_error({"select", "app.notes", "--limit", "0"}, 2, {"--limit"});

  // Nothing above changed the data.
  EXPECT_EQ(ok({"select", "app.notes"}),
            "alice\t1\t{\"done\":null,\"id\":1,\"title\":\"a\"}\n");
  EXPECT_EQ(ok({"table", "list", "app"}), "notes  user\n");
}

// JSON that used to crash `kalam insert` (a stack overflow dumping a value
// nested 100,000 levels deep) or end in "internal error" (1e999) is a clear
// error: exit 2 for an argument, 1 for a line of input data; nothing is
// written. A row at the depth limit still goes in and reads back.
TEST_P(TableCommandsTest, DeepOrOutOfRangeJsonIsAClearErrorAndWritesNothing) {
  ok({"ns", "create", "app"});
  ok({"table", "create", "app.docs", "--kind", "shared", "--column", "id:int64",
      "--column", "j:json:nullable", "--column", "score:float64:nullable",
      "--primary-key", "id"});
  const auto nested = [](size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
  };
  write_file(dir_ / "deep-column.jsonl",
             "{\"id\": 1, \"j\": " + nested(100'000) + "}\n");
  expect_error({"insert", "app.docs"}, 1,
               {"line 1 of standard input is JSON nested too deep",
                "more than 128 levels deep"},
               dir_ / "deep-column.jsonl");
  write_file(dir_ / "deep-bare.jsonl",
             "{\"id\": 1}\n" + nested(100'000) + "\n");
  expect_error(
      {"insert", "app.docs", "--file", (dir_ / "deep-bare.jsonl").string()}, 1,
      {"line 2 of", "JSON nested too deep", "the limit is 128"});
  // An argument is at most 128 KiB (MAX_ARG_STRLEN): 60,000 levels.
  expect_error(
      {"insert", "app.docs", "{\"id\": 1, \"j\": " + nested(60'000) + "}"}, 2,
      {"ROW_JSON argument 1 is JSON nested too deep"});
  expect_error(
      {"insert", "app.docs", R"({"id": 1, "score": 1e999})"}, 2,
      {"ROW_JSON argument 1 is JSON with a number out of range", "1e999"});
  write_file(dir_ / "huge-number.jsonl", "{\"id\": 1, \"j\": [-1e999]}\n");
  expect_error({"insert", "app.docs"}, 1,
               {"line 1 of standard input is JSON with a number out of range"},
               dir_ / "huge-number.jsonl");
  // A huge value of the wrong type is quoted short.
  const CliResult long_title =
      kalam({"insert", "app.docs",
             "{\"id\": \"" + std::string(100'000, 'x') + "\"}"});
  EXPECT_EQ(long_title.exit_code, 1) << long_title.err.substr(0, 300);
  EXPECT_THAT(long_title.err,
              HasSubstr("column 'id' expects int64, got string"));
  EXPECT_LT(long_title.err.size(), 400u);
  EXPECT_EQ(ok({"select", "app.docs"}), "");

  // The deepest row allowed: the row object, then 127 levels in j.
  const std::string deepest = "{\"id\":2,\"j\":" + nested(127) + "}";
  EXPECT_EQ(ok({"insert", "app.docs", deepest}), "2\n");
  EXPECT_EQ(ok({"select", "app.docs"}),
            "2\t{\"id\":2,\"j\":" + nested(127) + ",\"score\":null}\n");
}

TEST_P(TableCommandsTest, ReadsNeverWriteAndReadOnlyIsHonoured) {
  const std::filesystem::path data = data_dir(dir_, "db");
  // No database: reads fail and create nothing.
  expect_error({"ns", "list"}, 1, {"no Kalam database at"});
  expect_error({"select", "app.notes"}, 1, {"no Kalam database at"});
  expect_error(
      {"table", "create", "app.t", "--kind", "user", "--column", "a:int64"}, 1,
      {"no Kalam database at"});
  EXPECT_FALSE(std::filesystem::exists(data));

  // A key/value database without tables: reads find nothing and do not add
  // the table layer's column families; neither does a write that fails.
  ok({"put", "k", "v"});
  EXPECT_EQ(ok({"ns", "list"}), "");
  expect_error({"select", "app.notes"}, 1,
               {"table app.notes does not exist: data directory",
                "has no tables yet; create a namespace with 'kalam ns "
                "create NAME' first"});
  expect_error({"table", "describe", "app.notes"}, 1, {"has no tables yet"});
  expect_error({"table", "list", "app"}, 1, {"has no tables yet"});
  expect_error(
      {"table", "create", "app.t", "--kind", "user", "--column", "a:int64"}, 1,
      {"namespace 'app' does not exist"});
  expect_error({"insert", "app.t", R"({"a": 1})"}, 1, {"has no tables yet"});
  expect_error({"ns", "drop", "app"}, 1, {"has no tables yet"});
  EXPECT_EQ(ok({"cf", "list"}), "default\n");

  // --read-only: reads run, writes refuse before touching anything.
  make_notes();
  EXPECT_EQ(ok({"select", "app.notes", "--read-only"}), "");
  EXPECT_EQ(ok({"ns", "list", "--read-only"}), "app\n");
  expect_error({"insert", "app.notes", "--user", "a", "--read-only",
                R"({"id": 1, "title": "x"})"},
               2, {"kalam insert writes, and --read-only was given"});
  expect_error({"ns", "create", "other", "--read-only"}, 2, {"--read-only"});
  expect_error({"table", "drop", "app.notes", "--read-only"}, 2,
               {"--read-only"});
  EXPECT_EQ(ok({"select", "app.notes"}), "");
  EXPECT_EQ(ok({"table", "list", "app"}), "notes  user\n");
}

TEST_P(TableCommandsTest, FlushMovesRowsToColdStorageAndReadsStillSeeThem) {
  make_notes();
  ok({"insert", "app.notes", "--user", "alice", R"({"id": 1, "title": "a"})",
      R"({"id": 2, "title": "b"})"});
  ok({"insert", "app.notes", "--user", "bob", R"({"id": 1, "title": "c"})"});
  const std::string before = ok({"select", "app.notes"});
  ASSERT_EQ(lines_of(before).size(), 3u);

  EXPECT_EQ(ok({"flush", "app.notes"}),
            "flushed app.notes: 3 row(s) and 0 deletion(s) in 2 segment(s); "
            "3 hot key(s) removed, 0 kept (changed while flushing)\n");
  // Hybrid reads: the flushed rows still read back, per user and for all.
  EXPECT_EQ(ok({"select", "app.notes"}), before);
  EXPECT_EQ(ok({"select", "app.notes", "--user", "bob"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"c\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--where", "title=b"}),
            "alice\t2\t{\"done\":null,\"id\":2,\"title\":\"b\"}\n");
  // Nothing hot is left to move.
  EXPECT_THAT(ok({"flush", "app.notes"}),
              StartsWith("flushed app.notes: 0 row(s)"));
  // alice's ninth segment is over the default limit of eight: that flush
  // merges her segments into one, and says so.
  for (int id = 3; id <= 9; ++id) {
    ok({"insert", "app.notes", "--user", "alice",
        "{\"id\": " + std::to_string(id) + ", \"title\": \"t\"}"});
    EXPECT_THAT(ok({"flush", "app.notes"}), Not(HasSubstr("compacted")))
        << "segment " << id - 1;
  }
  ok({"insert", "app.notes", "--user", "alice", R"({"id": 10, "title": "t"})"});
  EXPECT_THAT(ok({"flush", "app.notes"}),
              EndsWith("kept (changed while flushing); 1 partition(s) "
                       "compacted\n"));
  EXPECT_EQ(lines_of(ok({"select", "app.notes", "--user", "alice"})).size(),
            10u);

  expect_error({"flush", "app.nope"}, 1,
               {"cannot flush app.nope", "does not exist"});
  expect_error({"flush", "system.tables"}, 1, {"cannot flush system.tables"});
  expect_error({"flush", "notes"}, 2, {"bad table name 'notes'"});
  expect_error({"flush", "app.notes", "--read-only"}, 2,
               {"kalam flush writes, and --read-only was given"});
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TableCommandsTest);
TEST_P(TableCommandsTest, StreamTablesAppendAndKeepTheNewest) {
  ok({"ns", "create", "app"});
  ok({"table", "create", "app.events", "--kind", "stream", "--column",
      "n:int64", "--ttl", "1h", "--max-rows", "2"});
  const std::vector<std::string> ids = lines_of(ok(
      {"insert", "app.events", R"({"n": 1})", R"({"n": 2})", R"({"n": 3})"}));
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0].size(), 32u) << "generated, time-ordered ids";
  const std::vector<std::string> rows =
      lines_of(ok({"select", "app.events", "--format", "json"}));
  ASSERT_EQ(rows.size(), 2u) << "only the newest max_rows are live";
  EXPECT_EQ(json::parse(rows[0])["row"]["n"], 2);
  EXPECT_EQ(json::parse(rows[1])["row"]["n"], 3);
  expect_error({"insert", "app.events", "--user", "u", R"({"n": 4})"}, 1,
               {"drop --user"});
  expect_error({"flush", "app.events"}, 1, {"stream tables expire events"});
}

// kalam update / delete / select --row-id reach every row operation of the
// API: user and shared tables, hot rows and rows a flush moved cold, one
// user's row never another's.
TEST_P(TableCommandsTest, UpdateDeleteAndSelectOneRowById) {
  make_notes();
  ok({"insert", "app.notes", "--user", "alice", R"({"id": 1, "title": "milk"})",
      R"({"id": 2, "title": "eggs"})"});
  ok({"insert", "app.notes", "--user", "bob",
      R"({"id": 1, "title": "bob's"})"});

  // update: merges, prints the new row, touches only that user's row.
  EXPECT_EQ(ok({"update", "app.notes", "--user", "alice", "--row-id", "1",
                R"({"done": true})"}),
            "1\t{\"done\":true,\"id\":1,\"title\":\"milk\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "bob"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"bob's\"}\n");
  EXPECT_EQ(
      json::parse(ok({"update", "app.notes", "--user", "alice", "--row-id", "2",
                      R"({"title": "bread"})", "--json"})),
      json::parse(R"({"user_id": "alice", "row_id": "2",
                            "row": {"done": null, "id": 2, "title": "bread"}})"));
  // select --row-id: a point read.
  EXPECT_EQ(ok({"select", "app.notes", "--user", "alice", "--row-id", "2"}),
            "2\t{\"done\":null,\"id\":2,\"title\":\"bread\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "alice", "--row-id", "9"}),
            "");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "alice", "--row-id", "2",
                "--where", "title=milk"}),
            "");

  // After a flush moved them cold, the same commands find the rows.
  ok({"flush", "app.notes"});
  EXPECT_EQ(ok({"update", "app.notes", "--user", "bob", "--row-id", "1",
                R"({"title": "bob's, changed"})"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"bob's, changed\"}\n");
  EXPECT_EQ(ok({"delete", "app.notes", "--user", "alice", "--row-id", "1"}),
            "deleted row '1' of user 'alice' in app.notes\n");
  EXPECT_EQ(ok({"select", "app.notes"}),
            "alice\t2\t{\"done\":null,\"id\":2,\"title\":\"bread\"}\n"
            "bob\t1\t{\"done\":null,\"id\":1,\"title\":\"bob's, changed\"}\n");
  EXPECT_EQ(ok({"select", "app.notes", "--user", "alice", "--row-id", "1"}),
            "");

  // Errors: no such row (exit 1, nothing written), bad changes (exit 2),
  // the wrong --user use, the primary key, stream and system tables.
  expect_error(
      {"delete", "app.notes", "--user", "alice", "--row-id", "1"}, 1,
      {"cannot delete row '1' of user 'alice' in app.notes", "no such row"});
  expect_error({"update", "app.notes", "--user", "carol", "--row-id", "2",
                R"({"done": true})"},
               1, {"cannot update row '2' of user 'carol'", "no such row"});
  expect_error({"update", "app.notes", "--user", "alice", "--row-id", "2",
                R"({"done": "yes"})"},
               1, {"column 'done' expects bool"});
  expect_error({"update", "app.notes", "--user", "alice", "--row-id", "2",
                R"({"id": 3})"},
               1, {"primary key column 'id' cannot be changed"});
  expect_error({"update", "app.notes", "--user", "alice", "--row-id", "2",
                R"({"done": 1e999})"},
               2, {"CHANGES_JSON is JSON with a number out of range"});
  expect_error(
      {"update", "app.notes", "--user", "alice", "--row-id", "2", "[1]"}, 2,
      {"CHANGES_JSON is not a JSON object", "got array [1]"});
  expect_error({"update", "app.notes", "--user", "alice", "--row-id", "2"}, 2,
               {"no changes"});
  expect_error({"update", "app.notes", "--user", "alice", "--row-id", "x",
                R"({"done": true})"},
               1, {"row id 'x' is not an int64"});
  expect_error({"delete", "app.notes", "--row-id", "2"}, 1,
               {"it is a user table; pass --user USER"});
  expect_error({"delete", "app.notes", "--user", "alice"}, 2, {"--row-id"});
  expect_error({"select", "app.notes", "--row-id", "2"}, 1,
               {"--row-id in a user table needs --user"});
  expect_error({"delete", "system.tables", "--row-id", "app.notes"}, 1,
               {"read-only system table"});
  EXPECT_EQ(ok({"select", "app.notes", "--user", "alice"}),
            "2\t{\"done\":null,\"id\":2,\"title\":\"bread\"}\n");

  // Shared tables: no --user; generated ids as insert printed them.
  ok({"table", "create", "app.config", "--kind", "shared", "--column",
      "value:string"});
  const std::string id =
      lines_of(ok({"insert", "app.config", R"({"value": "dark"})"}))[0];
  EXPECT_EQ(
      ok({"update", "app.config", "--row-id", id, R"({"value": "light"})"}),
      id + "\t{\"value\":\"light\"}\n");
  expect_error({"update", "app.config", "--user", "alice", "--row-id", id,
                R"({"value": "x"})"},
               1, {"shared table", "drop --user"});
  EXPECT_EQ(ok({"select", "app.config", "--row-id", id}),
            id + "\t{\"value\":\"light\"}\n");
  EXPECT_EQ(ok({"delete", "app.config", "--row-id", id}),
            "deleted row '" + id + "' in app.config\n");
  EXPECT_EQ(ok({"select", "app.config"}), "");

  // Stream tables: append-only.
  ok({"table", "create", "app.events", "--kind", "stream", "--column",
      "n:int64", "--max-rows", "5"});
  const std::string event =
      lines_of(ok({"insert", "app.events", R"({"n": 1})"}))[0];
  EXPECT_EQ(ok({"select", "app.events", "--row-id", event}),
            event + "\t{\"n\":1}\n");
  expect_error({"delete", "app.events", "--row-id", event}, 1,
               {"stream table", "append-only"});
  expect_error({"update", "app.events", "--row-id", event, R"({"n": 2})"}, 1,
               {"stream table", "append-only"});
}

// `table create --help` offers every kind there is (so does docs/cli.md).
TEST_P(TableCommandsTest, CreateHelpNamesEveryTableKind) {
  const CliResult help = run_kalam(dir_, {"table", "create", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("stream (append-only events"));
}

INSTANTIATE_TEST_SUITE_P(PersistentBackends, TableCommandsTest,
                         ::testing::ValuesIn(table_backends()),
                         [](const auto& param) { return param.param; });

// The memory backend keeps nothing between runs: a namespace made in one
// run is gone in the next, and the write says so.
TEST(TableCommandsMemory, NothingOutlivesTheRun) {
  TempDir dir;
  const std::string config = write_config(dir, "mem", "memory");
  CliResult create =
      run_kalam(dir, {"ns", "create", "app", "--config", config});
  EXPECT_EQ(create.exit_code, 0) << create;
  EXPECT_EQ(create.out, "created namespace 'app'\n");
  EXPECT_THAT(create.err, HasSubstr("warning: backend 'memory' is not "
                                    "persistent"));
  CliResult list = run_kalam(dir, {"ns", "list", "--config", config});
  EXPECT_EQ(list.exit_code, 0) << list;
  EXPECT_EQ(list.out, "");
}

}  // namespace
}  // namespace kalam::test
