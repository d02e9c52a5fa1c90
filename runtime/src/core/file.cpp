//===- file.cpp - Reading at offsets and writing files atomically --------===//

#include "file.h"

#include "status_internal.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace smxrt {

FileDescriptor &FileDescriptor::operator=(FileDescriptor &&other) noexcept {
  if (this != &other) {
    reset();
    descriptor = other.release();
  }
  return *this;
}

int FileDescriptor::reset() {
  if (descriptor < 0)
    return 0;
  // Never retry close on EINTR: on Linux the descriptor is gone either way.
  int result = ::close(descriptor) == 0 ? 0 : errno;
  descriptor = -1;
  return result;
}

smxrt_status_t openForReading(const std::string &path, FileDescriptor &file,
                              uint64_t &fileSize) {
  FileDescriptor opened(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!opened.isOpen()) {
    int error = errno;
    return makeStatusf(
        error == ENOENT ? SMXRT_STATUS_NOT_FOUND : SMXRT_STATUS_IO_ERROR,
        "%s: cannot open: %s", path.c_str(), std::strerror(error));
  }
  struct stat info;
  if (::fstat(opened.get(), &info) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: cannot stat: %s",
                       path.c_str(), std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: is not a regular file", path.c_str());
  fileSize = static_cast<uint64_t>(info.st_size);
  file = std::move(opened);
  return nullptr;
}

smxrt_status_t readExactlyAt(const FileDescriptor &file,
                             const std::string &path, uint64_t offset,
                             void *buffer, size_t size) {
  auto *bytes = static_cast<char *>(buffer);
  size_t done = 0;
  while (done < size) {
    ssize_t count = ::pread(file.get(), bytes + done, size - done,
                            static_cast<off_t>(offset + done));
    if (count < 0) {
      if (errno == EINTR)
        continue;
      return makeStatusf(SMXRT_STATUS_IO_ERROR,
                         "%s: read failed at offset %llu: %s", path.c_str(),
                         static_cast<unsigned long long>(offset + done),
                         std::strerror(errno));
    }
    if (count == 0)
      return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                         "%s: the file ends at offset %llu, inside the %zu "
                         "bytes expected at offset %llu (was it truncated "
                         "while open?)",
                         path.c_str(),
                         static_cast<unsigned long long>(offset + done), size,
                         static_cast<unsigned long long>(offset));
    done += static_cast<size_t>(count);
  }
  return nullptr;
}

smxrt_status_t FileSink::write(const void *data, size_t size) {
  const auto *bytes = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t count = ::write(descriptor, bytes, size);
    if (count < 0) {
      if (errno == EINTR)
        continue;
      return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: write failed: %s",
                         path.c_str(), std::strerror(errno));
    }
    bytes += count;
    size -= static_cast<size_t>(count);
  }
  return nullptr;
}

std::string temporaryPathFor(const std::string &path) {
  return path + ".tmp." + std::to_string(static_cast<long long>(::getpid()));
}

namespace {

std::string directoryOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Removes the temporary file unless the write committed it.
class TemporaryFile {
public:
  explicit TemporaryFile(std::string path) : path(std::move(path)) {}
  ~TemporaryFile() {
    if (!committed)
      ::unlink(path.c_str());
  }
  const std::string &getPath() const { return path; }
  void commit() { committed = true; }

private:
  std::string path;
  bool committed = false;
};

} // namespace

smxrt_status_t writeFileAtomically(
    const std::string &path,
    const std::function<smxrt_status_t(FileSink &)> &writeContents) {
  TemporaryFile temporary(temporaryPathFor(path));
  FileDescriptor file(
      ::open(temporary.getPath().c_str(),
             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!file.isOpen()) {
    int error = errno;
    temporary.commit(); // Nothing was created: never unlink a stranger's file.
    return makeStatusf(
        error == ENOENT ? SMXRT_STATUS_NOT_FOUND : SMXRT_STATUS_IO_ERROR,
        "%s: cannot create the temporary file '%s': %s", path.c_str(),
        temporary.getPath().c_str(), std::strerror(error));
  }

  FileSink sink(file.get(), path);
  SMXRT_RETURN_IF_ERROR(writeContents(sink));
  if (::fsync(file.get()) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: fsync failed: %s",
                       path.c_str(), std::strerror(errno));
  if (int error = file.reset())
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: close failed: %s",
                       path.c_str(), std::strerror(error));
  if (::rename(temporary.getPath().c_str(), path.c_str()) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR,
                       "%s: cannot rename the temporary file '%s' over it: %s",
                       path.c_str(), temporary.getPath().c_str(),
                       std::strerror(errno));
  temporary.commit();

  // Make the rename itself durable.
  std::string directory = directoryOf(path);
  FileDescriptor directoryFile(
      ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directoryFile.isOpen() || ::fsync(directoryFile.get()) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR,
                       "%s: the file was written, but syncing its directory "
                       "'%s' failed: %s",
                       path.c_str(), directory.c_str(), std::strerror(errno));
  return nullptr;
}

} // namespace smxrt
