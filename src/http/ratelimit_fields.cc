#include "http/ratelimit_fields.h"

#include <charconv>
#include <cstring>

namespace tollgate {
namespace {

// Appends pieces to a fixed buffer; the buffers are sized for the longest
// name and four 19-digit numbers.
class Writer {
 public:
  Writer(char* buf, std::size_t cap) : buf_(buf), cap_(cap) {}
  Writer& text(std::string_view s) {
    const std::size_t n = std::min(s.size(), cap_ - len_);
    std::memcpy(buf_ + len_, s.data(), n);
    len_ += n;
    return *this;
  }
  Writer& number(std::int64_t v) {
    auto [ptr, ec] = std::to_chars(buf_ + len_, buf_ + cap_, v);
    if (ec == std::errc{}) len_ = static_cast<std::size_t>(ptr - buf_);
    return *this;
  }
  std::size_t size() const { return len_; }

 private:
  char* buf_;
  std::size_t cap_;
  std::size_t len_ = 0;
};

}  // namespace

RateLimitFields::RateLimitFields(const LimitReport& r) {
  const std::string_view name(r.policy);
  Writer p(policy_, sizeof policy_);
  p.text("\"").text(name).text("\";q=").number(r.quota).text(";w=").number(r.window_s);
  policy_len_ = p.size();
  Writer s(state_, sizeof state_);
  s.text("\"").text(name).text("\";r=").number(r.remaining).text(";t=").number(r.reset_s);
  state_len_ = s.size();
}

}  // namespace tollgate
