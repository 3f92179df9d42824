// KV-cache events in vLLM's wire format (vllm/distributed/kv_events.py), for
// llm-d's precise prefix-cache routing and other indexers.
//
// Transport (as vLLM's ZmqEventPublisher): a ZMQ PUB socket; an endpoint
// with '*', '::', ipc:// or inproc:// is bound, any other is connected to.
// Each message has three frames:
//   [topic, 8-byte big-endian sequence number (0, 1, 2, ...), payload]
// the payload being one msgpack EventBatch:
//   [ts (float64, seconds since the epoch), [event, ...], data_parallel_rank (0)]
// Events, in the order the prefix cache changed:
//   array encoding (vLLM up to 0.23: array_like tagged structs; what
//   llm-d's kvevents and every positional decoder read; the default):
//     ["BlockStored", [hash, ...], parent_hash | nil, [token, ...], block_size,
//      lora_id (nil), medium ("GPU"), lora_name (nil), extra_keys]
//     ["BlockRemoved", [hash, ...], medium ("GPU")]
//     ["AllBlocksCleared"]
//   map encoding (vLLM after PR #42892: the same fields by name, the tag
//   under "type", plus group_idx 0 and kv_cache_spec_kind "full_attention").
// Hashes are yun's 64-bit block hashes (block_pool.h) as msgpack integers;
// one BlockStored covers a run of consecutive blocks of one chain, its
// parent being the block before the run (nil: the chain's first block).
// extra_keys has one entry per block: [cache_salt] (16 hex digits) for a
// chain's first block when the request had a salt (a tenant's), else nil, as
// vLLM puts a request's cache_salt in its first block's extra keys.
// An AllBlocksCleared batch opens the stream (the cache starts empty) and
// closes it at shutdown (the cache is gone).
//
// Replay (optional ROUTER socket, as vLLM's): a client sends
// [empty, 8-byte big-endian start sequence] (a DEALER; a REQ adds the empty
// frame itself) and gets [empty, seq, payload] for every buffered batch with
// seq >= start (the last buffer_steps batches), then [empty, -1 as 8 bytes,
// empty].
//
// Threads: push() is called on the engine thread (EngineConfig::
// kv_event_sink) and only appends to a queue; one publisher thread encodes,
// sends and buffers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "yun/base/status.h"
#include "yun/engine/block_pool.h"

namespace yun::serve {

enum class KvEventsEncoding { kArray, kMap };

struct KvEventsOptions {
  std::string endpoint;         // e.g. tcp://*:5557
  std::string replay_endpoint;  // e.g. tcp://*:5558; empty: no replay
  int32_t block_size = 16;
  KvEventsEncoding encoding = KvEventsEncoding::kArray;
  size_t buffer_steps = 10000;  // batches kept for replay
  int hwm = 100000;             // the PUB socket's send high-water mark
};

// A cache salt as text (16 hex digits), as KV events and render show it.
std::string cache_salt_text(uint64_t salt);

// Parses "array" | "map". Errors: kInvalidArgument.
Result<KvEventsEncoding> parse_kv_events_encoding(const std::string& s);

// One EventBatch payload (see the top of this file).
std::string encode_kv_event_batch(double ts, std::span<const KvBlockEvent> events,
                                  int32_t block_size, KvEventsEncoding encoding);

// The default topic: kv@<host>:<port>@<model>; a wildcard host ("", 0.0.0.0,
// ::) becomes this machine's host name.
std::string default_kv_events_topic(const std::string& host, int port, const std::string& model);

class KvEventPublisher {
 public:
  // Opens (binds or connects) the sockets; no thread yet. Errors:
  // kInvalidArgument for an endpoint ZMQ refuses, kUnavailable when yun was
  // built without libzmq.
  static Result<std::shared_ptr<KvEventPublisher>> create(const KvEventsOptions& options);
  ~KvEventPublisher();

  // Queues one engine step's events (any thread; never blocks on the network).
  void push(std::vector<KvBlockEvent>&& events);
  // Starts the publisher thread with `topic`; its first batch is
  // AllBlocksCleared. Call once.
  void start(const std::string& topic);
  // Sends what is queued and a final AllBlocksCleared, then closes the
  // sockets, waiting up to 1 s for the last messages to leave. Idempotent.
  void stop();

  uint64_t batches_sent() const;

 private:
  explicit KvEventPublisher(const KvEventsOptions& options) : options_(options) {}
  void loop();
  void send_batch(std::vector<KvBlockEvent>&& events);
  void serve_replay();

  const KvEventsOptions options_;
  void* ctx_ = nullptr;     // zmq context
  void* pub_ = nullptr;     // PUB socket (publisher thread after start)
  void* replay_ = nullptr;  // ROUTER socket or null
  std::string topic_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<KvBlockEvent> pending_;  // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)
  bool started_ = false;               // GUARDED_BY(mu_)
  uint64_t sent_ = 0;                  // GUARDED_BY(mu_)

  // Publisher thread state.
  uint64_t next_seq_ = 0;
  std::deque<std::pair<uint64_t, std::string>> buffer_;
};

}  // namespace yun::serve
