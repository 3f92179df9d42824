#include "yun/serve/response_store.h"

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace yun::serve {
namespace {

// The in-memory LRU: rows by "tenant\nid", most recently used at the front;
// items by "tenant\nitem_id" -> the row's key.
class MemoryResponseStore final : public ResponseStore {
 public:
  MemoryResponseStore(size_t max_responses, size_t max_bytes)
      : max_responses_(max_responses), max_bytes_(max_bytes) {}

  bool blocking() const override { return false; }

  Status put(const tenancy::ResponseRow& row) override {
    std::lock_guard lock(mu_);
    const std::string key = join(row.tenant_id, row.id);
    if (auto it = rows_.find(key); it != rows_.end()) erase(it);
    const size_t bytes = row.bytes();
    if (bytes > max_bytes_ || max_responses_ == 0) return Status::ok();  // too big to keep
    lru_.push_front(Entry{key, row, bytes});
    rows_[key] = lru_.begin();
    bytes_ += bytes;
    for (const auto& [item_id, item] : row.items) items_.emplace(join(row.tenant_id, item_id), key);
    while (lru_.size() > max_responses_ || bytes_ > max_bytes_) erase(rows_.find(lru_.back().key));
    return Status::ok();
  }

  Result<std::optional<tenancy::ResponseRow>> get(const std::string& tenant,
                                                  const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(join(tenant, id));
    if (it == rows_.end()) return std::optional<tenancy::ResponseRow>();
    lru_.splice(lru_.begin(), lru_, it->second);
    return std::optional<tenancy::ResponseRow>(it->second->row);
  }

  Result<bool> remove(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(join(tenant, id));
    if (it == rows_.end()) return false;
    erase(it);
    return true;
  }

  Result<std::optional<std::string>> find_item(const std::string& tenant,
                                               const std::string& item_id) override {
    std::lock_guard lock(mu_);
    auto it = items_.find(join(tenant, item_id));
    if (it == items_.end()) return std::optional<std::string>();
    auto row = rows_.find(it->second);
    if (row == rows_.end()) return std::optional<std::string>();
    for (const auto& [id, item] : row->second->row.items) {
      if (id == item_id) return std::optional<std::string>(item);
    }
    return std::optional<std::string>();
  }

 private:
  struct Entry {
    std::string key;
    tenancy::ResponseRow row;
    size_t bytes = 0;
  };
  using Rows = std::unordered_map<std::string, std::list<Entry>::iterator>;

  static std::string join(const std::string& tenant, const std::string& id) {
    return tenant + '\n' + id;
  }

  // REQUIRES: mu_ held, it valid.
  void erase(Rows::iterator it) {
    const Entry& e = *it->second;
    for (const auto& [item_id, item] : e.row.items) {
      auto owner = items_.find(join(e.row.tenant_id, item_id));
      if (owner != items_.end() && owner->second == e.key) items_.erase(owner);
    }
    bytes_ -= e.bytes;
    lru_.erase(it->second);
    rows_.erase(it);
  }

  const size_t max_responses_, max_bytes_;
  std::mutex mu_;
  std::list<Entry> lru_;
  Rows rows_;
  std::unordered_map<std::string, std::string> items_;
  size_t bytes_ = 0;
};

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Rows in the tenancy database; every 256th put purges what is past retention.
class TenancyResponseStore final : public ResponseStore {
 public:
  TenancyResponseStore(tenancy::Store& store, int64_t (*now_ms)())
      : store_(store), now_ms_(now_ms ? now_ms : system_now_ms) {}

  bool blocking() const override { return true; }

  Status put(const tenancy::ResponseRow& row) override {
    YUN_RETURN_IF_ERROR(store_.put_response(row));
    if (puts_.fetch_add(1, std::memory_order_relaxed) % 256 == 0) {
      (void)store_.purge_responses(now_ms_() - kResponseRetentionDays * 24 * 3'600'000);
    }
    return Status::ok();
  }
  Result<std::optional<tenancy::ResponseRow>> get(const std::string& tenant,
                                                  const std::string& id) override {
    return store_.get_response(tenant, id);
  }
  Result<bool> remove(const std::string& tenant, const std::string& id) override {
    return store_.delete_response(tenant, id);
  }
  Result<std::optional<std::string>> find_item(const std::string& tenant,
                                               const std::string& item_id) override {
    return store_.find_response_item(tenant, item_id);
  }

 private:
  tenancy::Store& store_;
  int64_t (*now_ms_)();
  std::atomic<uint64_t> puts_{0};
};

}  // namespace

std::unique_ptr<ResponseStore> memory_response_store(size_t max_responses, size_t max_bytes) {
  return std::make_unique<MemoryResponseStore>(max_responses, max_bytes);
}

std::unique_ptr<ResponseStore> tenancy_response_store(tenancy::Store& store, int64_t (*now_ms)()) {
  return std::make_unique<TenancyResponseStore>(store, now_ms);
}

}  // namespace yun::serve
