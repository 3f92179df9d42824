#include "yun/model/model_store.h"

#include "yun/model/gguf.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace yun {
namespace {

namespace fs = std::filesystem;

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// One part of a repo id: [A-Za-z0-9][A-Za-z0-9._-]*, no "--" or "..".
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 96 || !alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return s.find("--") == std::string_view::npos && s.find("..") == std::string_view::npos &&
         s.back() != '.';
}

bool valid_revision(std::string_view s) {
  if (s.empty() || s.size() > 256 || !alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-' && c != '/') return false;
  }
  return s.find("..") == std::string_view::npos && s.find("//") == std::string_view::npos &&
         s.back() != '/';
}

bool is_commit(std::string_view s) {
  if (s.size() != 40) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

std::time_t to_time_t(fs::file_time_type t) {
  using namespace std::chrono;
  return system_clock::to_time_t(
      time_point_cast<system_clock::duration>(t - fs::file_time_type::clock::now() + system_clock::now()));
}

}  // namespace

Result<RepoRef> parse_repo_ref(std::string_view text) {
  RepoRef r;
  std::string_view id = text;
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    id = text.substr(0, at);
    std::string_view rev = text.substr(at + 1);
    if (!valid_revision(rev)) {
      return invalid_argument("bad revision '" + std::string(rev) + "' in '" + std::string(text) + "'");
    }
    r.revision = std::string(rev);
  }
  size_t slash = id.find('/');
  bool ok = slash == std::string_view::npos
                ? valid_name(id)
                : valid_name(id.substr(0, slash)) && valid_name(id.substr(slash + 1));
  if (!ok) {
    return invalid_argument("'" + std::string(text) +
                            "' is not a Hugging Face repo id (ORG/NAME[@REVISION])");
  }
  r.repo_id = std::string(id);
  return r;
}

ModelStore ModelStore::from_env() {
  if (std::string d = env("HF_HUB_CACHE"); !d.empty()) return ModelStore(d);
  if (std::string d = env("HUGGINGFACE_HUB_CACHE"); !d.empty()) return ModelStore(d);
  if (std::string d = env("HF_HOME"); !d.empty()) return ModelStore(d + "/hub");
  if (std::string d = env("XDG_CACHE_HOME"); !d.empty()) return ModelStore(d + "/huggingface/hub");
  return ModelStore(env("HOME") + "/.cache/huggingface/hub");
}

std::string ModelStore::repo_dir(const std::string& repo_id) const {
  std::string name = "models--" + repo_id;
  if (size_t slash = name.find('/'); slash != std::string::npos) name.replace(slash, 1, "--");
  return cache_dir_ + "/" + name;
}

Result<std::string> ModelStore::resolve(const RepoRef& ref) const {
  auto missing = [&](const std::string& why) {
    std::string what = ref.repo_id + (ref.revision == "main" ? "" : "@" + ref.revision);
    return not_found(what + " is not in the Hugging Face cache (" + cache_dir_ + "): " + why +
                     "; `yun pull " + what + "` downloads it");
  };
  const std::string dir = repo_dir(ref.repo_id);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return missing("no " + fs::path(dir).filename().string());
  std::string commit;
  if (std::ifstream in(dir + "/refs/" + ref.revision); in) {
    std::getline(in, commit);
    commit = trim(commit);
    if (!is_commit(commit)) return missing("refs/" + ref.revision + " holds no commit hash");
  } else if (is_commit(ref.revision)) {
    commit = ref.revision;
  } else {
    return missing("no refs/" + ref.revision);
  }
  std::string snap = dir + "/snapshots/" + commit;
  if (!fs::is_directory(snap, ec)) return missing("no snapshot " + commit);
  if (!fs::exists(snap + "/config.json", ec)) return missing("snapshot " + commit + " has no config.json");
  return snap;
}

