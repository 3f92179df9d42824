#include "yun/hub/pull.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "yun/hub/cache_files.h"
#include "yun/hub/file_hash.h"
#include "yun/hub/http.h"
#include "yun/hub/names.h"

namespace yun::hub {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string repo_text(const RepoRef& ref) {
  return ref.repo_id + (ref.revision == "main" ? "" : "@" + ref.revision);
}

// The error for an HTTP reply that is not a success.
Status http_error(const HttpResponse& r, const std::string& what, const PullOptions& opts) {
  const std::string code = r.header("x-error-code");
  if (code == "RepositoryNotFound" || (r.status == 404 && code.empty())) {
    return not_found(what + " was not found on " + opts.endpoint + " (HTTP " +
                     std::to_string(r.status) + ")" +
                     (opts.token.empty() ? "; if it is private, set HF_TOKEN" : ""));
  }
  if (code == "RevisionNotFound" || code == "EntryNotFound" || r.status == 404) {
    return not_found(what + ": " + (code.empty() ? "not found" : code) + " on " + opts.endpoint);
  }
  if (r.status == 401 || r.status == 403) {
    return invalid_argument(
        what + ": access denied (HTTP " + std::to_string(r.status) +
        "): the repo is gated or private; " +
        (opts.token.empty()
             ? "set HF_TOKEN to a token that may read it"
             : "the token in HF_TOKEN may not read it (accept the terms on the repo's page?)"));
  }
  return unavailable(what + ": " + opts.endpoint + " answered HTTP " + std::to_string(r.status));
}

bool transient(long status) { return status == 429 || status >= 500; }

struct FileJob {
  std::string path;  // in the repo
  std::string etag;  // the blob's name
  int64_t size = -1;
  bool lfs = false;
  bool cached = false;
};

// Runs fn(i) for i in [0, n) on up to `workers` threads; the first error
// stops the rest (`failed` is set then, for work in flight to notice).
Status parallel_for(size_t n, int workers, const std::function<Status(size_t)>& fn,
                    std::atomic<bool>& failed) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s = fn(i);
      if (!s.is_ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first = s;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  int k = std::max(1, std::min<int>(workers, static_cast<int>(n)));
  for (int t = 0; t < k; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  return first;
}

}  // namespace

PullOptions pull_options_from_env() {
  PullOptions o;
  if (std::string e = env("HF_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    o.endpoint = e;
  }
  o.token = env("HF_TOKEN");
  if (o.token.empty()) {
    std::string path = env("HF_TOKEN_PATH");
    if (path.empty()) {
      std::string home = env("HF_HOME");
      path = home.empty() ? env("HOME") + "/.cache/huggingface/token" : home + "/token";
    }
    if (std::ifstream in(path); in) std::getline(in, o.token);
    while (!o.token.empty() && std::isspace(static_cast<unsigned char>(o.token.back())))
      o.token.pop_back();
  }
  return o;
}

bool wanted_for_serving(const std::string& f) {
  if (f.find('/') != std::string::npos) return false;
  auto ends_with = [&](const char* suf) {
    std::string s(suf);
    return f.size() >= s.size() && f.compare(f.size() - s.size(), s.size(), s) == 0;
  };
  return f == "config.json" || f == "generation_config.json" || f == "tokenizer.json" ||
         f == "tokenizer_config.json" || f == "chat_template.jinja" || ends_with(".safetensors") ||
         f == "model.safetensors.index.json" || f.rfind("LICENSE", 0) == 0 || f == "README.md";
}

Result<PullResult> pull_repo(const ModelStore& store, const RepoRef& ref, const PullOptions& opts,
                             const std::function<void(const PullProgress&)>& on_progress) {
  if (!HttpClient::available()) {
    return unimplemented(
        "this yun was built without libcurl; download with huggingface-cli instead");
  }
  const HttpClient http(opts.token);
  const std::string what = repo_text(ref);

  // 1. The revision: its commit and file list.
  const std::string info_url =
      opts.endpoint + "/api/models/" + ref.repo_id + "/revision/" + url_encode(ref.revision, false);
  YUN_ASSIGN_OR_RETURN(HttpResponse info, http.get(info_url));
  if (info.status != 200) return http_error(info, what, opts);
  nlohmann::json j = nlohmann::json::parse(info.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return unavailable(what + ": " + opts.endpoint + " answered with no JSON model info");
  }
  PullResult result;
  result.commit = j.value("sha", "");
  if (!is_hex(result.commit, 40)) return unavailable(what + ": the hub's answer has no commit sha");
  std::vector<FileJob> jobs;
  if (j.contains("siblings") && j["siblings"].is_array()) {
    for (const auto& s : j["siblings"]) {
      if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
      std::string f = s["rfilename"];
      if (!safe_rel_path(f) || !wanted_for_serving(f)) continue;
      FileJob jb;
      jb.path = f;
      jobs.push_back(jb);
    }
  }
  auto has = [&](auto pred) {
    for (const auto& jb : jobs)
      if (pred(jb.path)) return true;
    return false;
  };
  if (!has([](const std::string& p) { return p == "config.json"; })) {
    return invalid_argument(what + " has no config.json: not a model yun can serve");
  }
  if (!has([](const std::string& p) {
        return p.size() > 12 && p.substr(p.size() - 12) == ".safetensors";
      })) {
    return invalid_argument(what + " has no *.safetensors weights (yun reads safetensors only)");
  }

  // A sharded checkpoint: only the shards its index names (a repo may also
  // hold e.g. consolidated.safetensors, the same weights in another layout).
  if (has([](const std::string& p) { return p == "model.safetensors.index.json"; })) {
    const std::string url = opts.endpoint + "/" + ref.repo_id + "/resolve/" + result.commit +
                            "/model.safetensors.index.json";
    YUN_ASSIGN_OR_RETURN(HttpResponse idx, http.get(url));
    if (idx.status != 200) return http_error(idx, what + " model.safetensors.index.json", opts);
    nlohmann::json ij = nlohmann::json::parse(idx.body, nullptr, false);
    if (ij.is_discarded() || !ij.is_object() || !ij.contains("weight_map") ||
        !ij["weight_map"].is_object()) {
      return invalid_argument(what + " model.safetensors.index.json has no weight_map");
    }
    std::set<std::string> shards;
    for (const auto& [name, file] : ij["weight_map"].items())
      if (file.is_string()) shards.insert(file.get<std::string>());
    std::erase_if(jobs, [&](const FileJob& jb) {
      return jb.path.size() > 12 && jb.path.substr(jb.path.size() - 12) == ".safetensors" &&
             !shards.count(jb.path);
    });
    for (const std::string& shard : shards) {
      if (!has([&](const std::string& p) { return p == shard; })) {
        return invalid_argument(what + ": model.safetensors.index.json names " + shard +
                                ", which the repo does not hold");
      }
    }
  }

  // 2. Each file's blob name and size.
  const std::string repo_dir = store.repo_dir(ref.repo_id);
  const std::string blobs = repo_dir + "/blobs";
  const std::string snap = repo_dir + "/snapshots/" + result.commit;
  const std::string locks = store.cache_dir() + "/.locks/" + fs::path(repo_dir).filename().string();
  std::atomic<bool> head_failed{false};
  Status s = parallel_for(
      jobs.size(), opts.parallel,
      [&](size_t i) -> Status {
        FileJob& job = jobs[i];
        std::string url = opts.endpoint + "/" + ref.repo_id + "/resolve/" + result.commit + "/" +
                          url_encode(job.path, true);
        HttpResponse r;
        for (int attempt = 0;; ++attempt) {
          auto got = http.head(url);
          bool retry = !got.is_ok() ? got.status().code() == StatusCode::kUnavailable
                                    : transient(got->status);
          if (retry && attempt < opts.retries) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
            continue;
          }
          if (!got.is_ok()) return got.status();
          r = std::move(*got);
          // A relative redirect stays on the hub (a renamed repo); a CDN one is the file.
          std::string loc = r.header("location");
          if (r.status >= 300 && r.status < 400 && r.header("x-linked-etag").empty() &&
              !loc.empty() && loc.front() == '/' && attempt < opts.retries) {
            url = origin_of(opts.endpoint) + loc;
            continue;
          }
          break;
        }
        if (r.status >= 400 || (r.status >= 300 && r.header("location").empty())) {
          return http_error(r, what + " " + job.path, opts);
        }
        std::string linked = clean_etag(r.header("x-linked-etag"));
        job.lfs = !linked.empty();
        job.etag = job.lfs ? linked : clean_etag(r.header("etag"));
        if (!safe_blob_name(job.etag)) {
          return unavailable(what + " " + job.path + ": the hub gave no usable ETag ('" + job.etag +
                             "')");
        }
        std::string size = r.header(job.lfs ? "x-linked-size" : "content-length");
        if (size.empty()) size = r.header("content-length");
        if (!size.empty()) job.size = std::strtoll(size.c_str(), nullptr, 10);
        std::error_code ec;
        job.cached = fs::is_regular_file(blobs + "/" + job.etag, ec);
        return Status::ok();
      },
      head_failed);
  if (!s.is_ok()) return s;

  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (!ec) fs::create_directories(snap, ec);
  if (!ec) fs::create_directories(repo_dir + "/refs", ec);
  if (ec) return internal_error("cannot create " + repo_dir + ": " + ec.message());

  // Enough room for what is still to come?
  int64_t needed = 0;
  for (const auto& jb : jobs) {
    if (jb.cached || jb.size <= 0) continue;
    std::error_code e0;
    auto have = fs::file_size(blobs + "/" + jb.etag + ".incomplete", e0);
    needed += jb.size - (e0 ? 0 : std::min<int64_t>(static_cast<int64_t>(have), jb.size));
  }
  if (struct statvfs vfs; ::statvfs(blobs.c_str(), &vfs) == 0) {
    const int64_t avail = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
    if (avail < needed) {
      return resource_exhausted(what + " needs " + std::to_string(needed) + " more bytes in " +
                                blobs + ", which has " + std::to_string(avail) + " free");
    }
  }

  // 3. The blobs, several at a time.
  std::mutex mu;
  PullProgress progress;
  progress.files_total = static_cast<int>(jobs.size());
  for (const auto& jb : jobs)
    if (!jb.cached && jb.size > 0) progress.bytes_total += jb.size;
  auto report = [&](const std::function<void(PullProgress&)>& change) {
    std::lock_guard<std::mutex> lock(mu);
    change(progress);
    if (on_progress) on_progress(progress);
    progress.finished_file.clear();
    progress.reused = false;
  };
  std::atomic<int64_t> downloaded{0};
  std::atomic<bool> failed{false};  // stops the other downloads (their partial files stay)
  s = parallel_for(
      jobs.size(), opts.parallel,
      [&](size_t i) -> Status {
        FileJob& job = jobs[i];
        const std::string blob = blobs + "/" + job.etag;
        std::unique_ptr<BlobLock> lock;
        if (!job.cached) {
          YUN_ASSIGN_OR_RETURN(lock, BlobLock::acquire(locks + "/" + job.etag + ".lock"));
          std::error_code e1;
          if (fs::is_regular_file(blob, e1)) job.cached = true;  // another process just wrote it
        }
        if (job.cached) {
          report([&](PullProgress& p) {
            ++p.files_done;
            p.finished_file = job.path;
            p.finished_size = job.size;
            p.reused = true;
          });
          return Status::ok();
        }
        const std::string part = blob + ".incomplete";
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(part.c_str(), "ab"),
                                                            std::fclose);
        if (!out) return internal_error("cannot write " + part);
        const std::string url = opts.endpoint + "/" + ref.repo_id + "/resolve/" + result.commit +
                                "/" + url_encode(job.path, true);
        auto on_bytes = [&](int64_t n) {
          downloaded += n;
          report([&](PullProgress& p) { p.bytes_done += n; });
          return !failed.load();
        };
        for (int attempt = 0;; ++attempt) {
          std::fflush(out.get());
          std::error_code e2;
          int64_t have = static_cast<int64_t>(fs::file_size(part, e2));
          if (e2) return internal_error("cannot read " + part + ": " + e2.message());
          if (attempt == 0 && have > 0) report([&](PullProgress& p) { p.bytes_done += have; });
          if (job.size >= 0 && have == job.size) break;  // complete from an earlier run
          if (job.size >= 0 && have > job.size) {        // not this file: start over
            std::fflush(out.get());
            if (ftruncate(fileno(out.get()), 0) != 0)
              return internal_error("cannot truncate " + part);
            report([&](PullProgress& p) { p.bytes_done -= have; });
            have = 0;
          }
          auto got = http.download(url, out.get(), have, on_bytes);
          if (!got.is_ok() && got.status().code() != StatusCode::kUnavailable) return got.status();
          if (failed.load()) return aborted("stopped");
          bool ok = got.is_ok() && (got->status == 200 || got->status == 206);
          if (got.is_ok() && !ok && !transient(got->status))
            return http_error(*got, what + " " + job.path, opts);
          std::fflush(out.get());
          int64_t now = static_cast<int64_t>(fs::file_size(part, e2));
          if (ok && (job.size < 0 || now == job.size)) break;
          if (attempt >= opts.retries) {
            return got.is_ok() ? unavailable(what + " " + job.path + ": the download stopped at " +
                                             std::to_string(now) + " of " +
                                             std::to_string(job.size) + " bytes")
                               : got.status();
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
        }
        out.reset();
        if (job.lfs && is_hex(job.etag, 64)) {
          YUN_ASSIGN_OR_RETURN(std::string sum, sha256_file_hex(part));
          if (sum != job.etag) {
            std::error_code e3;
            fs::remove(part, e3);
            return invalid_argument(what + " " + job.path + ": checksum mismatch (sha256 " + sum +
                                    ", the hub says " + job.etag + "); the download was deleted");
          }
        }
        std::error_code e4;
        fs::rename(part, blob, e4);
        if (e4) return internal_error("cannot write " + blob + ": " + e4.message());
        report([&](PullProgress& p) {
          ++p.files_done;
          p.finished_file = job.path;
          p.finished_size = job.size;
        });
        return Status::ok();
      },
      failed);
  if (!s.is_ok()) return s;
  result.bytes_downloaded = downloaded.load();

  // 4. The snapshot's links, then the ref: only now does the snapshot resolve.
  for (const FileJob& job : jobs) {
    std::string target = "../../blobs/" + job.etag;
    for (char c : job.path)
      if (c == '/') target = "../" + target;
    const std::string link = snap + "/" + job.path;
    fs::create_directories(fs::path(link).parent_path(), ec);
    if (ec) return internal_error("cannot create " + fs::path(link).parent_path().string());
    YUN_RETURN_IF_ERROR(symlink_atomically(target, link));
    result.files.push_back(job.path);
  }
  if (ref.revision != result.commit) {
    const std::string ref_path = repo_dir + "/refs/" + ref.revision;
    fs::create_directories(fs::path(ref_path).parent_path(), ec);
    YUN_RETURN_IF_ERROR(write_atomically(ref_path, result.commit));
  }
  result.snapshot_dir = snap;
  return result;
}

}  // namespace yun::hub
