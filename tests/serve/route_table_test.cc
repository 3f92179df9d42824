// RouteTable: exact and prefix paths, 404 vs 405 (with the Allow list), and
// the access rule of a path; plus the served routes through the real server
// (405 carries Allow, unknown /v1/ paths need a key).
#include "yun/serve/route_table.h"

#include <gtest/gtest.h>

#include "server_fixture.h"

namespace yun::serve {
namespace {

RouteHandler noop() {
  return [](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter>) {};
}

TEST(RouteTable, FindsExactAndPrefixRoutes) {
  RouteTable t;
  t.add({"GET", "/v1/models", Access::kTenant, noop()});
  t.add({"GET", "/v1/models/", Access::kTenant, noop()});
  t.add({"POST", "/v1/completions", Access::kTenant, noop()});
  t.add({"GET", "/health", Access::kPublic, noop()});
  EXPECT_EQ(t.find("GET", "/v1/models").route->path, "/v1/models");
  EXPECT_EQ(t.find("GET", "/v1/models/qwen").route->path, "/v1/models/");
  EXPECT_EQ(t.find("GET", "/v1/models/").route, nullptr);  // a prefix needs a rest
  auto m = t.find("GET", "/v1/completions");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, "POST");
  m = t.find("GET", "/nope");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, "");
  EXPECT_EQ(t.access_for("/health"), Access::kPublic);
  EXPECT_EQ(t.access_for("/v1/completions"), Access::kTenant);
  EXPECT_EQ(t.access_for("/elsewhere"), Access::kPublic);
}

using testing::http;
using testing::ServerTest;

TEST_F(ServerTest, MethodNotAllowedListsAllowAndUnknownV1NeedsAKey) {
  ServiceOptions o;
  o.api_keys = {"k"};
  start("ok", o);
  auto r = http(port_, "GET", "/v1/chat/completions", "", "Authorization: Bearer k\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.headers.find("Allow: POST"), std::string::npos) << r.headers;
  EXPECT_EQ(http(port_, "GET", "/v1/secret").status, 401);
  EXPECT_EQ(http(port_, "GET", "/v1/secret", "", "Authorization: Bearer k\r\n").status, 404);
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);
}

}  // namespace
}  // namespace yun::serve
