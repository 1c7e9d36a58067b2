// Names, schemas, row validation, and the value encodings rows use (base64,
// RFC 3339). Pure: no database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/tables/json_input.h>
#include <kalam/tables/schema.h>

#include <random>

namespace kalam::tables {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

Schema sample_schema() {
  return Schema{.columns = {{"id", ColumnType::kInt64, false},
                            {"score", ColumnType::kFloat64, true},
                            {"active", ColumnType::kBool, true},
                            {"title", ColumnType::kString, false},
                            {"blob", ColumnType::kBytes, true},
                            {"at", ColumnType::kTimestamp, true},
                            {"meta", ColumnType::kJson, true}},
                .primary_key = "id"};
}

TEST(TableSchema, ValidNamesPass) {
  for (const char* name : {"a", "_", "_x1", "users", "a_b_c", "z9"}) {
    EXPECT_TRUE(validate_name("table", name).ok()) << name;
  }
  EXPECT_TRUE(validate_name("table", std::string(64, 'a')).ok());
}

TEST(TableSchema, BadNamesSayWhatIsWrongAndTheRule) {
  struct Case {
    std::string name;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"", "it is empty"},
           {std::string(65, 'a'), "it is 65 characters long"},
           {"Users", "'U' at position 0 is not allowed"},
           {"1abc", "'1' at position 0 is not allowed"},
           {"my-table", "'-' at position 2 is not allowed"},
           {"a.b", "'.' at position 1 is not allowed"},
           {"caf\xc3\xa9", "byte 0xc3 at position 3 is not allowed"},
           {std::string("a\0b", 3), "byte 0x00 at position 1"}}) {
    Status s = validate_name("column", c.name);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.name;
    EXPECT_THAT(s.message(),
                AllOf(HasSubstr("invalid column name"), HasSubstr(c.says),
                      HasSubstr("1 to 64 characters of a-z, 0-9 and _")))
        << c.name;
  }
}

TEST(TableSchema, QualifiedNames) {
  auto q = parse_qualified_name("app.messages");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(*q, (QualifiedName{"app", "messages"}));
  EXPECT_THAT(parse_qualified_name("messages").status().message(),
              HasSubstr("write namespace.table"));
  EXPECT_THAT(parse_qualified_name("a.b.c").status().message(),
              HasSubstr("invalid table name 'b.c'"));
  EXPECT_THAT(parse_qualified_name(".b").status().message(),
              HasSubstr("invalid namespace name"));
}

TEST(TableSchema, SchemaChecks) {
  EXPECT_TRUE(sample_schema().validate().ok());
  EXPECT_THAT(Schema{}.validate().message(), HasSubstr("at least one column"));

  Schema dup{.columns = {{"a", ColumnType::kInt64}, {"a", ColumnType::kBool}}};
  EXPECT_EQ(dup.validate().code(), Code::kAlreadyExists);
  EXPECT_THAT(dup.validate().message(), HasSubstr("duplicate column 'a'"));

  Schema bad_name{.columns = {{"Bad", ColumnType::kInt64}}};
  EXPECT_THAT(bad_name.validate().message(),
              HasSubstr("invalid column name 'Bad'"));

  Schema no_pk{.columns = {{"a", ColumnType::kInt64}}, .primary_key = "b"};
  EXPECT_THAT(no_pk.validate().message(),
              HasSubstr("primary key 'b' is not a column; the columns are a"));

  Schema float_pk{.columns = {{"a", ColumnType::kFloat64}}, .primary_key = "a"};
  EXPECT_THAT(float_pk.validate().message(),
              HasSubstr("primary key column 'a' is float64; a primary key "
                        "must be an int64 or string column"));
}

TEST(TableSchema, ColumnTypesByName) {
  for (const char* name :
       {"int64", "float64", "bool", "string", "bytes", "timestamp", "json"}) {
    auto type = parse_column_type(name);
    ASSERT_TRUE(type.ok()) << type.status();
    EXPECT_EQ(column_type_name(*type), name);
  }
  EXPECT_THAT(parse_column_type("varchar").status().message(),
              HasSubstr("unknown column type 'varchar'; the types are int64"));
}

