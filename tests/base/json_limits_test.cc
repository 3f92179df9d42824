// Tests for base/json_limits: each limit passes at its boundary and fails one
// over, depth bombs cost no stack, trailing bytes (garbage, NUL) are rejected,
// and the structural scan agrees with nlohmann on what is well-formed.
// Run: build/tests/yun_base_tests --gtest_filter='JsonLimits*'
#include "yun/base/json_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace yun {
namespace {

JsonLimits small() {
  JsonLimits l;
  l.max_depth = 3;
  l.max_string_bytes = 5;
  l.max_elements = 4;
  l.max_nodes = 10;
  return l;
}

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(size_t depth) {
  std::string s;
  for (size_t k = 0; k < depth; ++k) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

std::string message(const Status& s) { return s.message(); }

TEST(JsonLimits, DepthAtTheBoundaryPassesOneOverFails) {
  EXPECT_TRUE(check_json_limits(nested_arrays(3), small()).is_ok());
  EXPECT_TRUE(check_json_limits(nested_objects(3), small()).is_ok());
  Status s = check_json_limits(nested_arrays(4), small());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(message(s).find("JSON nesting deeper than 3"), std::string::npos) << message(s);
  EXPECT_NE(message(check_json_limits(nested_objects(4), small())).find("nesting deeper than 3"),
            std::string::npos);
  // The request preset: 64 deep passes, 65 fails.
  EXPECT_TRUE(parse_json_bounded(nested_arrays(64), JsonLimits::request()).is_ok());
  auto r = parse_json_bounded(nested_arrays(65), JsonLimits::request());
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("JSON nesting deeper than 64"), std::string::npos);
}

TEST(JsonLimits, DepthBombsFailWithoutRecursion) {
  for (const std::string& bomb :
       {std::string(100000, '['), nested_arrays(100000), nested_objects(100000), [] {
          std::string s;
          for (int k = 0; k < 100000; ++k) s += "{\"a\":";
          return s;
        }()}) {
    Status s = check_json_limits(bomb, JsonLimits::model_file());
    EXPECT_NE(message(s).find("JSON nesting deeper than 256"), std::string::npos) << message(s);
    auto r = parse_json_bounded<nlohmann::json>(bomb, JsonLimits::request());
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("deeper than 64"), std::string::npos);
  }
}

TEST(JsonLimits, StringLengthCountsBytesAsWritten) {
  EXPECT_TRUE(check_json_limits(R"(["abcde"])", small()).is_ok());
  EXPECT_TRUE(check_json_limits(R"({"abcde":1})", small()).is_ok());
  EXPECT_TRUE(check_json_limits(R"(["a\"\\"])", small()).is_ok());  // a \" \\ : 5 bytes
  Status s = check_json_limits(R"(["abcdef"])", small());
  EXPECT_NE(message(s).find("JSON string longer than 5 bytes"), std::string::npos) << message(s);
  EXPECT_FALSE(check_json_limits(R"({"abcdef":1})", small()).is_ok());  // keys too
  // An escaped quote does not end the string.
  EXPECT_TRUE(check_json_limits(R"(["ab\"c"])", small()).is_ok());
  EXPECT_FALSE(check_json_limits(R"(["ab\"cd"])", small()).is_ok());
}

TEST(JsonLimits, ElementsPerContainer) {
  EXPECT_TRUE(check_json_limits("[1,2,3,4]", small()).is_ok());
  Status s = check_json_limits("[1,2,3,4,5]", small());
  EXPECT_NE(message(s).find("JSON array or object with more than 4 elements"), std::string::npos)
      << message(s);
  EXPECT_TRUE(check_json_limits(R"({"a":1,"b":2,"c":3,"d":4})", small()).is_ok());
  EXPECT_FALSE(check_json_limits(R"({"a":1,"b":2,"c":3,"d":4,"e":5})", small()).is_ok());
  // Per container, not per document: two arrays of 4 are fine.
  EXPECT_TRUE(check_json_limits("[[1,2,3],[4,5,6]]", small()).is_ok());
}

