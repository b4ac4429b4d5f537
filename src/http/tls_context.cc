#include "http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace tollgate {
namespace {

// TLS 1.2's forward-secret AEAD suites, ECDSA and RSA; TLS 1.3 keeps
// OpenSSL's defaults, which are all of that kind.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's reason for the failure (its first error: the later ones are the
// callers giving up, "PEM lib"), emptying its error queue.
std::string openssl_reason() {
  std::string reason;
  while (const unsigned long code = ERR_get_error()) {
    const char* text = ERR_reason_error_string(code);
    if (text && reason.empty()) reason = text;
  }
  return reason.empty() ? "not usable" : reason;
}

[[noreturn]] void fail(const std::string& what, const std::string& file) {
  throw std::runtime_error("TLS " + what + " '" + file + "': " + openssl_reason());
}

}  // namespace

std::shared_ptr<TlsContext> make_server_tls_context(const TlsFiles& files) {
  if (files.certificate.empty() || files.private_key.empty())
    throw std::runtime_error("TLS needs both a certificate file and a private key file");
  auto context = std::make_shared<TlsContext>(TlsContext::tls_server);
  SSL_CTX* native = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle keep-alive connections give their read and write buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) fail("cipher list", kTls12Ciphers);
  if (SSL_CTX_use_certificate_chain_file(native, files.certificate.c_str()) != 1)
    fail("certificate file", files.certificate);
  if (SSL_CTX_use_PrivateKey_file(native, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("private key file", files.private_key);
  if (SSL_CTX_check_private_key(native) != 1)
    fail("private key file",
         files.private_key + "' does not match certificate '" + files.certificate);
  return context;
}

ServerTls::ServerTls(TlsFiles files)
    : files_(std::move(files)), current_(make_server_tls_context(files_)) {}

void ServerTls::reload() {
  std::shared_ptr<TlsContext> next = make_server_tls_context(files_);
  std::lock_guard lock(mutex_);
  current_.swap(next);
}

}  // namespace tollgate
