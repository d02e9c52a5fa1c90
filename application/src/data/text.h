//===- text.h - Text normalization and hashing ------------------*- C++ -*-===//
//
// What every document and example goes through before the tokenizer sees
// it, and the stable hash that decides the held-out split.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_TEXT_H
#define SMX_RUNTIME_DATA_TEXT_H

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace smxrt {
namespace data {

/// Returns `raw` as clean UTF-8 on one line:
///   - a backspace deletes the character before it, which turns the
///     overstrike of old fortune files ("_\bA", "___\b\b\bnot") into the
///     text it shows ("A", "not");
///   - an invalid UTF-8 byte becomes U+FFFD;
///   - other control characters (C0 but whitespace, DEL, C1) are dropped;
///   - runs of ASCII whitespace (space, \t, \n, \v, \f, \r) become one space,
///     and leading and trailing whitespace is removed.
std::string normalizeText(std::string_view raw);

/// 64-bit FNV-1a of the bytes of `text`.
uint64_t fnv1a64(std::string_view text);

/// Whether an example with this (normalized) text belongs to the held-out
/// set: fnv1a64(text) % 10 == 0.
inline bool isHeldOut(std::string_view text) { return fnv1a64(text) % 10 == 0; }

/// Calls `onLine` with each line of `contents`, without its "\n" or "\r\n".
template <typename OnLine>
void forEachLine(std::string_view contents, OnLine &&onLine) {
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    if (end == std::string_view::npos)
      end = contents.size();
    std::string_view line = contents.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    onLine(line);
    start = end + 1;
  }
}

/// Whether `line` holds nothing but ASCII spaces and tabs (and \v, \f).
inline bool isBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char character) {
    return character == ' ' || character == '\t' || character == '\v' ||
           character == '\f';
  });
}

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_TEXT_H