TEST(TableSchema, AValidRowComesBackCanonical) {
  auto row = sample_schema().validate_row({{"id", 7},
                                           {"score", 3},
                                           {"active", true},
                                           {"title", "hello"},
                                           {"blob", "AAH/"},
                                           {"at", "1970-01-01T00:00:01.5Z"},
                                           {"meta", {{"tags", {"x", "y"}}}}});
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ((*row)["id"], 7);
  EXPECT_TRUE((*row)["score"].is_number_float());  // 3 -> 3.0
  EXPECT_EQ((*row)["score"].get<double>(), 3.0);
  EXPECT_EQ((*row)["blob"], "AAH/");
  EXPECT_EQ((*row)["at"], 1500);
  EXPECT_EQ((*row)["meta"]["tags"][1], "y");
}

TEST(TableSchema, MissingNullableColumnsBecomeNull) {
  auto row = sample_schema().validate_row({{"id", 1}, {"title", "t"}});
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->size(), 7u);
  EXPECT_TRUE((*row)["score"].is_null());
  EXPECT_TRUE((*row)["meta"].is_null());
}

TEST(TableSchema, BadRowsNameTheColumnAndTheExpectedType) {
  struct Case {
    json row;
    std::vector<std::string> says;
  };
  const json base = {{"id", 1}, {"title", "t"}};
  auto with = [&base](const char* column, json value) {
    json r = base;
    r[column] = std::move(value);
    return r;
  };
  const std::vector<Case> cases = {
      {json::array({1, 2}), {"a row must be a JSON object, got array"}},
      {with("nope", 1),
       {"unknown column 'nope'", "the columns are id, score, active"}},
      {{{"title", "t"}},
       {"missing column 'id', which is not nullable (expects int64)"}},
      {with("title", nullptr),
       {"null in column 'title', which is not nullable (expects string)"}},
      {with("id", 1.5), {"column 'id' expects int64, got float 1.5"}},
      {with("id", "1"), {"column 'id' expects int64, got string \"1\""}},
      {with("id", UINT64_MAX), {"column 'id'", "out of the int64 range"}},
      {with("score", "x"), {"column 'score' expects float64"}},
      {with("active", 1), {"column 'active' expects bool, got integer 1"}},
      {with("title", 5), {"column 'title' expects string"}},
      {with("title", std::string("\xff\xfe")), {"not valid UTF-8"}},
      {with("blob", 5), {"column 'blob' expects bytes (a base64 string)"}},
      {with("blob", "abc"), {"column 'blob' expects bytes", "multiple of 4"}},
      {with("at", true), {"column 'at' expects timestamp"}},
      {with("at", "yesterday"),
       {"column 'at' expects timestamp", "not an RFC 3339 timestamp"}},
      {with("at", 1.5), {"column 'at' expects timestamp"}},
  };
  for (const Case& c : cases) {
    auto row = sample_schema().validate_row(c.row);
    ASSERT_EQ(row.status().code(), Code::kInvalidArgument) << c.row.dump();
    for (const auto& s : c.says) {
      EXPECT_THAT(row.status().message(), HasSubstr(s)) << c.row.dump();
    }
  }
}

TEST(TableSchema, ThePrimaryKeyIsNeverNullEvenIfDeclaredNullable) {
  Schema s{.columns = {{"k", ColumnType::kString, true}}, .primary_key = "k"};
  EXPECT_THAT(s.validate_row(json::object()).status().message(),
              HasSubstr("missing column 'k', which is not nullable"));
}

TEST(TableSchema, JsonColumnsTakeAnyValue) {
  Schema s{.columns = {{"j", ColumnType::kJson, false}}};
  for (const json& v : {json(1), json("s"), json::array({1, "a", nullptr}),
                        json{{"a", {{"b", 2}}}}, json(true)}) {
    auto row = s.validate_row({{"j", v}});
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ((*row)["j"], v);
  }
}

TEST(TableSchema, SchemaJsonRoundTripsAndRejectsUnknownMembers) {
  const Schema schema = sample_schema();
  auto back = Schema::from_json(schema.to_json());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, schema);

  auto parsed = Schema::from_json(json::parse(
      R"({"columns": [{"name": "k", "type": "string"}], "primary_key": null})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->columns[0].nullable);
  EXPECT_TRUE(parsed->primary_key.empty());

  EXPECT_THAT(Schema::from_json(json::parse(R"({"columns": [{"name": "k",
                "type": "string", "nulable": true}]})"))
                  .status()
                  .message(),
              HasSubstr("unknown member 'nulable' in column 1"));
  EXPECT_THAT(
      Schema::from_json(
          json::parse(R"({"columns": [{"name": "k", "type": "text"}]})"))
          .status()
          .message(),
      HasSubstr("column 'k': unknown column type 'text'"));
  EXPECT_THAT(
      Schema::from_json(json::parse(R"({"cols": []})")).status().message(),
      HasSubstr("unknown member 'cols'"));
}

