// Device choice (compute/device.h): the --device spellings, the automatic
// default (cuda only with the backend built and a device present) and the
// one-line errors for a cuda this binary or machine does not have.
// Run: build/tests/yun_compute_tests --gtest_filter='DeviceTest*'
#include "yun/compute/device.h"

#include <gtest/gtest.h>

namespace yun {
namespace {

TEST(DeviceTest, DefaultPicksCudaOnlyWithBackendAndDevice) {
  EXPECT_EQ(choose_device("", true, 2)->name(), "cuda:0");
  EXPECT_EQ(choose_device("auto", true, 1)->name(), "cuda:0");
  EXPECT_EQ(choose_device("", true, 0)->name(), "cpu");
  EXPECT_EQ(choose_device("", false, 4)->name(), "cpu");
}

TEST(DeviceTest, Spellings) {
  EXPECT_EQ(choose_device("cpu", true, 2)->name(), "cpu");
  EXPECT_EQ(choose_device("cuda", true, 2)->name(), "cuda:0");
  EXPECT_EQ(choose_device("cuda:1", true, 2)->name(), "cuda:1");
  EXPECT_EQ(choose_device("cuda:1", true, 2)->kind, DeviceKind::kCuda);
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda1", "cuda:-1", "CPU"}) {
    EXPECT_EQ(choose_device(bad, true, 2).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DeviceTest, CudaThatIsNotThereIsOneLineUnavailable) {
  for (auto [built, count, spec] :
       {std::tuple{false, 0, "cuda"}, std::tuple{true, 0, "cuda"}, std::tuple{true, 1, "cuda:1"}}) {
    auto d = choose_device(spec, built, count);
    ASSERT_FALSE(d.is_ok());
    EXPECT_EQ(d.status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(d.status().message().find('\n'), std::string::npos);
  }
  EXPECT_NE(choose_device("cuda", false, 0).status().message().find("without"), std::string::npos);
}

}  // namespace
}  // namespace yun
