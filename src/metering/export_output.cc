#include "metering/export_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <random>
#include <stdexcept>
#include <utility>

namespace tollgate {

ExportOutput::FdBuffer::FdBuffer(int fd) : fd_(fd) { setp(buffer_, buffer_ + sizeof buffer_); }

bool ExportOutput::FdBuffer::write_all(const char* data, std::size_t size) {
  while (size > 0 && error_ == 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno != EINTR) error_ = errno;
      continue;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return error_ == 0;
}

bool ExportOutput::FdBuffer::drain() {
  const bool ok = write_all(pbase(), static_cast<std::size_t>(pptr() - pbase()));
  setp(buffer_, buffer_ + sizeof buffer_);
  return ok;
}

ExportOutput::FdBuffer::int_type ExportOutput::FdBuffer::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  return c;
}

std::streamsize ExportOutput::FdBuffer::xsputn(const char* s, std::streamsize n) {
  if (n >= epptr() - pptr()) {
    if (!drain() || !write_all(s, static_cast<std::size_t>(n))) return 0;
    return n;
  }
  std::memcpy(pptr(), s, static_cast<std::size_t>(n));
  pbump(static_cast<int>(n));
  return n;
}

namespace {

std::string random_suffix() {
  std::random_device random;
  return std::to_string(random()) + std::to_string(random());
}

// Whether `fd` is a regular file, whose data fsync can bring to the disk
// (and whose failure there only fsync may tell).
bool is_regular_file(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

ExportOutput::ExportOutput(const std::string& path) : stream_(nullptr) {
  // A reader that goes away is a failed write to report, not a signal that
  // ends the process before it can say so.
  std::signal(SIGPIPE, SIG_IGN);
  struct stat st {};
  if (path.empty() || path == "-") {
    name_ = "standard output";
    fd_ = STDOUT_FILENO;
  } else if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    name_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) fail("cannot open " + path, errno);
  } else {
    target_ = path;
    temporary_ = target_;
    temporary_ += ".partial-" + random_suffix();
    name_ = temporary_.string();
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) fail("cannot create " + temporary_.string(), errno);
  }
  buffer_ = std::make_unique<FdBuffer>(fd_);
  stream_.rdbuf(buffer_.get());
}

ExportOutput::~ExportOutput() {
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
  if (!target_.empty() && !committed_) ::unlink(temporary_.c_str());
}

void ExportOutput::fail(const std::string& what, int error) {
  throw std::runtime_error(what + ": " + std::strerror(error));
}

void ExportOutput::commit() {
  if (!buffer_->drain()) {
    fail(buffer_->error() == EPIPE ? name_ + " was closed before the export was written"
                                   : "cannot write " + name_,
         buffer_->error());
  }
  if (!stream_) throw std::runtime_error("cannot write " + name_);
  if (is_regular_file(fd_) && ::fsync(fd_) != 0)
    fail("cannot write " + name_ + " to its disk", errno);
  if (target_.empty()) {
    committed_ = true;
    return;
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) fail("cannot write " + name_, errno);
  if (::rename(temporary_.c_str(), target_.c_str()) != 0)
    fail("cannot rename " + temporary_.string() + " to " + target_.string(), errno);
  committed_ = true;
  // The rename itself reaches the disk with the directory.
  const std::filesystem::path parent = target_.has_parent_path() ? target_.parent_path() : ".";
  const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) fail("cannot open " + parent.string(), errno);
  const bool synced = ::fsync(dir) == 0;
  const int sync_error = errno;
  ::close(dir);
  if (!synced) fail("cannot write the directory " + parent.string() + " to its disk", sync_error);
}

}  // namespace tollgate