TEST(TableSchema, TableInfoAndOptionsJsonRoundTrip) {
  TableInfo info{.id = 42,
                 .ns = "app",
                 .name = "events",
                 .kind = TableKind::kUser,
                 .schema = sample_schema(),
                 .options = {.flush = {.row_count = 1000,
                                       .interval = std::chrono::minutes(5)}},
                 .created_at_ms = 1714559400250};
  const json j = info.to_json();
  EXPECT_EQ(j["kind"], "user");
  EXPECT_EQ(j["options"]["flush"]["interval_ms"], 300000);
  auto back = TableInfo::from_json(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, info);

  EXPECT_EQ(TableInfo::from_json(json{{"id", 1}}).status().code(),
            Code::kCorruption);
  EXPECT_THAT(TableOptions::from_json(json{{"flush", {{"row_count", 0}}}})
                  .status()
                  .message(),
              HasSubstr("flush.row_count must be a positive integer"));
  EXPECT_THAT(TableOptions::from_json(json{{"ttl", 5}}).status().message(),
              HasSubstr("unknown member 'ttl'"));
}

TEST(TableSchema, Base64KnownVectorsAndRandomRoundTrips) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(*base64_decode(encoded), plain);
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 500; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, bytes);
  }
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zh==", "Zm9v!A==", "=Zm9",
                          "Zg==Zg==", "Zm8=Zm8="}) {
    EXPECT_EQ(base64_decode(bad).status().code(), Code::kInvalidArgument)
        << bad;
  }
}

TEST(TableSchema, Rfc3339Timestamps) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c : std::vector<Case>{
           {"1970-01-01T00:00:00Z", 0},
           {"1970-01-01T00:00:01.5Z", 1500},
           {"1969-12-31T23:59:59Z", -1000},
           {"2024-05-01T12:30:00.250+02:00", 1714559400250},
           {"2024-05-01t10:30:00.250z", 1714559400250},
           {"2024-05-01 10:30:00.250999Z", 1714559400250},
           {"2024-05-01T05:30:00.25-05:00", 1714559400250},
           {"2024-02-29T00:00:00Z", 1709164800000},
           {"2016-12-31T23:59:60Z", 1483228800000},  // leap second
       }) {
    auto ms = parse_rfc3339_ms(c.text);
    ASSERT_TRUE(ms.ok()) << c.text << ": " << ms.status();
    EXPECT_EQ(*ms, c.ms) << c.text;
  }
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01T10:30:00", "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z",
        "2024-05-01T10:30:00.Z", "2024-05-01T10:30:00+0200",
        "2024-05-01T10:30:00Zjunk", "24-05-01T10:30:00Z"}) {
    auto ms = parse_rfc3339_ms(bad);
    EXPECT_EQ(ms.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(ms.status().message(), HasSubstr("not an RFC 3339 timestamp"));
  }
}

// --- JSON input limits (json_input.h) --------------------------------------

