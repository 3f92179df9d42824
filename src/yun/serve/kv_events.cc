#include "yun/serve/kv_events.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "yun/base/log.h"
#include "yun/serve/msgpack.h"

#ifdef YUN_HAVE_ZMQ
#include <zmq.h>
#endif

namespace yun::serve {
namespace {

constexpr const char* kMedium = "GPU";  // vLLM's MEDIUM_GPU: the engine's own KV cache

// A run of events that becomes one wire event.
struct Run {
  KvBlockEvent::Kind kind;
  size_t begin, end;  // [begin, end) in the batch
};

std::vector<Run> runs(std::span<const KvBlockEvent> ev) {
  std::vector<Run> out;
  for (size_t i = 0; i < ev.size(); ++i) {
    if (!out.empty() && out.back().kind == ev[i].kind) {
      const KvBlockEvent& prev = ev[i - 1];
      // Stored: the next block of the same chain. Removed: any.
      // AllBlocksCleared: each its own.
      bool joins =
          ev[i].kind == KvBlockEvent::Kind::kRemoved ||
          (ev[i].kind == KvBlockEvent::Kind::kStored && ev[i].parent && *ev[i].parent == prev.hash);
      if (joins) {
        out.back().end = i + 1;
        continue;
      }
    }
    out.push_back({ev[i].kind, i, i + 1});
  }
  return out;
}

void write_stored(MsgpackWriter& w, std::span<const KvBlockEvent> run, int32_t block_size,
                  KvEventsEncoding enc) {
  const bool map = enc == KvEventsEncoding::kMap;
  if (map) {
    w.map(11);
    w.str("type");
  } else {
    w.array(9);
  }
  w.str("BlockStored");
  if (map) w.str("block_hashes");
  w.array(static_cast<uint32_t>(run.size()));
  for (const KvBlockEvent& e : run) w.uint(e.hash);
  if (map) w.str("parent_block_hash");
  if (run[0].parent)
    w.uint(*run[0].parent);
  else
    w.nil();
  if (map) w.str("token_ids");
  size_t ntok = 0;
  for (const KvBlockEvent& e : run) ntok += e.tokens.size();
  w.array(static_cast<uint32_t>(ntok));
  for (const KvBlockEvent& e : run) {
    for (int32_t t : e.tokens) w.sint(t);
  }
  if (map) w.str("block_size");
  w.sint(block_size);
  if (map) w.str("lora_id");
  w.nil();
  if (map) w.str("medium");
  w.str(kMedium);
  if (map) w.str("lora_name");
  w.nil();
  if (map) w.str("extra_keys");
  w.array(static_cast<uint32_t>(run.size()));
  for (const KvBlockEvent& e : run) {
    if (!e.parent && e.cache_salt != 0) {
      w.array(1);
      w.str(cache_salt_text(e.cache_salt));
    } else {
      w.nil();
    }
  }
  if (map) {
    w.str("group_idx");
    w.uint(0);
    w.str("kv_cache_spec_kind");
    w.str("full_attention");
  }
}

void write_removed(MsgpackWriter& w, std::span<const KvBlockEvent> run, KvEventsEncoding enc) {
  const bool map = enc == KvEventsEncoding::kMap;
  if (map) {
    w.map(4);
    w.str("type");
  } else {
    w.array(3);
  }
  w.str("BlockRemoved");
  if (map) w.str("block_hashes");
  w.array(static_cast<uint32_t>(run.size()));
  for (const KvBlockEvent& e : run) w.uint(e.hash);
  if (map) w.str("medium");
  w.str(kMedium);
  if (map) {
    w.str("group_idx");
    w.uint(0);
  }
}

}  // namespace

std::string cache_salt_text(uint64_t salt) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(salt));
  return buf;
}

Result<KvEventsEncoding> parse_kv_events_encoding(const std::string& s) {
  if (s == "array") return KvEventsEncoding::kArray;
  if (s == "map") return KvEventsEncoding::kMap;
  return invalid_argument("--kv-events-encoding must be array or map, not '" + s + "'");
}