TEST(JsonLimits, TotalValues) {
  // [[1,2,3],[4,5,6]] is 9 values; one more array with one value makes 11.
  EXPECT_TRUE(check_json_limits("[[1,2,3],[4,5,6]]", small()).is_ok());
  EXPECT_TRUE(check_json_limits("[[1,2,3],[4,5,6],null]", small()).is_ok());  // exactly 10
  Status s = check_json_limits("[[1,2,3],[4,5,6],[7]]", small());
  EXPECT_NE(message(s).find("JSON document with more than 10 values"), std::string::npos)
      << message(s);
}

TEST(JsonLimits, TrailingBytesAreRejected) {
  // nlohmann alone accepts a NUL after the value (it reads it as the end of
  // input); the scan rejects it, and garbage or a second value.
  std::string nul = std::string(R"({"a":1})") + '\0';
  EXPECT_FALSE(nlohmann::json::parse(nul.begin(), nul.end(), nullptr, false).is_discarded());
  for (const std::string& t : {nul, std::string(R"({"a":1} x)"), std::string(R"({"a":1}{})"),
                               std::string("1 2"), std::string(R"("s" "t")")}) {
    Status s = check_json_limits(t, JsonLimits::request());
    EXPECT_NE(message(s).find("trailing bytes after the JSON value"), std::string::npos)
        << message(s);
    EXPECT_FALSE(parse_json_bounded(t, JsonLimits::request()).is_ok());
  }
  EXPECT_TRUE(parse_json_bounded(" {\"a\":1} \r\n\t", JsonLimits::request()).is_ok());
}

TEST(JsonLimits, StructuralErrors) {
  for (const char* bad : {"", "   ", "[", "[1,", "{\"a\"", "{\"a\":}", "[1 2]", "{1:2}", "[}", "{]",
                          "]", "\"abc", "[,]", "{,}", "@"}) {
    Status s = check_json_limits(bad, JsonLimits::request());
    EXPECT_FALSE(s.is_ok()) << bad;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    // nlohmann agrees these are not JSON.
    std::string_view v(bad);
    EXPECT_TRUE(nlohmann::json::parse(v.begin(), v.end(), nullptr, false).is_discarded()) << bad;
  }
  // Scalar spelling is the parser's job: the scan passes it, the parse fails.
  EXPECT_TRUE(check_json_limits("[tru]", JsonLimits::request()).is_ok());
  auto r = parse_json_bounded("[tru]", JsonLimits::request());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "malformed JSON");
}

TEST(JsonLimits, ParsesValidDocuments) {
  const char* text = R"({"z":[1,-2.5e3,true,false,null,"x\u00e9\"y"],"a":{"b":{}},"c":[]})";
  auto ordered = parse_json_bounded(text, JsonLimits::request());
  ASSERT_TRUE(ordered.is_ok()) << ordered.status().to_string();
  EXPECT_EQ(ordered->begin().key(), "z");  // insertion order kept
  EXPECT_EQ((*ordered)["z"][5], "x\xc3\xa9\"y");
  auto plain = parse_json_bounded<nlohmann::json>(text, JsonLimits::model_file());
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->dump(), nlohmann::json::parse(text).dump());
  EXPECT_TRUE(parse_json_bounded("42", JsonLimits::request()).is_ok());
  EXPECT_TRUE(parse_json_bounded("\"s\"", JsonLimits::request()).is_ok());
}

TEST(JsonLimits, TellsLimitErrorsFromSyntaxErrors) {
  EXPECT_TRUE(is_json_limit_error(check_json_limits(nested_arrays(4), small())));
  EXPECT_TRUE(is_json_limit_error(check_json_limits(R"(["abcdef"])", small())));
  EXPECT_TRUE(is_json_limit_error(check_json_limits("[1,2,3,4,5]", small())));
  EXPECT_TRUE(is_json_limit_error(check_json_limits("[[1,2,3],[4,5,6],[7]]", small())));
  EXPECT_FALSE(is_json_limit_error(check_json_limits("[1,", small())));
  EXPECT_FALSE(is_json_limit_error(check_json_limits("[1] x", small())));
  EXPECT_FALSE(is_json_limit_error(parse_json_bounded("[tru]", small()).status()));
  EXPECT_FALSE(is_json_limit_error(Status::ok()));
}

}  // namespace
}  // namespace yun
