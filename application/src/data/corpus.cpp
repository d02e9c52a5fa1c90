//===- corpus.cpp - Reading a text corpus ---------------------------------===//

#include "data/corpus.h"

#include "data/text.h"

#include "status_internal.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace smxrt {
namespace data {
namespace {

smxrt_status_t cannotRead(const std::string &path, int error) {
  return makeStatusf(error == ENOENT ? SMXRT_STATUS_NOT_FOUND
                                     : SMXRT_STATUS_IO_ERROR,
                     "%s: cannot read: %s", path.c_str(), std::strerror(error));
}

/// Appends the normalized `raw` to `documents` unless it is empty.
void addDocument(std::string_view raw, std::vector<std::string> &documents) {
  std::string text = normalizeText(raw);
  if (!text.empty())
    documents.push_back(std::move(text));
}

std::vector<std::string> splitBy(std::string_view contents,
                                 bool (*isSeparator)(std::string_view)) {
  std::vector<std::string> documents;
  std::string current;
  forEachLine(contents, [&](std::string_view line) {
    if (isSeparator(line)) {
      addDocument(current, documents);
      current.clear();
      return;
    }
    current.append(line);
    current.push_back('\n');
  });
  addDocument(current, documents);
  return documents;
}

bool isQuoteSeparator(std::string_view line) { return line == "%"; }

std::string baseName(const std::string &path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/')
    trimmed.pop_back();
  size_t slash = trimmed.find_last_of('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

/// Adds the documents of one file, under the category `name`.
smxrt_status_t addFile(const std::string &path, const std::string &name,
                       Corpus &corpus) {
  std::string contents;
  SMXRT_RETURN_IF_ERROR(readWholeFile(path, contents));
  std::vector<std::string> texts = splitDocuments(contents);
  if (texts.empty())
    return nullptr;
  auto category = static_cast<uint32_t>(corpus.categories.size());
  corpus.categories.push_back(name);
  for (std::string &text : texts)
    corpus.documents.push_back(Document{std::move(text), category});
  return nullptr;
}

/// The names of a directory's entries, sorted.
smxrt_status_t listDirectory(const std::string &path,
                             std::vector<std::string> &names) {
  DIR *directory = ::opendir(path.c_str());
  if (!directory)
    return cannotRead(path, errno);
  errno = 0;
  while (const struct dirent *entry = ::readdir(directory))
    names.emplace_back(entry->d_name);
  int error = errno;
  ::closedir(directory);
  if (error)
    return cannotRead(path, error);
  std::sort(names.begin(), names.end());
  return nullptr;
}

smxrt_status_t addDirectory(const std::string &path, Corpus &corpus) {
  std::vector<std::string> names;
  SMXRT_RETURN_IF_ERROR(listDirectory(path, names));
  std::string prefix = path.back() == '/' ? path : path + "/";
  for (const std::string &name : names) {
    if (!isCorpusFileName(name))
      continue;
    std::string entryPath = prefix + name;
    struct stat info;
    if (::lstat(entryPath.c_str(), &info) != 0)
      return cannotRead(entryPath, errno);
    // Symbolic links (the ".u8" duplicates among them) and subdirectories
    // (such as the offensive "off/") are not part of the corpus.
    if (!S_ISREG(info.st_mode))
      continue;
    SMXRT_RETURN_IF_ERROR(addFile(entryPath, name, corpus));
  }
  return nullptr;
}

} // namespace

smxrt_status_t readWholeFile(const std::string &path, std::string &contents) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0)
    return cannotRead(path, errno);
  contents.clear();
  char buffer[1 << 16];
  for (;;) {
    ssize_t count = ::read(descriptor, buffer, sizeof(buffer));
    if (count < 0 && errno == EINTR)
      continue;
    if (count < 0) {
      int error = errno;
      ::close(descriptor);
      return cannotRead(path, error);
    }
    if (count == 0)
      break;
    contents.append(buffer, static_cast<size_t>(count));
  }
  ::close(descriptor);
  return nullptr;
}

bool isFortuneFormat(std::string_view contents) {
  bool found = false;
  forEachLine(contents, [&](std::string_view line) {
    found = found || isQuoteSeparator(line);
  });
  return found;
}

std::vector<std::string> splitDocuments(std::string_view contents) {
  return splitBy(contents,
                 isFortuneFormat(contents) ? isQuoteSeparator : isBlank);
}

bool isCorpusFileName(std::string_view name) {
  auto endsWith = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.substr(name.size() - suffix.size()) == suffix;
  };
  return !name.empty() && name.front() != '.' && !endsWith(".dat") &&
         !endsWith(".u8");
}

smxrt_status_t readCorpus(const std::string &path, Corpus &corpus) {
  corpus = Corpus();
  corpus.path = path;
  if (path.empty())
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                      "the corpus path is empty");
  struct stat info;
  if (::stat(path.c_str(), &info) != 0)
    return cannotRead(path, errno);
  if (S_ISDIR(info.st_mode))
    SMXRT_RETURN_IF_ERROR(addDirectory(path, corpus));
  else
    SMXRT_RETURN_IF_ERROR(addFile(path, baseName(path), corpus));
  if (corpus.documents.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: the corpus holds no documents", path.c_str());
  return nullptr;
}

} // namespace data
} // namespace smxrt
