//===- JsonTest.cpp - The internal JSON parser and writer ----------------===//

#include "json.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace smxrt::json;

namespace {

Value parseOrFail(std::string_view text) {
  ParseError error;
  std::optional<Value> value = parse(text, error);
  EXPECT_TRUE(value) << "'" << text << "': at byte " << error.offset << ": "
                     << error.message;
  return value ? *value : Value();
}

TEST(JsonParse, Literals) {
  EXPECT_TRUE(parseOrFail("null").isNull());
  EXPECT_TRUE(parseOrFail(" true ").getBool());
  EXPECT_FALSE(parseOrFail("\tfalse\r\n").getBool());
}

TEST(JsonParse, IntegersAndDoubles) {
  EXPECT_EQ(parseOrFail("0").getInteger(), 0);
  EXPECT_EQ(parseOrFail("-0").getInteger(), 0);
  EXPECT_EQ(parseOrFail("123").getInteger(), 123);
  EXPECT_EQ(parseOrFail("-9223372036854775808").getInteger(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(parseOrFail("9223372036854775807").getInteger(),
            std::numeric_limits<int64_t>::max());
  Value beyondInt64 = parseOrFail("9223372036854775808");
  ASSERT_TRUE(beyondInt64.isDouble());
  EXPECT_EQ(beyondInt64.getNumber(), 9223372036854775808.0);
  Value fraction = parseOrFail("1.5");
  ASSERT_TRUE(fraction.isDouble());
  EXPECT_EQ(fraction.getNumber(), 1.5);
  Value exponent = parseOrFail("1e3");
  ASSERT_TRUE(exponent.isDouble());
  EXPECT_EQ(exponent.getNumber(), 1000.0);
  EXPECT_EQ(parseOrFail("-2.5E-3").getNumber(), -2.5e-3);
  EXPECT_EQ(parseOrFail("0.1").getNumber(), 0.1);
  EXPECT_EQ(parseOrFail("7").getNumber(), 7.0);
}

TEST(JsonParse, StringEscapesDecodeToUtf8) {
  EXPECT_EQ(parseOrFail(R"("\"\\\/\b\f\n\r\t")").getString(),
            "\"\\/\b\f\n\r\t");
  EXPECT_EQ(parseOrFail(R"("\u0041\u00e9\u2603")").getString(),
            "A\xC3\xA9\xE2\x98\x83");
  // A surrogate pair is one code point, U+1F600.
  EXPECT_EQ(parseOrFail(R"("\ud83d\uDE00")").getString(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(parseOrFail(R"("\u0000")").getString(), std::string(1, '\0'));
  // Raw UTF-8 passes through.
  EXPECT_EQ(parseOrFail("\"h\xC3\xA9llo \xF0\x9F\x98\x80\"").getString(),
            "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

TEST(JsonParse, ArraysAndObjectsKeepOrder) {
  Value value = parseOrFail(
      R"({"z": [1, 2.5, "x", [], {}], "a": {"nested": null}, "m": true})");
  ASSERT_TRUE(value.isObject());
  const Object &object = value.getObject();
  ASSERT_EQ(object.size(), 3u);
  EXPECT_EQ(object[0].first, "z");
  EXPECT_EQ(object[1].first, "a");
  EXPECT_EQ(object[2].first, "m");
  const Array &array = value.find("z")->getArray();
  ASSERT_EQ(array.size(), 5u);
  EXPECT_EQ(array[0].getInteger(), 1);
  EXPECT_EQ(array[1].getNumber(), 2.5);
  EXPECT_EQ(array[2].getString(), "x");
  EXPECT_TRUE(array[3].getArray().empty());
  EXPECT_TRUE(array[4].getObject().empty());
  EXPECT_TRUE(value.find("a")->find("nested")->isNull());
  EXPECT_EQ(value.find("missing"), nullptr);
  EXPECT_EQ(array[0].find("z"), nullptr);
}

TEST(JsonParse, NestingUpToTheLimit) {
  std::string deepest =
      std::string(maxNestingDepth, '[') + std::string(maxNestingDepth, ']');
  EXPECT_TRUE(parseOrFail(deepest).isArray());
}

struct ErrorCase {
  const char *name;
  std::string text;
  size_t offset;
  std::string message;
};

std::ostream &operator<<(std::ostream &stream, const ErrorCase &errorCase) {
  return stream << errorCase.name;
}

class JsonParseError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JsonParseError, ReportsOffsetAndProblem) {
  const ErrorCase &errorCase = GetParam();
  ParseError error;
  EXPECT_FALSE(parse(errorCase.text, error)) << errorCase.text;
  EXPECT_EQ(error.offset, errorCase.offset) << errorCase.text;
  EXPECT_EQ(error.message, errorCase.message) << errorCase.text;
}

INSTANTIATE_TEST_SUITE_P(
    Strict, JsonParseError,
    ::testing::Values(
        ErrorCase{"EmptyInput", "", 0,
                  "unexpected end of input, expected a value"},
        ErrorCase{"OnlyWhitespace", "  ", 2,
                  "unexpected end of input, expected a value"},
        ErrorCase{"TrailingCommaInArray", "[1,]", 3, "expected a value"},
        ErrorCase{"TrailingCommaInObject", R"({"a":1,})", 7,
                  "expected a string as the object key"},
        ErrorCase{"UnquotedKey", R"({a:1})", 1,
                  "expected a string as the object key"},
        ErrorCase{"MissingColon", R"({"a" 1})", 5,
                  "expected ':' after the object key"},
        ErrorCase{"MissingCommaInObject", R"({"a":1 "b":2})", 7,
                  "expected ',' or '}' after an object member"},
        ErrorCase{"MissingCommaInArray", "[1 2]", 3,
                  "expected ',' or ']' after an array element"},
        ErrorCase{"UnclosedArray", "[1", 2,
                  "expected ',' or ']' after an array element"},
        ErrorCase{"LeadingZero", "01", 1,
                  "leading zeros are not allowed in numbers"},
        ErrorCase{"NoFractionDigits", "1.", 2,
                  "expected a digit after the decimal point"},
        ErrorCase{"NoIntegerDigits", ".5", 0, "expected a value"},
        ErrorCase{"NoExponentDigits", "1e", 2,
                  "expected a digit in the exponent"},
        ErrorCase{"LoneMinus", "-", 1, "expected a digit"},
        ErrorCase{"PlusSign", "+1", 0, "expected a value"},
        ErrorCase{"DoubleOverflow", "1e400", 0, "number out of range"},
        ErrorCase{"NaN", "NaN", 0, "expected a value"},
        ErrorCase{"TruncatedKeyword", "tru", 0, "expected a value"},
        ErrorCase{"Comment", "// comment\n1", 0, "expected a value"},
        ErrorCase{"TrailingData", "[1] x", 4,
                  "unexpected data after the JSON value"},
        ErrorCase{"UnterminatedString", "\"abc", 0, "unterminated string"},
        ErrorCase{"ControlCharacter", "\"a\x01\"", 2,
                  "control character in string (must be escaped)"},
        ErrorCase{"InvalidEscape", R"("\x")", 1,
                  "invalid escape sequence in string"},
        ErrorCase{"BadHexDigit", R"("\u12G4")", 5,
                  "expected 4 hex digits after \\u"},
        ErrorCase{"ShortUnicodeEscape", R"("\u12")", 3,
                  "expected 4 hex digits after \\u"},
        ErrorCase{"LoneLowSurrogate", R"("\udc00")", 1,
                  "unpaired low surrogate in \\u escape"},
        ErrorCase{"LoneHighSurrogate", R"("\ud800x")", 1,
                  "unpaired high surrogate in \\u escape"},
        ErrorCase{"HighSurrogateWithoutLow", R"("\ud800\u0041")", 1,
                  "unpaired high surrogate in \\u escape"},
        ErrorCase{"TruncatedUtf8", "\"\xC3\"", 1, "invalid UTF-8 in string"},
        ErrorCase{"OverlongUtf8", "\"\xC0\xAF\"", 1, "invalid UTF-8 in string"},
        ErrorCase{"EncodedSurrogate", "\"\xED\xA0\x80\"", 1,
                  "invalid UTF-8 in string"},
        ErrorCase{"BeyondUnicode", "\"\xF4\x90\x80\x80\"", 1,
                  "invalid UTF-8 in string"},
        ErrorCase{"InvalidUtf8Byte", "\"\xFF\"", 1, "invalid UTF-8 in string"},
        ErrorCase{"DuplicateKey", R"({"a":1,"a":2})", 7, "duplicate key \"a\""},
        ErrorCase{"DuplicateEscapedKey", R"({"a":1,"\u0061":2})", 7,
                  "duplicate key \"a\""},
        ErrorCase{"TooDeep", std::string(maxNestingDepth + 1, '['),
                  maxNestingDepth, "nesting deeper than 512 levels"}),
    [](const ::testing::TestParamInfo<ErrorCase> &info) {
      return std::string(info.param.name);
    });

TEST(JsonParse, ErrorLineAndColumn) {
  ParseError error;
  EXPECT_FALSE(parse("{\n  \"a\": tru\n}", error));
  EXPECT_EQ(error.offset, 9u);
  EXPECT_EQ(error.line, 2u);
  EXPECT_EQ(error.column, 8u);
}

TEST(JsonUtf8, Validation) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("\xC3\xA9\xE2\x98\x83\xF0\x9F\x98\x80"));
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF")); // U+10FFFF
  EXPECT_FALSE(isValidUtf8("\x80"));
  EXPECT_FALSE(isValidUtf8("\xE2\x98"));         // Truncated.
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));     // Overlong.
  EXPECT_FALSE(isValidUtf8("\xED\xB0\x80"));     // Surrogate.
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80")); // Beyond U+10FFFF.
}

TEST(JsonSerialize, Compact) {
  Value value(Object{
      {"name", "w"},
      {"shape", Array{2, 3}},
      {"offsets", Array{int64_t(0), int64_t(24)}},
      {"flags", Array{true, false, nullptr}},
      {"empty", Object{}},
  });
  EXPECT_EQ(serialize(value), R"({"name":"w","shape":[2,3],"offsets":[0,24],)"
                              R"("flags":[true,false,null],"empty":{}})");
}

TEST(JsonSerialize, EscapesStrings) {
  EXPECT_EQ(serialize(Value("a\"b\\c\n\t\x01\x1f")),
            R"("a\"b\\c\n\t\u0001\u001f")");
  // Non-ASCII UTF-8 is written as is.
  EXPECT_EQ(serialize(Value("\xC3\xA9")), "\"\xC3\xA9\"");
}

TEST(JsonSerialize, NumbersRoundTrip) {
  EXPECT_EQ(serialize(Value(0.1)), "0.1");
  EXPECT_EQ(serialize(Value(1.0)), "1.0");
  EXPECT_EQ(serialize(Value(-2.5e-3)), "-0.0025");
  EXPECT_EQ(serialize(Value(1e300)), "1e+300");
  EXPECT_EQ(serialize(Value(std::nan(""))), "null");
  EXPECT_EQ(serialize(Value(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(serialize(Value(std::numeric_limits<int64_t>::min())),
            "-9223372036854775808");
  for (double number : {0.1, 1.0 / 3.0, 6.02214076e23, 5e-324, -1e300}) {
    Value parsed = parseOrFail(serialize(Value(number)));
    ASSERT_TRUE(parsed.isDouble());
    EXPECT_EQ(parsed.getNumber(), number);
  }
}

TEST(JsonSerialize, ParseOfSerializeIsIdentity) {
  Value value = parseOrFail(
      R"({"__metadata__":{"note":"h\u00e9 \ud83d\ude00"},"t":{"dtype":"F32",)"
      R"("shape":[],"data_offsets":[0,4]},"x":[1.5,-7,[null,false]]})");
  EXPECT_EQ(parseOrFail(serialize(value)), value);
}

} // namespace