std::string encode_kv_event_batch(double ts, std::span<const KvBlockEvent> events,
                                  int32_t block_size, KvEventsEncoding enc) {
  MsgpackWriter w;
  std::vector<Run> rs = runs(events);
  w.array(3);
  w.f64(ts);
  w.array(static_cast<uint32_t>(rs.size()));
  for (const Run& r : rs) {
    std::span<const KvBlockEvent> run = events.subspan(r.begin, r.end - r.begin);
    switch (r.kind) {
      case KvBlockEvent::Kind::kStored:
        write_stored(w, run, block_size, enc);
        break;
      case KvBlockEvent::Kind::kRemoved:
        write_removed(w, run, enc);
        break;
      case KvBlockEvent::Kind::kAllCleared:
        if (enc == KvEventsEncoding::kMap) {
          w.map(1);
          w.str("type");
        } else {
          w.array(1);
        }
        w.str("AllBlocksCleared");
        break;
    }
  }
  w.uint(0);  // data_parallel_rank
  return w.take();
}

std::string default_kv_events_topic(const std::string& host, int port, const std::string& model) {
  std::string h = host;
  if (h.empty() || h == "0.0.0.0" || h == "::" || h == "[::]") {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0 && buf[0]) h = buf;
  }
  return "kv@" + h + ":" + std::to_string(port) + "@" + model;
}

#ifdef YUN_HAVE_ZMQ

namespace {
bool binds(const std::string& ep) {
  return ep.find('*') != std::string::npos || ep.find("::") != std::string::npos ||
         ep.rfind("ipc://", 0) == 0 || ep.rfind("inproc://", 0) == 0;
}
std::string seq_bytes(int64_t seq) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[i] = static_cast<char>(static_cast<uint64_t>(seq) & 0xff);
    seq = static_cast<int64_t>(static_cast<uint64_t>(seq) >> 8);
  }
  return s;
}
void send_frames(void* sock, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    zmq_send(sock, frames[i].data(), frames[i].size(), i + 1 < frames.size() ? ZMQ_SNDMORE : 0);
  }
}
}  // namespace