Result<std::vector<CachedModel>> ModelStore::list() const {
  std::vector<CachedModel> out;
  std::error_code ec;
  if (!fs::is_directory(cache_dir_, ec)) return out;
  try {
    for (const auto& repo : fs::directory_iterator(cache_dir_)) {
      std::string name = repo.path().filename().string();
      if (name.rfind("models--", 0) != 0 || !fs::is_directory(repo.path(), ec)) continue;
      std::string id = name.substr(8);
      if (size_t sep = id.find("--"); sep != std::string::npos) id.replace(sep, 2, "/");
      // commit -> the refs naming it
      std::map<std::string, std::vector<std::string>> refs;
      const fs::path refs_dir = repo.path() / "refs";
      if (fs::is_directory(refs_dir, ec)) {
        for (const auto& f : fs::recursive_directory_iterator(refs_dir)) {
          if (!fs::is_regular_file(f.path(), ec)) continue;
          std::ifstream in(f.path());
          std::string commit;
          std::getline(in, commit);
          refs[trim(commit)].push_back(fs::relative(f.path(), refs_dir).string());
        }
      }
      const fs::path snaps = repo.path() / "snapshots";
      if (!fs::is_directory(snaps, ec)) continue;
      for (const auto& snap : fs::directory_iterator(snaps)) {
        if (!fs::is_directory(snap.path(), ec)) continue;
        CachedModel m;
        m.repo_id = id;
        m.commit = snap.path().filename().string();
        m.snapshot_dir = fs::absolute(snap.path()).string();
        if (auto r = refs.find(m.commit); r != refs.end()) {
          std::sort(r->second.begin(), r->second.end());
          for (const auto& n : r->second) m.revision += (m.revision.empty() ? "" : ", ") + n;
        } else {
          m.revision = m.commit.substr(0, 12);
        }
        std::set<std::string> seen;  // blobs shared by several names count once
        for (const auto& f : fs::recursive_directory_iterator(snap.path())) {
          std::error_code fe;
          if (!fs::is_regular_file(f.path(), fe)) continue;  // follows the symlink
          std::string target = fs::canonical(f.path(), fe).string();
          if (fe || !seen.insert(target).second) continue;
          const auto size = fs::file_size(target, fe);
          if (!fe) m.size_bytes += static_cast<int64_t>(size);
          const auto t = fs::last_write_time(target, fe);
          if (!fe) m.modified = std::max(m.modified, to_time_t(t));
        }
        m.format = model_weight_format(m.snapshot_dir);
        out.push_back(std::move(m));
      }
    }
  } catch (const fs::filesystem_error& e) {
    return internal_error("cannot read the Hugging Face cache " + cache_dir_ + ": " + e.what());
  }
  std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) {
    return std::tie(a.repo_id, a.commit) < std::tie(b.repo_id, b.commit);
  });
  return out;
}

Status ModelStore::remove(const std::string& repo_id) const {
  auto ref = parse_repo_ref(repo_id);
  if (!ref.is_ok()) return ref.status();
  if (ref->revision != "main" || repo_id.find('@') != std::string::npos) {
    return invalid_argument("remove takes a repo id without a revision: it removes the whole entry");
  }
  std::error_code ec;
  const fs::path cache = fs::weakly_canonical(cache_dir_, ec);
  const fs::path dir = fs::path(repo_dir(ref->repo_id));
  // The entry itself (a symlink is removed, never followed) must sit directly
  // in the cache directory.
  const fs::path parent = fs::weakly_canonical(dir.parent_path(), ec);
  if (ec || parent != cache || dir.filename().string().rfind("models--", 0) != 0) {
    return invalid_argument("refusing to remove " + dir.string() + ": not directly under " +
                            cache.string());
  }
  if (!fs::exists(fs::symlink_status(dir, ec))) {
    return not_found(repo_id + " is not in the Hugging Face cache (" + cache_dir_ + ")");
  }
  fs::remove_all(dir, ec);
  if (ec) return internal_error("cannot remove " + dir.string() + ": " + ec.message());
  return Status::ok();
}

std::string model_weight_format(const std::string& model_dir) {
  std::ifstream in(model_dir + "/config.json");
  if (!in) return "?";
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "?";
  if (auto q = j.find("quantization_config"); q != j.end() && q->is_object()) {
    auto qm = q->find("quant_method");
    std::string method = qm != q->end() && qm->is_string() ? qm->get<std::string>() : "quantized";
    if (auto b = q->find("bits"); b != q->end() && b->is_number_integer()) {
      method += " " + std::to_string(b->get<int64_t>()) + "-bit";
    }
    return method;
  }
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (auto d = j.find(key); d != j.end() && d->is_string()) return d->get<std::string>();
  }
  if (auto t = j.find("text_config"); t != j.end() && t->is_object()) {
    for (const char* key : {"torch_dtype", "dtype"}) {
      if (auto d = t->find(key); d != t->end() && d->is_string()) return d->get<std::string>();
    }
  }
  return "?";
}

Result<std::string> resolve_model_path(const std::string& model, const ModelStore& store) {
  std::error_code ec;
  if (fs::is_directory(model, ec)) return model;
  if (fs::is_regular_file(model, ec) && is_gguf_file(model)) return model;  // a GGUF file
  auto ref = parse_repo_ref(model);
  if (!ref.is_ok()) {
    return not_found("model '" + model + "' is neither a directory nor a Hugging Face repo id");
  }
  auto dir = store.resolve(*ref);
  if (!dir.is_ok() && dir.status().code() == StatusCode::kNotFound) {
    return not_found("no directory " + model + ", and " + dir.status().message());
  }
  return dir;
}

}  // namespace yun
