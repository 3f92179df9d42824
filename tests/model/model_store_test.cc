// ModelStore (model/model_store.h) on a fake Hugging Face cache built in a
// temp dir the way huggingface_hub writes one: refs/main and refs/v1 holding
// commit hashes, snapshots/<commit>/<file> symlinks to ../../blobs/<hash>.
// Checks repo-id parsing (nothing can name a path outside the cache), the
// cache location from the environment, resolve by branch, tag and commit,
// list (sizes count each blob once) and remove (only under the cache).
// Run: build/tests/yun_model_tests --gtest_filter='ModelStore*'
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "yun/model/model_store.h"

namespace yun {
namespace {

namespace fs = std::filesystem;

const std::string kC1 = "0123456789abcdef0123456789abcdef01234567";
const std::string kC2 = "fedcba9876543210fedcba9876543210fedcba98";
const std::string kConfig = R"({"architectures":["Qwen3ForCausalLM"]})";

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("yun-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    cache_ = root_ / "hub";
    fs::create_directories(cache_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  // One file of a snapshot: the blob, and the relative symlink to it.
  void add_file(const std::string& repo_dir, const std::string& commit, const std::string& name,
                const std::string& blob, const std::string& text) {
    const fs::path repo = cache_ / repo_dir;
    write(repo / "blobs" / blob, text);
    const fs::path link = repo / "snapshots" / commit / name;
    fs::create_directories(link.parent_path());
    fs::path target = fs::path("../..") / "blobs" / blob;
    if (name.find('/') != std::string::npos) target = fs::path("..") / target;
    fs::create_symlink(target, link);
  }
  // Qwen/Qwen3-0.6B: main -> kC1 (config + weights), v1 -> kC2 (config, shared weights).
  void make_qwen() {
    const std::string dir = "models--Qwen--Qwen3-0.6B";
    add_file(dir, kC1, "config.json", "aaaa", kConfig);
    add_file(dir, kC1, "model.safetensors", "bbbb", std::string(1000, 'x'));
    add_file(dir, kC2, "config.json", "cccc", R"({"v":1})");
    fs::create_symlink("../../blobs/bbbb", cache_ / dir / "snapshots" / kC2 / "model.safetensors");
    write(cache_ / dir / "refs" / "main", kC1);
    write(cache_ / dir / "refs" / "v1", kC2 + "\n");
  }
  ModelStore store() const { return ModelStore(cache_.string()); }

  fs::path root_, cache_;
};

TEST(ModelStoreRefTest, ParsesRepoIds) {
  auto r = parse_repo_ref("Qwen/Qwen3-0.6B");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->repo_id, "Qwen/Qwen3-0.6B");
  EXPECT_EQ(r->revision, "main");
  r = parse_repo_ref("Qwen/Qwen3-0.6B@v1.0");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->revision, "v1.0");
  EXPECT_TRUE(parse_repo_ref("gpt2").is_ok());
  EXPECT_TRUE(parse_repo_ref("org/name@refs/pr/1").is_ok());
  for (const char* bad : {"", "/", "a/", "/b", "a/b/c", "../x", "a/..", "a/../b", ".a/b", "a--b/c",
                          "a/b--c", "a/b@", "a/b@../x", "a/b@/main", "a b/c", "-a/b", "a/b."}) {
    EXPECT_FALSE(parse_repo_ref(bad).is_ok()) << bad;
  }
}

TEST_F(ModelStoreTest, CacheDirFromTheEnvironment) {
  ::setenv("HF_HUB_CACHE", "/x/hub-cache", 1);
  ::setenv("HF_HOME", "/y/hf", 1);
  EXPECT_EQ(ModelStore::from_env().cache_dir(), "/x/hub-cache");
  ::unsetenv("HF_HUB_CACHE");
  EXPECT_EQ(ModelStore::from_env().cache_dir(), "/y/hf/hub");
  ::unsetenv("HF_HOME");
  ::setenv("XDG_CACHE_HOME", "/z", 1);
  EXPECT_EQ(ModelStore::from_env().cache_dir(), "/z/huggingface/hub");
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(ModelStore::from_env().cache_dir(),
            std::string(std::getenv("HOME")) + "/.cache/huggingface/hub");
  EXPECT_EQ(store().repo_dir("Qwen/Qwen3-0.6B"), cache_.string() + "/models--Qwen--Qwen3-0.6B");
  EXPECT_EQ(store().repo_dir("gpt2"), cache_.string() + "/models--gpt2");
}

TEST_F(ModelStoreTest, ResolvesBranchTagAndCommit) {
  make_qwen();
  auto s = store();
  auto main = s.resolve(*parse_repo_ref("Qwen/Qwen3-0.6B"));
  ASSERT_TRUE(main.is_ok()) << main.status().message();
  EXPECT_EQ(*main, s.repo_dir("Qwen/Qwen3-0.6B") + "/snapshots/" + kC1);
  std::ifstream in(*main + "/config.json");  // through the symlink
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("Qwen3ForCausalLM"), std::string::npos);

