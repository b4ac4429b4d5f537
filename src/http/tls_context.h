#pragma once

#include <boost/asio/ssl.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "http/beast.h"

namespace tollgate {

using TlsContext = asio::ssl::context;

// The PEM files a listener serves TLS with: the certificate chain (the
// server's certificate first) and its private key.
struct TlsFiles {
  std::string certificate;
  std::string private_key;
  bool enabled() const { return !certificate.empty(); }
};

// A server context from `files`: TLS 1.2 and 1.3 only, forward-secret AEAD
// ciphers for 1.2, no compression, no renegotiation. Throws
// std::runtime_error naming the file and what is wrong with it.
std::shared_ptr<TlsContext> make_server_tls_context(const TlsFiles& files);

// A listener's TLS context, replaced whole when its files are read again
// (SIGHUP): connections already open keep the context they began with, and
// new ones take the new one. Any thread may call either member.
class ServerTls {
 public:
  explicit ServerTls(TlsFiles files);  // throws as make_server_tls_context does

  std::shared_ptr<TlsContext> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // Reads the files again. Throws, keeping the current context, when they
  // do not make a valid one (a key that does not match, a file half-written).
  void reload();
  const TlsFiles& files() const { return files_; }

 private:
  TlsFiles files_;
  mutable std::mutex mutex_;
  std::shared_ptr<TlsContext> current_;
};

}  // namespace tollgate
