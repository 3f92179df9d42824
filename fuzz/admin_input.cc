// libFuzzer target: what the admin API parses from outside. The first byte
// picks the parser: a tenant body (JSON -> tenant_from_json -> validate), or
// a query string (query_params -> usage_query). Neither may crash, hang or
// accept a tenant that validation rejects.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "yun/base/json_limits.h"
#include "yun/serve/admin_query.h"
#include "yun/tenancy/admin.h"
#include "yun/tenancy/json_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto j = yun::parse_json_bounded<yun::tenancy::Json>(rest, yun::JsonLimits::request());
    if (!j.is_ok()) return 0;
    yun::tenancy::Tenant t;
    if (yun::tenancy::tenant_from_json(*j, t).is_ok() && yun::tenancy::validate_tenant(t).is_ok()) {
      // What passes must survive a round trip through the output form.
      yun::tenancy::Tenant back;
      if (!yun::tenancy::tenant_from_json(yun::tenancy::tenant_to_json(t), back).is_ok() ||
          !(back.limits == t.limits) || back.name != t.name) {
        std::abort();
      }
    }
  } else {
    auto p = yun::serve::query_params("/admin/v1/usage?" + rest);
    yun::tenancy::UsageQuery q;
    bool csv = false;
    (void)yun::serve::usage_query(p, q, csv);
  }
  return 0;
}
