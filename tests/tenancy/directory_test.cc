// Directory: what a bearer secret authenticates as, and every way it fails.
#include "yun/tenancy/directory.h"

#include <gtest/gtest.h>

#include "yun/tenancy/keys.h"

namespace yun::tenancy {
namespace {

struct Fixture {
  Directory d;
  std::string secret = generate_key();
  Tenant t{"tn_1", "acme"};
  ApiKey k;
  Fixture() {
    k.id = "key_1";
    k.tenant_id = t.id;
    k.hash = hash_key(secret);
    k.prefix = key_prefix(secret);
    d.replace({t}, {k});
  }
};

TEST(Directory, AKnownKeyIsItsTenant) {
  Fixture f;
  auto a = f.d.authenticate(f.secret, 1000);
  ASSERT_TRUE(a.identity);
  EXPECT_EQ(a.identity->tenant.name, "acme");
  EXPECT_EQ(a.identity->key.id, "key_1");
  EXPECT_FALSE(a.identity->admin());
}

TEST(Directory, EveryFailureHasItsReason) {
  Fixture f;
  EXPECT_EQ(f.d.authenticate("", 1000).failure, AuthFailure::kMissing);
  EXPECT_EQ(f.d.authenticate(generate_key(), 1000).failure, AuthFailure::kUnknown);
  EXPECT_EQ(f.d.authenticate(f.secret + "x", 1000).failure, AuthFailure::kUnknown);
  ApiKey expiring = f.k;
  expiring.expires_ms = 5000;
  f.d.put_key(expiring);
  EXPECT_TRUE(f.d.authenticate(f.secret, 4999).identity);
  EXPECT_EQ(f.d.authenticate(f.secret, 5000).failure, AuthFailure::kExpired);
  ApiKey revoked = f.k;
  revoked.revoked_ms = 10;
  f.d.put_key(revoked);
  EXPECT_EQ(f.d.authenticate(f.secret, 1000).failure, AuthFailure::kRevoked);
  f.d.put_key(f.k);
  Tenant suspended = f.t;
  suspended.active = false;
  f.d.put_tenant(suspended);
  EXPECT_EQ(f.d.authenticate(f.secret, 1000).failure, AuthFailure::kSuspended);
  // A key whose tenant is gone from the view is unknown.
  f.d.replace({}, {f.k});
  EXPECT_EQ(f.d.authenticate(f.secret, 1000).failure, AuthFailure::kUnknown);
}

TEST(Directory, ReplaceDropsWhatTheStoreNoLongerHolds) {
  Fixture f;
  f.d.replace({f.t}, {});
  EXPECT_EQ(f.d.authenticate(f.secret, 1000).failure, AuthFailure::kUnknown);
}

TEST(Directory, AllowedModels) {
  Identity id;
  EXPECT_TRUE(id.allows_model("any"));
  id.tenant.models = {"a", "b"};
  EXPECT_TRUE(id.allows_model("b"));
  EXPECT_FALSE(id.allows_model("c"));
}

}  // namespace
}  // namespace yun::tenancy
