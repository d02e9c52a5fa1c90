//===- text.cpp - Text normalization and hashing --------------------------===//

#include "data/text.h"

namespace smxrt {
namespace data {
namespace {

constexpr std::string_view replacementCharacter = "\xEF\xBF\xBD";

bool isAsciiWhitespace(unsigned char byte) {
  return byte == ' ' || (byte >= '\t' && byte <= '\r');
}

bool isContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// The length of the well-formed UTF-8 sequence (Unicode table 3-7) that
/// starts at `text[at]`, a byte >= 0x80; 0 if there is none.
size_t sequenceLength(std::string_view text, size_t at) {
  auto byteAt = [&](size_t index) -> unsigned char {
    return index < text.size() ? static_cast<unsigned char>(text[index]) : 0;
  };
  unsigned char lead = byteAt(at);
  unsigned char second = byteAt(at + 1);
  size_t length;
  unsigned char low = 0x80, high = 0xBF; // Range of the second byte.
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      low = 0xA0; // No overlong forms.
    else if (lead == 0xED)
      high = 0x9F; // No surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      low = 0x90;
    else if (lead == 0xF4)
      high = 0x8F; // Nothing above U+10FFFF.
  } else {
    return 0;
  }
  if (second < low || second > high)
    return 0;
  for (size_t index = 2; index < length; ++index)
    if (!isContinuation(byteAt(at + index)))
      return 0;
  return length;
}

/// Whether a 2-byte sequence encodes a C1 control (U+0080 to U+009F).
bool isC1Control(std::string_view text, size_t at, size_t length) {
  return length == 2 && static_cast<unsigned char>(text[at]) == 0xC2 &&
         static_cast<unsigned char>(text[at + 1]) <= 0x9F;
}

/// Removes the last character (code point) of valid UTF-8 `text`.
void eraseLastCharacter(std::string &text) {
  while (!text.empty() && isContinuation(text.back()))
    text.pop_back();
  if (!text.empty())
    text.pop_back();
}

/// Valid UTF-8 without controls; whitespace mapped to spaces, not collapsed.
std::string cleanCharacters(std::string_view raw) {
  std::string clean;
  clean.reserve(raw.size());
  for (size_t at = 0; at < raw.size();) {
    auto byte = static_cast<unsigned char>(raw[at]);
    if (byte < 0x80) {
      if (byte == '\b')
        eraseLastCharacter(clean);
      else if (isAsciiWhitespace(byte))
        clean.push_back(' ');
      else if (byte >= 0x20 && byte != 0x7F)
        clean.push_back(static_cast<char>(byte));
      ++at;
      continue;
    }
    size_t length = sequenceLength(raw, at);
    if (length == 0) {
      clean.append(replacementCharacter);
      ++at;
      continue;
    }
    if (!isC1Control(raw, at, length))
      clean.append(raw.substr(at, length));
    at += length;
  }
  return clean;
}

} // namespace

std::string normalizeText(std::string_view raw) {
  std::string clean = cleanCharacters(raw);
  std::string result;
  result.reserve(clean.size());
  bool pendingSpace = false;
  for (char character : clean) {
    if (character == ' ') {
      pendingSpace = !result.empty();
      continue;
    }
    if (pendingSpace)
      result.push_back(' ');
    pendingSpace = false;
    result.push_back(character);
  }
  return result;
}

uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (char character : text) {
    hash ^= static_cast<unsigned char>(character);
    hash *= 0x100000001B3ull;
  }
  return hash;
}

} // namespace data
} // namespace smxrt
