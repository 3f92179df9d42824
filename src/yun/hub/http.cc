#include "yun/hub/http.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#ifdef YUN_HAVE_CURL
#include <curl/curl.h>
#include <unistd.h>
#endif

namespace yun::hub {

#ifndef YUN_HAVE_CURL

bool HttpClient::available() { return false; }
Result<HttpResponse> HttpClient::head(const std::string&) const {
  return unimplemented("this yun was built without libcurl");
}
Result<HttpResponse> HttpClient::get(const std::string&) const {
  return unimplemented("this yun was built without libcurl");
}
Result<HttpResponse> HttpClient::download(const std::string&, std::FILE*, int64_t,
                                          const std::function<bool(int64_t)>&) const {
  return unimplemented("this yun was built without libcurl");
}

#else

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse resp;
  bool in_first = true;  // still reading the first response's headers
  std::FILE* out = nullptr;
  int64_t offset = 0;
  bool body_checked = false;
  bool discard = false;
  const std::function<bool(int64_t)>* on_bytes = nullptr;
  std::string write_error;
  bool cancelled = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) {  // the end of one response's headers
    t->in_first = false;
    return size * n;
  }
  if (!t->in_first) return size * n;
  size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;  // the status line
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t v = line.find_first_not_of(" \t", colon + 1);
  t->resp.headers[name] = v == std::string::npos ? "" : line.substr(v);
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!t->out) {
    t->resp.body.append(data, len);
    return len;
  }
  if (!t->body_checked) {
    t->body_checked = true;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 300) {
      t->discard = true;
    } else if (t->offset > 0 && code != 206) {  // the server ignored Range: start over
      std::fflush(t->out);
      if (std::fseek(t->out, 0, SEEK_SET) != 0 || ftruncate(fileno(t->out), 0) != 0) {
        t->write_error = "cannot truncate the partial download";
        return 0;
      }
      if (*t->on_bytes) (*t->on_bytes)(-t->offset);
      t->offset = 0;
    }
  }
  if (t->discard) return len;
  if (std::fwrite(data, 1, len, t->out) != len) {
    t->write_error = "cannot write the download (disk full?)";
    return 0;
  }
  if (*t->on_bytes && !(*t->on_bytes)(static_cast<int64_t>(len))) {
    t->cancelled = true;
    return 0;
  }
  return len;
}

Result<HttpResponse> perform(const std::string& url, const std::string& token, bool head,
                             bool follow, std::FILE* out, int64_t offset,
                             const std::function<bool(int64_t)>* on_bytes) {
  global_init();
  Transfer t;
  t.curl = curl_easy_init();
  if (!t.curl) return internal_error("curl_easy_init failed");
  t.out = out;
  t.offset = offset;
  t.on_bytes = on_bytes;
  curl_slist* hdrs = nullptr;
  if (!token.empty()) hdrs = curl_slist_append(hdrs, ("Authorization: Bearer " + token).c_str());
  std::string range = offset > 0 ? std::to_string(offset) + "-" : "";
  curl_easy_setopt(t.curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "yun (huggingface_hub-compatible)");
  curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(t.curl, CURLOPT_NOBODY, head ? 1L : 0L);
  curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for a minute: give up
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
  if (!range.empty()) curl_easy_setopt(t.curl, CURLOPT_RANGE, range.c_str());
  CURLcode rc = curl_easy_perform(t.curl);
  long code = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(t.curl);
  curl_slist_free_all(hdrs);
  if (!t.write_error.empty()) return internal_error(t.write_error);
  if (t.cancelled) return aborted("download cancelled (" + url + ")");
  if (rc != CURLE_OK) return unavailable(std::string(curl_easy_strerror(rc)) + " (" + url + ")");
  t.resp.status = code;
  return std::move(t.resp);
}

}  // namespace

bool HttpClient::available() { return true; }

Result<HttpResponse> HttpClient::head(const std::string& url) const {
  return perform(url, token_, true, false, nullptr, 0, nullptr);
}

Result<HttpResponse> HttpClient::get(const std::string& url) const {
  return perform(url, token_, false, true, nullptr, 0, nullptr);
}

Result<HttpResponse> HttpClient::download(const std::string& url, std::FILE* out, int64_t offset,
                                          const std::function<bool(int64_t)>& on_bytes) const {
  return perform(url, token_, false, true, out, offset, &on_bytes);
}

#endif

}  // namespace yun::hub
