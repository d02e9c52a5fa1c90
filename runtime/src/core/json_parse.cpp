//===- json_parse.cpp - Strict JSON parsing with error positions ---------===//

#include "json.h"

#include <charconv>
#include <cmath>
#include <unordered_set>

namespace smxrt {
namespace json {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexDigitValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void appendUtf8(uint32_t codePoint, std::string &out) {
  if (codePoint < 0x80) {
    out += static_cast<char>(codePoint);
  } else if (codePoint < 0x800) {
    out += static_cast<char>(0xC0 | (codePoint >> 6));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else if (codePoint < 0x10000) {
    out += static_cast<char>(0xE0 | (codePoint >> 12));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (codePoint >> 18));
    out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  }
}

/// Length of the well-formed UTF-8 sequence starting at text[pos] (a
/// non-ASCII lead byte), or 0 if it is malformed, overlong, a surrogate or
/// beyond U+10FFFF.
size_t utf8SequenceLength(std::string_view text, size_t pos) {
  auto byteAt = [&](size_t index) {
    return static_cast<unsigned char>(text[index]);
  };
  unsigned char lead = byteAt(pos);
  size_t length;
  unsigned char secondMin = 0x80, secondMax = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      secondMin = 0xA0; // Overlong.
    if (lead == 0xED)
      secondMax = 0x9F; // Surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      secondMin = 0x90; // Overlong.
    if (lead == 0xF4)
      secondMax = 0x8F; // Beyond U+10FFFF.
  } else {
    return 0;
  }
  if (pos + length > text.size())
    return 0;
  if (byteAt(pos + 1) < secondMin || byteAt(pos + 1) > secondMax)
    return 0;
  for (size_t index = 2; index < length; ++index)
    if ((byteAt(pos + index) & 0xC0) != 0x80)
      return 0;
  return length;
}

class Parser {
public:
  Parser(std::string_view text, ParseError &error) : text(text), error(error) {}

  std::optional<Value> parseDocument() {
    Value result;
    skipWhitespace();
    if (!parseValue(result, 0))
      return std::nullopt;
    skipWhitespace();
    if (pos != text.size()) {
      fail("unexpected data after the JSON value");
      return std::nullopt;
    }
    return result;
  }

private:
  bool fail(std::string message) { return failAt(pos, std::move(message)); }

  bool failAt(size_t offset, std::string message) {
    error.offset = offset;
    error.line = 1;
    error.column = 1;
    for (size_t index = 0; index < offset && index < text.size(); ++index) {
      if (text[index] == '\n') {
        ++error.line;
        error.column = 1;
      } else {
        ++error.column;
      }
    }
    error.message = std::move(message);
    return false;
  }

  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return atEnd() ? '\0' : text[pos]; }

