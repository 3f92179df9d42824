// The schema of both stores as ordered migration steps: step N takes a
// database at version N-1 to version N (run inside the opener's transaction,
// which then records the version). Steps are never edited once released:
// a change is a new step, and Store::kSchemaVersion the last step's number.
//
//   1  tenants, api_keys, usage (+ indexes for recent() and query_usage())
//   2  spend_daily (per subject, UTC day, instance; backfilled from usage)
//      and the audit log
//   3  responses + response_items (stored Responses, tenant-scoped)
#pragma once

#include <span>

#include "yun/tenancy/sql_common.h"

namespace yun::tenancy {

struct Migration {
  int version;      // the version this step produces
  const char* sql;  // one or more statements, no parameters
};

std::span<const Migration> migrations(sql::Dialect d);

}  // namespace yun::tenancy