// `levels` arrays within one another: "[[[...]]]".
std::string nested_arrays(size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

json deep_value(size_t levels) {
  // The library's own parser does not recurse per level, nor does
  // destroying the DOM, nor moving it: only what validate_row() could do
  // with it (dump, copy, compare) would. So the tests move deep values,
  // never copy them.
  return json::parse(nested_arrays(levels));
}

// `row` with column `column` set to a value `levels` deep (moved in).
json with_deep(json row, const std::string& column, size_t levels) {
  row[column] = deep_value(levels);
  return row;
}

TEST(JsonInput, RowsNestedTooDeepAreRefusedNamingTheLimit) {
  // In a json column, where the value's type is allowed.
  auto in_json = sample_schema().validate_row(
      with_deep({{"id", 1}, {"title", "t"}}, "meta", 100'000));
  EXPECT_EQ(in_json.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(in_json.status().message(),
              AllOf(HasSubstr("column 'meta'"), HasSubstr("128 levels")));
  // In a column of another type: the type error quotes a short prefix.
  auto in_string =
      sample_schema().validate_row(with_deep({{"id", 1}}, "title", 100'000));
  EXPECT_EQ(in_string.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(in_string.status().message(),
              AllOf(HasSubstr("column 'title' expects string, got array "
                              "[[[[[[["),
                    HasSubstr("...")));
  EXPECT_LT(in_string.status().message().size(), 200u);
  // As the row itself.
  auto bare = sample_schema().validate_row(deep_value(100'000));
  EXPECT_EQ(bare.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bare.status().message(),
              HasSubstr("a row must be a JSON object, got array [[[["));
  EXPECT_LT(bare.status().message().size(), 200u);
}

TEST(JsonInput, TheDepthLimitIsExact) {
  // The row object is level 1: a json column holds up to 127 more.
  const Schema s{.columns = {{"j", ColumnType::kJson, true}}};
  EXPECT_TRUE(s.validate_row(with_deep({}, "j", kMaxJsonDepth - 1)).ok());
  EXPECT_EQ(s.validate_row(with_deep({}, "j", kMaxJsonDepth)).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(check_json_depth(deep_value(kMaxJsonDepth)).ok());
  EXPECT_TRUE(check_json_depth(json(5)).ok());
  EXPECT_THAT(check_json_depth(deep_value(kMaxJsonDepth + 1)).message(),
              HasSubstr("nested more than 128 levels deep"));
  // Objects count as arrays do.
  json objects = json::object();
  for (size_t i = 0; i < 200; ++i) objects = json{{"k", std::move(objects)}};
  EXPECT_EQ(check_json_depth(objects).code(), Code::kInvalidArgument);
  EXPECT_TRUE(check_json_depth(objects, 201).ok());
}

TEST(JsonInput, HugeValuesAreQuotedShortInMessages) {
  const std::string huge(1'000'000, 'x');
  auto wrong_type =
      sample_schema().validate_row({{"id", huge}, {"title", "t"}});
  EXPECT_EQ(wrong_type.status().code(), Code::kInvalidArgument);
  EXPECT_LT(wrong_type.status().message().size(), 200u);
  auto unknown =
      sample_schema().validate_row({{"id", 1}, {"title", "t"}, {huge, 1}});
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown column 'xxxx"));
  EXPECT_LT(unknown.status().message().size(), 300u);
  EXPECT_EQ(describe_json(json(huge)).size(),
            std::string("string ").size() + 40);
  EXPECT_EQ(describe_json(json{{"a", 1}, {"b", {true, nullptr}}}),
            "object {\"a\":1,\"b\":[true,null]}");
  EXPECT_EQ(describe_json(json("caf\xc3")), "string \"caf\xef\xbf\xbd\"");
}

TEST(JsonInput, ParseRefusesTooDeepAndOutOfRangeText) {
  auto deep = parse_json(nested_arrays(100'000));
  EXPECT_EQ(deep.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(deep.status().message(),
              HasSubstr("nested more than 128 levels deep"));
  auto deep_in_row = parse_json("{\"j\": " + nested_arrays(100'000) + "}");
  EXPECT_EQ(deep_in_row.status().code(), Code::kInvalidArgument);
  auto limit = parse_json(nested_arrays(kMaxJsonDepth));
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_TRUE(check_json_depth(*limit).ok());
  EXPECT_EQ(parse_json(nested_arrays(kMaxJsonDepth + 1)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_json(nested_arrays(3), 2).status().code(),
            Code::kInvalidArgument);

  auto huge_number = parse_json(R"({"score": 1e999})");
  EXPECT_EQ(huge_number.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(huge_number.status().message(),
              AllOf(HasSubstr("out of range"), HasSubstr("1e999")));
  auto bad = parse_json("{\"a\": ");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("not valid JSON"));
  EXPECT_EQ(parse_json("").status().code(), Code::kInvalidArgument);

  auto fine = parse_json(R"({"a": [1, {"b": 2.5}], "c": null})");
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(*fine, json({{"a", {1, {{"b", 2.5}}}}, {"c", nullptr}}));
}

}  // namespace
}  // namespace kalam::tables
