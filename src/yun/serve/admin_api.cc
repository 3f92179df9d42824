#include "yun/serve/admin_api.h"
#include "yun/serve/admin_query.h"

#include <charconv>
#include <ctime>
#include <map>

#include "yun/base/json_limits.h"
#include "yun/serve/openai_service.h"
#include "yun/serve/static_files.h"
#include "yun/tenancy/json_codec.h"

namespace yun::serve {
namespace {

using tenancy::Json;

void send_json(ResponseWriter& w, int status, const Json& j) {
  w.send(HttpResponse{status, "application/json",
                      j.dump(-1, ' ', false, Json::error_handler_t::replace), {}});
}

Json list_json(Json data) { return Json{{"object", "list"}, {"data", std::move(data)}}; }

// The field an admin validation message names: its first word ("limits.x
// must be ...", "name: ..."), or what follows "unknown field ".
std::string field_of(const std::string& m) {
  const std::string unknown = "unknown field ";
  if (m.rfind(unknown, 0) == 0) return m.substr(unknown.size());
  size_t end = m.find_first_of(" :");
  if (end == std::string::npos || (m[end] != ':' && m.compare(end, 5, " must") != 0)) return "";
  std::string w = m.substr(0, end);
  for (char c : w) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return "";
  }
  return w;
}

ApiError field_error(const Status& s) { return bad_request(s.message(), field_of(s.message())); }

ApiError store_error(const Status& s) {
  if (s.code() == StatusCode::kInvalidArgument) return field_error(s);
  if (s.code() == StatusCode::kNotFound) {
    return ApiError{404, s.message(), "invalid_request_error", "", "not_found"};
  }
  if (s.code() == StatusCode::kUnavailable) {
    return ApiError{503, s.message(), "server_error", "", "service_unavailable"};
  }
  return error_from_status(s);
}

// A list response of `rows` as `to_json` shows each; a store error as its status.
template <typename T, typename F>
void send_list(ResponseWriter& w, const Result<std::vector<T>>& rows, F to_json) {
  if (!rows.is_ok()) return send_error(w, store_error(rows.status()));
  Json data = Json::array();
  for (const auto& x : *rows) data.push_back(to_json(x));
  send_json(w, 200, list_json(std::move(data)));
}

// The tenant a path names by id or name; kNotFound when there is none.
Result<tenancy::Tenant> path_tenant(tenancy::Tenancy& t, const std::string& id) {
  auto found = tenancy::find_tenant(t.store(), id);
  if (!found.is_ok()) return found.status();
  if (!found->has_value()) return not_found("no tenant " + id);
  return **found;
}

Json key_json(const tenancy::ApiKey& k) { return tenancy::key_to_json(k); }

void answer_usage(tenancy::Tenancy& t, const HttpRequest& r, ResponseWriter& w,
                  const std::optional<std::string>& only_tenant) {
  tenancy::UsageQuery q;
  bool csv = false;
  auto params = query_params(r.target);
  if (only_tenant) params.erase("tenant");
  if (auto e = usage_query(params, q, csv)) return send_error(w, *e);
  if (only_tenant) q.tenant_id = *only_tenant;
  auto rows = t.store().query_usage(q);
  if (!rows.is_ok()) return send_error(w, store_error(rows.status()));
  if (csv) {
    w.send(HttpResponse{200, "text/csv; charset=utf-8", tenancy::usage_rows_to_csv(*rows, q), {}});
    return;
  }
  send_list(w, rows, [&q](const tenancy::UsageRow& row) { return tenancy::usage_row_to_json(row, q); });
}

Result<Json> body_object(const HttpRequest& r) {
  if (r.body.empty()) return Json::object();
  auto j = parse_json_bounded<Json>(r.body, JsonLimits::request());
  if (!j.is_ok()) return j.status();
  if (!j->is_object()) return invalid_argument("the body must be a JSON object");
  return j;
}

}  // namespace