  auto v1 = s.resolve(*parse_repo_ref("Qwen/Qwen3-0.6B@v1"));
  ASSERT_TRUE(v1.is_ok());
  EXPECT_EQ(fs::path(*v1).filename(), kC2);
  auto by_commit = s.resolve(*parse_repo_ref("Qwen/Qwen3-0.6B@" + kC2));
  ASSERT_TRUE(by_commit.is_ok());
  EXPECT_EQ(*by_commit, *v1);

  for (const std::string& bad : std::vector<std::string>{"Qwen/Qwen3-8B", "Qwen/Qwen3-0.6B@v2",
                                "Qwen/Qwen3-0.6B@" + std::string(40, 'e')}) {
    auto r = s.resolve(*parse_repo_ref(bad));
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("yun pull"), std::string::npos);
    EXPECT_NE(r.status().message().find(cache_.string()), std::string::npos);
  }
}

TEST_F(ModelStoreTest, ResolveModelPathPrefersADirectory) {
  make_qwen();
  auto s = store();
  EXPECT_EQ(*resolve_model_path(root_.string(), s), root_.string());
  auto r = resolve_model_path("Qwen/Qwen3-0.6B", s);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(fs::path(*r).filename(), kC1);
  auto bad = resolve_model_path("/no/such/dir", s);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
}

TEST_F(ModelStoreTest, ListsSnapshotsWithSizes) {
  make_qwen();
  add_file("models--gpt2", kC1, "config.json", "dddd", "{}");
  add_file("models--gpt2", kC1, "onnx/model.onnx", "eeee", "12345");
  write(cache_ / "models--gpt2" / "refs" / "main", kC1);
  fs::create_directories(cache_ / "datasets--x--y" / "snapshots");  // not a model
  auto l = store().list();
  ASSERT_TRUE(l.is_ok()) << l.status().message();
  ASSERT_EQ(l->size(), 3u);
  const auto& q1 = (*l)[0];
  EXPECT_EQ(q1.repo_id, "Qwen/Qwen3-0.6B");
  EXPECT_EQ(q1.commit, kC1);
  EXPECT_EQ(q1.revision, "main");
  EXPECT_EQ(q1.size_bytes, static_cast<int64_t>(1000 + kConfig.size()));
  EXPECT_GT(q1.modified, 0);
  EXPECT_EQ((*l)[1].revision, "v1");
  EXPECT_EQ((*l)[1].size_bytes, 1000 + 7);  // the shared weights blob, once
  EXPECT_EQ((*l)[2].repo_id, "gpt2");
  EXPECT_EQ((*l)[2].size_bytes, 2 + 5);
  EXPECT_TRUE(ModelStore((root_ / "none").string()).list()->empty());
}

TEST_F(ModelStoreTest, RemovesOnlyUnderTheCache) {
  make_qwen();
  // A victim outside the cache that a crafted name or a symlink might reach.
  write(root_ / "victim" / "keep.txt", "keep");
  fs::create_symlink(root_ / "victim", cache_ / "models--evil--link");
  auto s = store();
  for (const char* bad : {"../victim", "/etc", "Qwen/Qwen3-0.6B@main", "a/b/c"}) {
    EXPECT_EQ(s.remove(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(s.remove("Qwen/Qwen3-8B").code(), StatusCode::kNotFound);
  // A symlinked entry is removed as a link; what it points to stays.
  EXPECT_TRUE(s.remove("evil/link").is_ok());
  EXPECT_TRUE(fs::exists(root_ / "victim" / "keep.txt"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(cache_ / "models--evil--link")));

  ASSERT_TRUE(s.remove("Qwen/Qwen3-0.6B").is_ok());
  EXPECT_FALSE(fs::exists(cache_ / "models--Qwen--Qwen3-0.6B"));
  EXPECT_TRUE(fs::exists(cache_));
  EXPECT_TRUE(s.list()->empty());
}

}  // namespace
}  // namespace yun
