// ResponseStore: where POST /v1/responses keeps what `store` (true by
// default, as OpenAI's) asks it to keep, for GET / DELETE
// /v1/responses/{id}, GET /v1/responses/{id}/input_items,
// previous_response_id and item_reference (openai_service.cc). One row per
// Response (tenancy/model.h's ResponseRow): the Response object as it was
// answered (completed, incomplete or failed), its request's input items,
// the chain's items before them, and every item by id (an id stays with the
// response that stored it first, as store.h says).
//
// Every call is by (tenant, id): a tenant never reads, finds or deletes
// another tenant's responses (they are simply not found).
//
// Two implementations:
//   tenancy_response_store  rows in the tenancy database (SQLite or
//                           PostgreSQL, schema version 3, store.h), kept
//                           kResponseRetentionDays after creation (older
//                           rows are purged now and then as new ones come)
//                           or until deleted; blocking() (a database round
//                           trip: call it off the io threads).
//   memory_response_store   without tenancy: in this process only, least
//                           recently used first out once there are more
//                           than max_responses or max_bytes (the rows' text
//                           sizes); gone on restart.
// Thread-safe. Errors are values (kUnavailable when the database is gone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "yun/base/status.h"
#include "yun/tenancy/model.h"
#include "yun/tenancy/store.h"

namespace yun::serve {

inline constexpr size_t kDefaultMaxStoredResponses = 4096;
inline constexpr size_t kDefaultMaxStoredResponseBytes = size_t{256} << 20;  // 256 MiB
inline constexpr int64_t kResponseRetentionDays = 30;                        // as OpenAI's

class ResponseStore {
 public:
  virtual ~ResponseStore() = default;
  // True when calls wait on a database (keep them off the io threads).
  virtual bool blocking() const = 0;
  // Stores `row` (replacing one of the same tenant and id).
  virtual Status put(const tenancy::ResponseRow& row) = 0;
  virtual Result<std::optional<tenancy::ResponseRow>> get(const std::string& tenant,
                                                          const std::string& id) = 0;
  // False when the tenant has no such response.
  virtual Result<bool> remove(const std::string& tenant, const std::string& id) = 0;
  // An item's JSON text by its id (an input or output item of a stored
  // response of the tenant's).
  virtual Result<std::optional<std::string>> find_item(const std::string& tenant,
                                                       const std::string& item_id) = 0;
};

std::unique_ptr<ResponseStore> memory_response_store(
    size_t max_responses = kDefaultMaxStoredResponses,
    size_t max_bytes = kDefaultMaxStoredResponseBytes);
// `store` must outlive the result. `now_ms`: the clock (tests); null: the
// system clock.
std::unique_ptr<ResponseStore> tenancy_response_store(tenancy::Store& store,
                                                      int64_t (*now_ms)() = nullptr);

}  // namespace yun::serve