void add_admin_routes(RouteTable& routes, AdminApiContext c) {
  using A = Access;
  // Every admin handler runs on a request worker (store calls may be round trips).
  auto off_io = [c](auto fn) {
    return [c, fn](const HttpRequest& r, const RequestContext& ctx, std::shared_ptr<ResponseWriter> w) {
      c.workers->post([fn, r, ctx, w] {
        try {
          fn(r, ctx, *w);
        } catch (const std::exception& e) {
          send_error(*w, server_error(std::string("internal error: ") + e.what()));
        }
      });
    };
  };
  tenancy::Tenancy* t = c.tenancy;
  const std::string tenants = "/admin/v1/tenants";

  routes.add({"POST", tenants, A::kAdmin,
              off_io([t](const HttpRequest& r, const RequestContext& ctx, ResponseWriter& w) {
                auto body = body_object(r);
                if (!body.is_ok()) return send_error(w, bad_request(body.status().message()));
                tenancy::Tenant spec;
                if (auto s = tenancy::tenant_from_json(*body, spec); !s.is_ok()) {
                  return send_error(w, field_error(s));
                }
                if (!body->contains("name")) return send_error(w, bad_request("name is required", "name"));
                auto made = t->create_tenant(spec, ctx.principal.key_id);
                if (!made.is_ok()) return send_error(w, store_error(made.status()));
                send_json(w, 201, tenancy::tenant_to_json(*made));
              })});
  routes.add({"GET", tenants, A::kAdmin,
              off_io([t](const HttpRequest&, const RequestContext&, ResponseWriter& w) {
                send_list(w, t->store().list_tenants(), tenancy::tenant_to_json);
              })});
  // /admin/v1/tenants/{id} and /admin/v1/tenants/{id}/keys
  auto split = [tenants](const std::string& path) {
    std::string rest = path.substr(tenants.size() + 1);
    size_t slash = rest.find('/');
    std::string id = rest.substr(0, slash);
    std::string sub = slash == std::string::npos ? "" : rest.substr(slash + 1);
    return std::pair{id, sub};
  };
  routes.add({"GET", tenants + "/", A::kAdmin,
              off_io([t, split](const HttpRequest& r, const RequestContext&, ResponseWriter& w) {
                auto [id, sub] = split(r.path);
                auto tenant = sub.empty() || sub == "keys" ? path_tenant(*t, id)
                                                           : Result<tenancy::Tenant>(not_found("no tenant " + id));
                if (!tenant.is_ok()) return send_error(w, store_error(tenant.status()));
                if (sub.empty()) return send_json(w, 200, tenancy::tenant_to_json(*tenant));
                send_list(w, t->store().list_keys(tenant->id), key_json);
              })});
  routes.add({"PATCH", tenants + "/", A::kAdmin,
              off_io([t, split](const HttpRequest& r, const RequestContext& ctx, ResponseWriter& w) {
                auto [id, sub] = split(r.path);
                if (!sub.empty()) return send_error(w, ApiError{404, "no route for PATCH " + r.path, "invalid_request_error", "", ""});
                auto found = path_tenant(*t, id);
                if (!found.is_ok()) return send_error(w, store_error(found.status()));
                auto body = body_object(r);
                if (!body.is_ok()) return send_error(w, bad_request(body.status().message()));
                tenancy::Tenant updated = *found;
                if (auto s = tenancy::tenant_from_json(*body, updated); !s.is_ok()) {
                  return send_error(w, field_error(s));
                }
                auto saved = t->update_tenant(updated, ctx.principal.key_id);
                if (!saved.is_ok()) return send_error(w, store_error(saved.status()));
                send_json(w, 200, tenancy::tenant_to_json(*saved));
              })});
  routes.add({"POST", tenants + "/", A::kAdmin,
              off_io([t, split](const HttpRequest& r, const RequestContext& ctx, ResponseWriter& w) {
                auto [id, sub] = split(r.path);
                if (sub != "keys") return send_error(w, ApiError{404, "no route for POST " + r.path, "invalid_request_error", "", ""});
                auto body = body_object(r);
                if (!body.is_ok()) return send_error(w, bad_request(body.status().message()));
                tenancy::KeyScope scope = tenancy::KeyScope::kInference;
                std::string name;
                int64_t expires_ms = 0;
                tenancy::Limits limits;
                for (auto it = body->begin(); it != body->end(); ++it) {
                  const Json& v = it.value();
                  if (it.key() == "scope") {
                    auto s = v.is_string() ? tenancy::parse_key_scope(v.get<std::string>()) : std::nullopt;
                    if (!s) return send_error(w, bad_request("scope must be \"inference\" or \"admin\"", "scope"));
                    scope = *s;
                  } else if (it.key() == "name") {
                    if (!v.is_string()) return send_error(w, bad_request("name must be a string", "name"));
                    name = v.get<std::string>();
                  } else if (it.key() == "limits") {
                    if (auto s = tenancy::limits_from_json(v, limits); !s.is_ok()) {
                      return send_error(w, field_error(s));
                    }
                  } else if (it.key() == "expires_in_days") {
                    if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 36500) {
                      return send_error(w, bad_request("expires_in_days must be a number in (0, 36500]", "expires_in_days"));
                    }
                    expires_ms = tenancy::unix_ms_now() + static_cast<int64_t>(v.get<double>() * 86'400'000);
                  } else {
                    return send_error(w, bad_request("unknown field " + it.key(), it.key()));
                  }
                }
                auto k = t->create_key(id, scope, name, expires_ms, ctx.principal.key_id, limits);
                if (!k.is_ok()) return send_error(w, store_error(k.status()));
                Json j = tenancy::key_to_json(k->key);
                j["key"] = k->secret;  // the only time it is shown
                send_json(w, 201, j);
              })});
  routes.add({"GET", "/admin/v1/keys", A::kAdmin,
              off_io([t](const HttpRequest&, const RequestContext&, ResponseWriter& w) {
                send_list(w, t->store().list_keys(""), key_json);
              })});
  routes.add({"DELETE", "/admin/v1/keys/", A::kAdmin,
              off_io([t](const HttpRequest& r, const RequestContext& ctx, ResponseWriter& w) {
                std::string id = r.path.substr(std::string("/admin/v1/keys/").size());
                if (auto s = t->revoke_key(id, ctx.principal.key_id); !s.is_ok()) {
                  return send_error(w, store_error(s));
                }
                auto k = t->store().get_key(id);
                if (!k.is_ok() || !k->has_value()) return send_json(w, 200, Json{{"id", id}, {"revoked", true}});
                Json j = tenancy::key_to_json(**k);
                j["revoked"] = true;
                send_json(w, 200, j);
              })});
  routes.add({"GET", "/admin/v1/usage", A::kAdmin,
              off_io([t](const HttpRequest& r, const RequestContext&, ResponseWriter& w) {
                answer_usage(*t, r, w, std::nullopt);
              })});
  routes.add({"GET", "/v1/usage", A::kTenant,
              off_io([t](const HttpRequest& r, const RequestContext& ctx, ResponseWriter& w) {
                answer_usage(*t, r, w, ctx.principal.tenant);
              })});
  routes.add({"GET", "/admin/v1/audit", A::kAdmin,
              off_io([t](const HttpRequest& r, const RequestContext&, ResponseWriter& w) {
                int64_t limit = 100;
                for (auto& [k, v] : query_params(r.target)) {
                  if (k != "limit") return send_error(w, bad_request("unknown query parameter " + k, k));
                  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
                  if (ec != std::errc() || p != v.data() + v.size() || limit < 1 || limit > 10000) {
                    return send_error(w, bad_request("limit must be an integer in [1, 10000]", "limit"));
                  }
                }
                send_list(w, t->store().list_audit(limit), tenancy::audit_to_json);
              })});
  routes.add({"GET", "/admin/v1/state", A::kAdmin,
              [t, engine = c.engine, stats = c.engine_stats](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                EngineStats s = stats ? stats() : engine->stats();
                tenancy::LedgerStats l = t->ledger().stats();
                Json j;
                j["engine"] = {{"running", s.num_running},
                               {"waiting", s.num_waiting},
                               {"kv_cache_usage", s.kv_cache_usage},
                               {"num_kv_blocks", s.num_kv_blocks},
                               {"prompt_tokens_total", s.prompt_tokens_total},
                               {"generation_tokens_total", s.generation_tokens_total},
                               {"preemptions", s.num_preemptions}};
                j["ledger"] = {{"committed", l.committed},
                               {"pending", l.pending},
                               {"healthy", l.healthy},
                               {"last_error", l.last_error}};
                std::string why = t->unavailable_reason();
                j["available"] = why.empty();
                j["reason"] = why;
                j["tenants"] = t->directory().tenants().size();
                send_json(*w, 200, j);
              }});
  if (!c.web_dir.empty()) {
    routes.add({"GET", "/admin", A::kPublic,
                [dir = c.web_dir](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                  auto f = read_static_file(dir, "/admin.html");
                  if (!f) return send_error(*w, ApiError{404, "no admin console in " + dir, "invalid_request_error", "", ""});
                  w->send(HttpResponse{200, f->content_type, std::move(f->body), {}});
                }});
  }
}

}  // namespace yun::serve
