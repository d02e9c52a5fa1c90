//===- file.h - Reading at offsets and writing files atomically -*- C++ -*-===//
//
// POSIX file helpers whose errors are statuses naming the path. Atomic
// writes are the base of every file the runtime produces (weights,
// checkpoints): a crash or an error at any point leaves the previous file as
// it was.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CORE_FILE_H
#define SMX_RUNTIME_CORE_FILE_H

#include "smx_runtime/status.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace smxrt {

/// An owned file descriptor, closed on destruction.
class SMXRT_SUPPORT_API FileDescriptor {
public:
  FileDescriptor() = default;
  explicit FileDescriptor(int descriptor) : descriptor(descriptor) {}
  FileDescriptor(FileDescriptor &&other) noexcept
      : descriptor(other.release()) {}
  FileDescriptor &operator=(FileDescriptor &&other) noexcept;
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  ~FileDescriptor() { reset(); }

  int get() const { return descriptor; }
  bool isOpen() const { return descriptor >= 0; }
  int release() {
    int result = descriptor;
    descriptor = -1;
    return result;
  }
  /// Closes the descriptor; returns close's errno, or 0.
  int reset();

private:
  int descriptor = -1;
};

/// Opens a regular file for reading and returns its size. Fails with
/// NOT_FOUND if it does not exist, INVALID_ARGUMENT if it is not a regular
/// file and IO_ERROR otherwise.
SMXRT_SUPPORT_API smxrt_status_t openForReading(const std::string &path,
                                                FileDescriptor &file,
                                                uint64_t &fileSize);

/// Reads exactly `size` bytes at `offset`. Fails with DATA_LOSS if the file
/// ends first (it shrank after it was opened) and IO_ERROR on a read error.
SMXRT_SUPPORT_API smxrt_status_t readExactlyAt(const FileDescriptor &file,
                                               const std::string &path,
                                               uint64_t offset, void *buffer,
                                               size_t size);

/// Sequential output to the temporary file of writeFileAtomically.
class SMXRT_SUPPORT_API FileSink {
public:
  FileSink(int descriptor, const std::string &path)
      : descriptor(descriptor), path(path) {}
  /// Writes all `size` bytes; IO_ERROR naming the path on failure.
  smxrt_status_t write(const void *data, size_t size);

private:
  int descriptor;
  const std::string &path;
};

/// The temporary file writeFileAtomically uses for `path`:
/// "<path>.tmp.<pid>", in the same directory so that rename is atomic.
SMXRT_SUPPORT_API std::string temporaryPathFor(const std::string &path);

/// Writes `path` atomically: `writeContents` fills a temporary file, which is
/// fsync'ed and renamed over `path`, and then the directory is fsync'ed. If
/// anything fails before the rename, the temporary file is removed and an
/// existing `path` is untouched.
SMXRT_SUPPORT_API smxrt_status_t writeFileAtomically(
    const std::string &path,
    const std::function<smxrt_status_t(FileSink &)> &writeContents);

} // namespace smxrt

#endif // SMX_RUNTIME_CORE_FILE_H
