#include "catalog/key_table.h"

#include <cstring>
#include <stdexcept>

#include "core/huge_pages.h"

namespace tollgate {
const LimitRef* KeyBinding::method_limit(std::uint32_t method_index) const {
  for (const auto& m : method_limits)
    if (m.method_index == method_index) return &m.limit;
  return nullptr;
}

void KeyTable::reserve(std::size_t keys, std::size_t text_bytes) {
  // 80 % full at most: linear probing stays within a cache line or two.
  assign_on_huge_pages(records_, keys + keys / 4 + 1, Record{});
  text_.reserve(text_bytes);
  advise_huge_pages(text_.data(), text_.capacity());
}

namespace {

void append_key_text(std::string& text, std::string_view value, std::string_view id,
                     std::string_view customer_id) {
  const auto size = static_cast<std::uint16_t>(customer_id.size());
  text.append(value)
      .append(id)
      .append(reinterpret_cast<const char*>(&size), sizeof size)
      .append(customer_id);
}

}  // namespace

std::string_view KeyTable::customer_after(std::string_view id) {
  std::uint16_t size = 0;
  std::memcpy(&size, id.data() + id.size(), sizeof size);
  return {id.data() + id.size() + sizeof size, size};
}

KeyTable::Record& KeyTable::add_key(std::string_view value, std::string_view id, bool enabled,
                                    std::string_view customer_id) {
  if (value.size() > 255 || id.size() > 255)
    throw std::invalid_argument("api key value or id over 255 bytes");
  if (customer_id.size() > UINT16_MAX)
    throw std::invalid_argument("api key customer id over 65,535 bytes");
  if (size_ + 1 >= records_.size())
    throw std::logic_error("KeyTable::add_key beyond its reservation");
  const std::uint64_t hash = hash_value(value);
  const std::uint16_t tag = tag_of(hash);
  std::size_t i = home_of(hash, records_.size());
  for (;; i = i + 1 == records_.size() ? 0 : i + 1) {
    Record& r = records_[i];
    if (r.tag == 0) break;
    if (r.tag == tag && this->value(r) == value) {
      r.text = static_cast<std::uint32_t>(text_.size());
      append_key_text(text_, value, id, customer_id);
      r.id_size = static_cast<std::uint8_t>(id.size());
      r.enabled = enabled;
      return r;
    }
  }
  if (text_.size() + text_bytes(value, id, customer_id) > 0xFFFFFFFFull)
    throw std::length_error("api key text over 4 GB");
  Record& r = records_[i];
  r.tag = tag;
  r.value_size = static_cast<std::uint8_t>(value.size());
  r.id_size = static_cast<std::uint8_t>(id.size());
  r.enabled = enabled;
  r.text = static_cast<std::uint32_t>(text_.size());
  append_key_text(text_, value, id, customer_id);
  ++size_;
  return r;
}

std::uint16_t KeyTable::add_plan_stage(PlanStage plan) {
  if (plan_stages_.size() >= kNoPlan) throw std::length_error("more than 65,534 usage plan stages");
  plan_stages_.push_back(std::move(plan));
  return static_cast<std::uint16_t>(plan_stages_.size() - 1);
}

void KeyTable::bind(Record& key, std::uint16_t plan_stage, KeyPlanState* state, UsageSlot* usage,
                    std::int64_t initial_window_id, std::vector<MethodLimit> method_limits) {
  int n = 0;
  if (key.plan_stage == kNoPlan) {
    key.plan_stage = plan_stage;
    key.state = state;
    key.usage = usage;
    key.initial_window_id = static_cast<std::int32_t>(initial_window_id);
  } else {
    if (key.more_bindings == 255)
      throw std::length_error("api key bound to over 256 usage plan stages");
    extra_bindings_[index_of(key)].push_back(
        {plan_stage, static_cast<std::int32_t>(initial_window_id), state, usage});
    n = ++key.more_bindings;
  }
  if (!method_limits.empty())
    method_limits_[(std::uint64_t{index_of(key)} << 8) | static_cast<std::uint64_t>(n)] =
        std::move(method_limits);
}

std::string_view KeyTable::id(const Record& key) const {
  return {text_.data() + key.text + key.value_size, key.id_size};
}

void KeyTable::add_removed(std::string_view value) {
  Record& r = add_key(value, {}, false);
  r.enabled = kRemovedFlag;
}

void KeyTable::add_copy(const KeyTable& from, const Record& key) {
  const std::string_view id = from.id(key);
  Record& r = add_key(from.value(key), id, from.enabled(key), customer_after(id));
  r.enabled = key.enabled;
  if (key.plan_stage == kNoPlan) return;
  for (int n = 0; n <= key.more_bindings; ++n) {
    const KeyBinding b = from.binding_at(key, n);
    const std::uint16_t plan_stage =
        n == 0 ? key.plan_stage : from.extra_bindings_.at(from.index_of(key))[n - 1].plan_stage;
    bind(r, plan_stage, b.state, b.usage, b.initial_window_id,
         std::vector<MethodLimit>(b.method_limits.begin(), b.method_limits.end()));
  }
}

KeyBinding KeyTable::binding_at(const Record& key, int n) const {
  KeyBinding b;
  if (n == 0) {
    b = {&plan_stages_[key.plan_stage], key.state, key.usage, key.initial_window_id, {}};
  } else {
    const ExtraBinding& e = extra_bindings_.at(index_of(key))[static_cast<std::size_t>(n - 1)];
    b = {&plan_stages_[e.plan_stage], e.state, e.usage, e.initial_window_id, {}};
  }
  if (b.plan->method_throttles) {
    auto it =
        method_limits_.find((std::uint64_t{index_of(key)} << 8) | static_cast<std::uint64_t>(n));
    if (it != method_limits_.end()) b.method_limits = it->second;
  }
  return b;
}

std::vector<KeyBinding> KeyTable::bindings(const Record& key) const {
  std::vector<KeyBinding> out;
  if (key.plan_stage == kNoPlan) return out;
  for (int n = 0; n <= key.more_bindings; ++n) out.push_back(binding_at(key, n));
  return out;
}

KeyBinding KeyTable::other_binding(const Record& key, const StageEntry* stage) const {
  if (key.plan_stage == kNoPlan) return {};
  if (plan_stages_[key.plan_stage].stage == stage) return binding_at(key, 0);
  for (int n = 1; n <= key.more_bindings; ++n) {
    const KeyBinding b = binding_at(key, n);
    if (b.plan->stage == stage) return b;
  }
  return {};
}

}  // namespace tollgate
