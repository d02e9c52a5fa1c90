//===- corpus.h - Reading a text corpus -------------------------*- C++ -*-===//
//
// A corpus is a list of normalized documents, each with a category: the
// name of the file it came from. Fortune files (quotes separated by lines
// holding only "%") give one document per quote; other text files give one
// document per blank-line-separated paragraph. In a directory, every
// regular file whose name does not start with "." or end in ".dat" or ".u8"
// is read, in name order; symbolic links and subdirectories are skipped.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_CORPUS_H
#define SMX_RUNTIME_DATA_CORPUS_H

#include "smx_runtime/status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {
namespace data {

/// The default corpus: Debian's `fortunes` package, read in place.
constexpr const char *defaultCorpusPath = "/usr/share/games/fortunes";

struct Document {
  std::string text;  ///< Normalized, never empty.
  uint32_t category; ///< Index into Corpus::categories.
};

struct Corpus {
  std::string path;
  /// Names of the files that hold documents, sorted byte-wise.
  std::vector<std::string> categories;
  /// In category order, then in order within each file.
  std::vector<Document> documents;
};

/// Reads a whole file. Errors: "<path>: cannot read: <strerror>", with
/// NOT_FOUND for a missing file and IO_ERROR otherwise.
smxrt_status_t readWholeFile(const std::string &path, std::string &contents);

/// Whether `contents` is in fortune format: some line is exactly "%" (a
/// trailing "\r" allowed).
bool isFortuneFormat(std::string_view contents);

/// Splits a file's contents into normalized, non-empty documents: quotes of
/// a fortune file, paragraphs of any other.
std::vector<std::string> splitDocuments(std::string_view contents);

/// Whether a directory entry named `name` is a corpus file by its name
/// (hidden files, ".dat" indexes and ".u8" duplicates are not).
bool isCorpusFileName(std::string_view name);

/// Reads a corpus from a file or a directory (not recursively). Errors name
/// the path: "<path>: cannot read: <strerror>" (NOT_FOUND for a missing
/// path, IO_ERROR otherwise), and INVALID_ARGUMENT when no document is
/// found.
smxrt_status_t readCorpus(const std::string &path, Corpus &corpus);

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_CORPUS_H
