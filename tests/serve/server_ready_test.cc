// /health/ready on the real HTTP server + OpenAiService (FakeEngine): 503
// until set_ready(true), 200 while ready, 503 again after set_ready(false)
// (the drain), public with API keys on, and /health (liveness) 200 throughout.
#include "server_fixture.h"

namespace yun::serve::testing {
namespace {

TEST_F(ServerTest, ReadinessFollowsSetReady) {
  start("");
  auto before = http(port_, "GET", "/health/ready");
  EXPECT_EQ(before.status, 503);
  EXPECT_NE(before.body.find("not ready"), std::string::npos) << before.body;
  EXPECT_NE(before.headers.find("Retry-After: 1"), std::string::npos) << before.headers;
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);  // alive while not ready

  service_->set_ready(true);
  EXPECT_TRUE(service_->ready());
  EXPECT_EQ(http(port_, "GET", "/health/ready").status, 200);

  service_->set_ready(false);  // what run_server does on SIGTERM
  EXPECT_EQ(http(port_, "GET", "/health/ready").status, 503);
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);
  EXPECT_EQ(http(port_, "POST", "/health/ready").status, 405);
}

TEST_F(ServerTest, ReadinessIsPublicWithApiKeys) {
  ServiceOptions opts;
  opts.api_keys = {"secret-key"};
  start("", opts);
  service_->set_ready(true);
  EXPECT_EQ(http(port_, "GET", "/health/ready").status, 200);
  EXPECT_EQ(http(port_, "GET", "/v1/models").status, 401);
}

}  // namespace
}  // namespace yun::serve::testing