Result<std::shared_ptr<KvEventPublisher>> KvEventPublisher::create(const KvEventsOptions& o) {
  std::shared_ptr<KvEventPublisher> p(new KvEventPublisher(o));
  p->ctx_ = zmq_ctx_new();
  p->pub_ = zmq_socket(p->ctx_, ZMQ_PUB);
  int hwm = o.hwm, linger = 1000;
  zmq_setsockopt(p->pub_, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(p->pub_, ZMQ_LINGER, &linger, sizeof linger);
  int rc = binds(o.endpoint) ? zmq_bind(p->pub_, o.endpoint.c_str())
                             : zmq_connect(p->pub_, o.endpoint.c_str());
  if (rc != 0) {
    return invalid_argument("--kv-events-endpoint " + o.endpoint + ": " +
                            zmq_strerror(zmq_errno()));
  }
  if (!o.replay_endpoint.empty()) {
    p->replay_ = zmq_socket(p->ctx_, ZMQ_ROUTER);
    zmq_setsockopt(p->replay_, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(p->replay_, o.replay_endpoint.c_str()) != 0) {
      return invalid_argument("--kv-events-replay-endpoint " + o.replay_endpoint + ": " +
                              zmq_strerror(zmq_errno()));
    }
  }
  return p;
}

KvEventPublisher::~KvEventPublisher() { stop(); }

void KvEventPublisher::start(const std::string& topic) {
  std::lock_guard<std::mutex> lk(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  topic_ = topic;
  thread_ = std::thread([this] { loop(); });
}

void KvEventPublisher::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Closing hands the last batches to ZMQ's io thread; terminating the
  // context waits (up to the 1 s linger) until they are on the wire, so the
  // closing AllBlocksCleared is sent even when the process exits right after.
  if (pub_) zmq_close(pub_);
  if (replay_) zmq_close(replay_);
  if (ctx_) zmq_ctx_term(ctx_);
  pub_ = replay_ = ctx_ = nullptr;
}

void KvEventPublisher::push(std::vector<KvBlockEvent>&& events) {
  if (events.empty()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (pending_.empty()) {
      pending_ = std::move(events);
    } else {
      pending_.insert(pending_.end(), std::make_move_iterator(events.begin()),
                      std::make_move_iterator(events.end()));
    }
  }
  cv_.notify_one();
}

uint64_t KvEventPublisher::batches_sent() const {
  std::lock_guard<std::mutex> lk(mu_);
  return sent_;
}

void KvEventPublisher::send_batch(std::vector<KvBlockEvent>&& events) {
  const double ts =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string payload = encode_kv_event_batch(ts, events, options_.block_size, options_.encoding);
  const uint64_t seq = next_seq_++;
  send_frames(pub_, {topic_, seq_bytes(static_cast<int64_t>(seq)), payload});
  if (options_.replay_endpoint.empty()) {
    // No replay: keep nothing.
  } else {
    buffer_.emplace_back(seq, std::move(payload));
    while (buffer_.size() > options_.buffer_steps) buffer_.pop_front();
  }
  std::lock_guard<std::mutex> lk(mu_);
  ++sent_;
}

void KvEventPublisher::serve_replay() {
  if (!replay_) return;
  for (;;) {
    zmq_pollitem_t item{replay_, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 0) <= 0 || !(item.revents & ZMQ_POLLIN)) return;
    std::vector<std::string> frames;
    for (;;) {
      zmq_msg_t m;
      zmq_msg_init(&m);
      if (zmq_msg_recv(&m, replay_, 0) < 0) {
        zmq_msg_close(&m);
        return;
      }
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
      const bool more = zmq_msg_more(&m);
      zmq_msg_close(&m);
      if (!more) break;
    }
    if (frames.size() != 3 || frames[2].size() != 8) {
      YUN_LOG(kWarn, "kv events: ignoring a malformed replay request");
      continue;
    }
    uint64_t start = 0;
    for (unsigned char c : frames[2]) start = (start << 8) | c;
    for (const auto& [seq, payload] : buffer_) {
      if (seq >= start)
        send_frames(replay_, {frames[0], "", seq_bytes(static_cast<int64_t>(seq)), payload});
    }
    send_frames(replay_, {frames[0], "", seq_bytes(-1), ""});
  }
}

void KvEventPublisher::loop() {
  {
    KvBlockEvent cleared;
    cleared.kind = KvBlockEvent::Kind::kAllCleared;
    send_batch({cleared});
  }
  for (;;) {
    std::vector<KvBlockEvent> events;
    bool stop = false;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(replay_ ? 20 : 200),
                   [this] { return !pending_.empty() || stopping_; });
      events.swap(pending_);
      stop = stopping_;
    }
    serve_replay();
    if (!events.empty()) send_batch(std::move(events));
    if (stop) break;
  }
  KvBlockEvent cleared;
  cleared.kind = KvBlockEvent::Kind::kAllCleared;
  send_batch({cleared});
  serve_replay();
}

#else  // !YUN_HAVE_ZMQ

Result<std::shared_ptr<KvEventPublisher>> KvEventPublisher::create(const KvEventsOptions&) {
  return unavailable("this yun was built without libzmq: --kv-events-endpoint is unavailable");
}
KvEventPublisher::~KvEventPublisher() = default;
void KvEventPublisher::start(const std::string&) {}
void KvEventPublisher::stop() {}
void KvEventPublisher::push(std::vector<KvBlockEvent>&&) {}
uint64_t KvEventPublisher::batches_sent() const { return 0; }
void KvEventPublisher::send_batch(std::vector<KvBlockEvent>&&) {}
void KvEventPublisher::serve_replay() {}
void KvEventPublisher::loop() {}

#endif

}  // namespace yun::serve
