// The admin API and the tenant's own usage route, added to the one route
// table when tenancy is on (--state-dir / --db):
//
//   POST   /admin/v1/tenants                 create      -> 201 tenant
//   GET    /admin/v1/tenants                 list
//   GET    /admin/v1/tenants/{id}            one (id or name)
//   PATCH  /admin/v1/tenants/{id}            change limits, models, weight, status
//   POST   /admin/v1/tenants/{id}/keys       {"scope","name","expires_in_days"} -> 201 {"id","key",…}
//   GET    /admin/v1/tenants/{id}/keys       that tenant's keys (never secrets)
//   GET    /admin/v1/keys                    every key
//   DELETE /admin/v1/keys/{key_id}           revoke (401 for that key from then on)
//   GET    /admin/v1/usage                   ?tenant=&key=&model=&from=&to=&group_by=day|hour|key&format=csv
//   GET    /admin/v1/audit                   ?limit=N (newest first)
//   GET    /admin/v1/state                   live engine state, tenants, ledger
//   GET    /v1/usage                         (an inference key) its own tenant's usage
//   GET    /admin                            the console page (web/admin.html), public
//
// Admin routes need an admin-scoped key (route_table.h Access::kAdmin: 403
// for an inference key). Handlers that touch the store run on the request
// workers, never on an io thread. from/to: unix seconds or YYYY-MM-DD (UTC).
#pragma once

#include <string>

#include <functional>

#include "yun/engine/engine.h"
#include "yun/serve/request_workers.h"
#include "yun/serve/route_table.h"
#include "yun/tenancy/tenancy.h"

namespace yun::serve {

struct AdminApiContext {
  tenancy::Tenancy* tenancy = nullptr;
  RequestWorkers* workers = nullptr;
  Engine* engine = nullptr;
  // The engine state /admin/v1/state shows (every loaded model's, summed);
  // when empty, engine->stats().
  std::function<EngineStats()> engine_stats;
  std::string web_dir;  // holds admin.html, admin.js, admin.css ("" : no console)
};

void add_admin_routes(RouteTable& routes, AdminApiContext ctx);

}  // namespace yun::serve