  void skipWhitespace() {
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\t' ||
                        text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool consume(char expected) {
    if (atEnd() || text[pos] != expected)
      return false;
    ++pos;
    return true;
  }

  bool parseValue(Value &out, size_t depth) {
    if (atEnd())
      return fail("unexpected end of input, expected a value");
    char c = text[pos];
    if (c == '{' || c == '[') {
      if (depth >= maxNestingDepth)
        return fail("nesting deeper than " + std::to_string(maxNestingDepth) +
                    " levels");
      return c == '{' ? parseObject(out, depth + 1)
                      : parseArray(out, depth + 1);
    }
    if (c == '"') {
      std::string string;
      if (!parseString(string))
        return false;
      out = Value(std::move(string));
      return true;
    }
    if (c == '-' || isDigit(c))
      return parseNumber(out);
    if (parseKeyword("true"))
      out = Value(true);
    else if (parseKeyword("false"))
      out = Value(false);
    else if (parseKeyword("null"))
      out = Value();
    else
      return fail("expected a value");
    return true;
  }

  bool parseKeyword(std::string_view keyword) {
    if (text.substr(pos, keyword.size()) != keyword)
      return false;
    pos += keyword.size();
    return true;
  }

  bool parseObject(Value &out, size_t depth) {
    ++pos; // '{'
    Object members;
    std::unordered_set<std::string> keys;
    skipWhitespace();
    if (consume('}')) {
      out = Value(std::move(members));
      return true;
    }
    while (true) {
      skipWhitespace();
      if (atEnd() || text[pos] != '"')
        return fail("expected a string as the object key");
      size_t keyOffset = pos;
      std::string key;
      if (!parseString(key))
        return false;
      if (!keys.insert(key).second)
        return failAt(keyOffset, "duplicate key \"" + key + "\"");
      skipWhitespace();
      if (!consume(':'))
        return fail("expected ':' after the object key");
      skipWhitespace();
      Value member;
      if (!parseValue(member, depth))
        return false;
      members.emplace_back(std::move(key), std::move(member));
      skipWhitespace();
      if (consume('}'))
        break;
      if (!consume(','))
        return fail("expected ',' or '}' after an object member");
    }
    out = Value(std::move(members));
    return true;
  }

  bool parseArray(Value &out, size_t depth) {
    ++pos; // '['
    Array elements;
    skipWhitespace();
    if (consume(']')) {
      out = Value(std::move(elements));
      return true;
    }
    while (true) {
      skipWhitespace();
      Value element;
      if (!parseValue(element, depth))
        return false;
      elements.push_back(std::move(element));
      skipWhitespace();
      if (consume(']'))
        break;
      if (!consume(','))
        return fail("expected ',' or ']' after an array element");
    }
    out = Value(std::move(elements));
    return true;
  }

  /// Parses the 4 hex digits of a \u escape at pos.
  bool parseHex4(uint32_t &codeUnit) {
    if (pos + 4 > text.size())
      return fail("expected 4 hex digits after \\u");
    codeUnit = 0;
    for (size_t index = 0; index < 4; ++index) {
      int digit = hexDigitValue(text[pos + index]);
      if (digit < 0)
        return failAt(pos + index, "expected 4 hex digits after \\u");
      codeUnit = codeUnit * 16 + static_cast<uint32_t>(digit);
    }
    pos += 4;
    return true;
  }

  bool parseUnicodeEscape(std::string &out) {
    size_t escapeOffset = pos - 2; // At the backslash.
    uint32_t codePoint;
    if (!parseHex4(codePoint))
      return false;
    if (codePoint >= 0xDC00 && codePoint <= 0xDFFF)
      return failAt(escapeOffset, "unpaired low surrogate in \\u escape");
    if (codePoint >= 0xD800 && codePoint <= 0xDBFF) {
      if (!parseKeyword("\\u"))
        return failAt(escapeOffset, "unpaired high surrogate in \\u escape");
      uint32_t low;
      if (!parseHex4(low))
        return false;
      if (low < 0xDC00 || low > 0xDFFF)
        return failAt(escapeOffset, "unpaired high surrogate in \\u escape");
      codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(codePoint, out);
    return true;
  }

  bool parseString(std::string &out) {
    size_t start = pos;
    ++pos; // '"'
    while (true) {
      if (atEnd())
        return failAt(start, "unterminated string");
      auto c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string (must be escaped)");
      if (c >= 0x80) {
        size_t length = utf8SequenceLength(text, pos);
        if (length == 0)
          return fail("invalid UTF-8 in string");
        out.append(text.substr(pos, length));
        pos += length;
        continue;
      }
      ++pos;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      char escape = peek();
      ++pos;
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u':
        if (!parseUnicodeEscape(out))
          return false;
        break;
      default:
        return failAt(pos - 2, "invalid escape sequence in string");
      }
    }
  }

  bool parseNumber(Value &out) {
    size_t start = pos;
    consume('-');
    if (consume('0')) {
      if (isDigit(peek()))
        return fail("leading zeros are not allowed in numbers");
    } else if (isDigit(peek())) {
      while (isDigit(peek()))
        ++pos;
    } else {
      return fail("expected a digit");
    }
    bool integral = true;
    if (consume('.')) {
      integral = false;
      if (!isDigit(peek()))
        return fail("expected a digit after the decimal point");
      while (isDigit(peek()))
        ++pos;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos;
      integral = false;
      if (peek() == '+' || peek() == '-')
        ++pos;
      if (!isDigit(peek()))
        return fail("expected a digit in the exponent");
      while (isDigit(peek()))
        ++pos;
    }
    const char *first = text.data() + start;
    const char *last = text.data() + pos;
    if (integral) {
      int64_t integer;
      auto [end, errorCode] = std::from_chars(first, last, integer);
      if (errorCode == std::errc() && end == last) {
        out = Value(integer);
        return true;
      }
      // Too large for int64: keep it as a double.
    }
    double number;
    auto [end, errorCode] = std::from_chars(first, last, number);
    if (errorCode != std::errc() || end != last || !std::isfinite(number))
      return failAt(start, "number out of range");
    out = Value(number);
    return true;
  }

  std::string_view text;
  ParseError &error;
  size_t pos = 0;
};

} // namespace

bool isValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t length = utf8SequenceLength(text, pos);
    if (length == 0)
      return false;
    pos += length;
  }
  return true;
}

std::optional<Value> parse(std::string_view text, ParseError &error) {
  return Parser(text, error).parseDocument();
}

} // namespace json
} // namespace smxrt
