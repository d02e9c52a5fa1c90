//===- json.h - A small strict JSON parser and writer ----------*- C++ -*-===//
//
// Used for safetensors headers, checkpoint metadata and JSON-lines metrics.
// Parsing is strict RFC 8259 (no comments, trailing commas, NaN, duplicate
// object keys or invalid UTF-8) and reports the byte offset, line and column
// of the first error, so that a corrupt file gets a precise message.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CORE_JSON_H
#define SMX_RUNTIME_CORE_JSON_H

#include "smx_runtime/api.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace smxrt {
namespace json {

class Value;
using Array = std::vector<Value>;
/// Members in document order; keys are unique.
using Object = std::vector<std::pair<std::string, Value>>;

/// A JSON value. Numbers written without a fraction or exponent that fit in
/// int64 are Integers; every other number is a Double.
class SMXRT_SUPPORT_API Value {
public:
  enum class Kind { Null, Bool, Integer, Double, String, Array, Object };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool boolean) : storage(boolean) {}
  template <typename Integer,
            std::enable_if_t<std::is_integral_v<Integer> &&
                                 !std::is_same_v<Integer, bool>,
                             int> = 0>
  Value(Integer integer) : storage(static_cast<int64_t>(integer)) {}
  Value(double number) : storage(number) {}
  Value(const char *string) : storage(std::string(string)) {}
  Value(std::string string) : storage(std::move(string)) {}
  Value(std::string_view string) : storage(std::string(string)) {}
  Value(json::Array array) : storage(std::move(array)) {}
  Value(json::Object object) : storage(std::move(object)) {}

  Kind kind() const { return static_cast<Kind>(storage.index()); }
  bool isNull() const { return kind() == Kind::Null; }
  bool isBool() const { return kind() == Kind::Bool; }
  bool isInteger() const { return kind() == Kind::Integer; }
  bool isDouble() const { return kind() == Kind::Double; }
  bool isNumber() const { return isInteger() || isDouble(); }
  bool isString() const { return kind() == Kind::String; }
  bool isArray() const { return kind() == Kind::Array; }
  bool isObject() const { return kind() == Kind::Object; }

  // Accessors require the matching kind (checked by std::get).
  bool getBool() const { return std::get<bool>(storage); }
  int64_t getInteger() const { return std::get<int64_t>(storage); }
  /// Any number, converted to double.
  double getNumber() const;
  const std::string &getString() const {
    return std::get<std::string>(storage);
  }
  const json::Array &getArray() const { return std::get<json::Array>(storage); }
  json::Array &getArray() { return std::get<json::Array>(storage); }
  const json::Object &getObject() const {
    return std::get<json::Object>(storage);
  }
  json::Object &getObject() { return std::get<json::Object>(storage); }

  /// The member named `key`; nullptr if absent or if this is not an object.
  const Value *find(std::string_view key) const;

  /// The name of a kind for messages: "null", "a boolean", "an integer", ...
  static const char *describeKind(Kind kind);

  friend bool operator==(const Value &lhs, const Value &rhs) {
    return lhs.storage == rhs.storage;
  }
  friend bool operator!=(const Value &lhs, const Value &rhs) {
    return !(lhs == rhs);
  }

private:
  // The alternatives' order matches Kind.
  std::variant<std::monostate, bool, int64_t, double, std::string, json::Array,
               json::Object>
      storage;
};

struct ParseError {
  size_t offset = 0;   ///< Byte offset into the parsed text.
  size_t line = 1;     ///< 1-based.
  size_t column = 1;   ///< 1-based, in bytes.
  std::string message; ///< E.g. "expected ',' or '}' after an object member".
};

/// Objects and arrays nested deeper than this are rejected rather than
/// risking the stack.
constexpr size_t maxNestingDepth = 512;

/// Parses `text`, which must hold exactly one JSON value, optionally
/// surrounded by whitespace. On failure returns std::nullopt and fills
/// `error`.
SMXRT_SUPPORT_API std::optional<Value> parse(std::string_view text,
                                             ParseError &error);

/// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or code
/// points beyond U+10FFFF), as every JSON string must be.
SMXRT_SUPPORT_API bool isValidUtf8(std::string_view text);

/// Serializes compactly (no spaces), object members in order. Non-finite
/// doubles, which JSON cannot represent, become null.
SMXRT_SUPPORT_API std::string serialize(const Value &value);
/// Appends the serialization of `value` to `out`.
SMXRT_SUPPORT_API void serializeTo(const Value &value, std::string &out);
/// Appends `text` as a quoted, escaped JSON string.
SMXRT_SUPPORT_API void appendQuoted(std::string_view text, std::string &out);

} // namespace json
} // namespace smxrt

#endif // SMX_RUNTIME_CORE_JSON_H
