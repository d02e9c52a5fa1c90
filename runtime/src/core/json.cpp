//===- json.cpp - JSON values and serialization --------------------------===//

#include "json.h"

#include <charconv>
#include <cmath>

namespace smxrt {
namespace json {

double Value::getNumber() const {
  return isInteger() ? static_cast<double>(getInteger())
                     : std::get<double>(storage);
}

const Value *Value::find(std::string_view key) const {
  if (!isObject())
    return nullptr;
  for (const auto &[memberKey, memberValue] : getObject())
    if (memberKey == key)
      return &memberValue;
  return nullptr;
}

const char *Value::describeKind(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "a boolean";
  case Kind::Integer:
    return "an integer";
  case Kind::Double:
    return "a non-integer number";
  case Kind::String:
    return "a string";
  case Kind::Array:
    return "an array";
  case Kind::Object:
    return "an object";
  }
  return "unknown";
}

void appendQuoted(std::string_view text, std::string &out) {
  static const char hexDigits[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        out += "\\u00";
        out += hexDigits[(c >> 4) & 0xF];
        out += hexDigits[c & 0xF];
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

namespace {

void appendDouble(double number, std::string &out) {
  if (!std::isfinite(number)) {
    out += "null";
    return;
  }
  char buffer[32];
  auto [end, errorCode] =
      std::to_chars(buffer, buffer + sizeof(buffer), number);
  (void)errorCode; // 32 bytes always hold the shortest form of a double.
  std::string_view digits(buffer, static_cast<size_t>(end - buffer));
  out += digits;
  // Keep the value a Double when it is read back.
  if (digits.find_first_of(".eE") == std::string_view::npos)
    out += ".0";
}

} // namespace

void serializeTo(const Value &value, std::string &out) {
  switch (value.kind()) {
  case Value::Kind::Null:
    out += "null";
    return;
  case Value::Kind::Bool:
    out += value.getBool() ? "true" : "false";
    return;
  case Value::Kind::Integer:
    out += std::to_string(value.getInteger());
    return;
  case Value::Kind::Double:
    appendDouble(value.getNumber(), out);
    return;
  case Value::Kind::String:
    appendQuoted(value.getString(), out);
    return;
  case Value::Kind::Array: {
    out += '[';
    bool first = true;
    for (const Value &element : value.getArray()) {
      if (!first)
        out += ',';
      first = false;
      serializeTo(element, out);
    }
    out += ']';
    return;
  }
  case Value::Kind::Object: {
    out += '{';
    bool first = true;
    for (const auto &[key, member] : value.getObject()) {
      if (!first)
        out += ',';
      first = false;
      appendQuoted(key, out);
      out += ':';
      serializeTo(member, out);
    }
    out += '}';
    return;
  }
  }
}

std::string serialize(const Value &value) {
  std::string out;
  serializeTo(value, out);
  return out;
}

} // namespace json
} // namespace smxrt
