// MsgpackWriter against hand-written MessagePack bytes (the spec's shortest
// forms, as Python's msgspec writes them), and one KV-event batch in both of
// vLLM's encodings byte for byte (kv_events.h).
// Run: build/tests/yun_serve_tests --gtest_filter='Msgpack*:KvEvents*'
#include "yun/serve/msgpack.h"

#include <gtest/gtest.h>

#include "yun/serve/kv_events.h"

namespace yun::serve {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(MsgpackTest, Integers) {
  MsgpackWriter w;
  w.uint(0);
  w.uint(127);
  w.uint(128);
  w.uint(255);
  w.uint(256);
  w.uint(65535);
  w.uint(65536);
  w.uint(0xffffffffULL);
  w.uint(0x100000000ULL);
  w.uint(0xffffffffffffffffULL);
  EXPECT_EQ(w.bytes(), bytes({0x00, 0x7f, 0xcc, 0x80, 0xcc, 0xff, 0xcd, 0x01, 0x00, 0xcd,
                              0xff, 0xff, 0xce, 0x00, 0x01, 0x00, 0x00, 0xce, 0xff, 0xff,
                              0xff, 0xff, 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                              0x00, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  MsgpackWriter n;
  n.sint(5);
  n.sint(-1);
  n.sint(-32);
  n.sint(-33);
  n.sint(-128);
  n.sint(-129);
  n.sint(-32768);
  n.sint(-32769);
  n.sint(INT64_MIN);
  EXPECT_EQ(n.bytes(), bytes({0x05, 0xff, 0xe0, 0xd0, 0xdf, 0xd0, 0x80, 0xd1, 0xff,
                              0x7f, 0xd1, 0x80, 0x00, 0xd2, 0xff, 0xff, 0x7f, 0xff,
                              0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
}

TEST(MsgpackTest, FloatsStringsContainersNil) {
  MsgpackWriter w;
  w.f64(1.5);
  w.str("");
  w.str("abc");
  w.str(std::string(32, 'x'));
  w.array(0);
  w.array(15);
  w.array(16);
  w.map(1);
  w.map(16);
  w.nil();
  w.boolean(true);
  w.boolean(false);
  std::string want =
      bytes({0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa0, 0xa3, 'a', 'b', 'c', 0xd9, 32});
  want += std::string(32, 'x');
  want += bytes({0x90, 0x9f, 0xdc, 0x00, 0x10, 0x81, 0xde, 0x00, 0x10, 0xc0, 0xc3, 0xc2});
  EXPECT_EQ(w.bytes(), want);
  MsgpackWriter big;
  big.str(std::string(256, 'y'));
  EXPECT_EQ(big.bytes().substr(0, 3), bytes({0xda, 0x01, 0x00}));
  big = MsgpackWriter();
  big.array(70000);
  EXPECT_EQ(big.bytes(), bytes({0xdd, 0x00, 0x01, 0x11, 0x70}));
}

std::vector<KvBlockEvent> sample_events() {
  std::vector<KvBlockEvent> ev(3);
  ev[0].kind = KvBlockEvent::Kind::kStored;
  ev[0].hash = 1;
  ev[0].cache_salt = 0x10;  // first of its chain, salted
  ev[0].tokens = {1, 2};
  ev[1].kind = KvBlockEvent::Kind::kStored;
  ev[1].hash = 2;
  ev[1].parent = 1;  // same chain: joins the run
  ev[1].tokens = {3, 4};
  ev[2].kind = KvBlockEvent::Kind::kRemoved;
  ev[2].hash = 0xffffffffffffffffULL;
  return ev;
}

std::string str(const std::string& s) { return static_cast<char>(0xa0 | s.size()) + s; }

TEST(KvEventsTest, ArrayEncodingByteForByte) {
  std::string got = encode_kv_event_batch(1.5, sample_events(), 2, KvEventsEncoding::kArray);
  std::string want = bytes({0x93, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x92, 0x99});
  want += str("BlockStored");
  want += bytes({0x92, 0x01, 0x02, 0xc0, 0x94, 0x01, 0x02, 0x03, 0x04, 0x02, 0xc0});
  want += str("GPU");
  want += bytes({0xc0, 0x92, 0x91});
  want += str("0000000000000010");
  want += bytes({0xc0, 0x93});
  want += str("BlockRemoved");
  want += bytes({0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  want += str("GPU");
  want += bytes({0x00});
  EXPECT_EQ(got, want);
}

TEST(KvEventsTest, MapEncodingByteForByte) {
  std::vector<KvBlockEvent> ev(2);
  ev[0].kind = KvBlockEvent::Kind::kStored;
  ev[0].hash = 5;
  ev[0].parent = 4;  // a parent: extra key nil
  ev[0].tokens = {9};
  ev[1].kind = KvBlockEvent::Kind::kAllCleared;
  std::string got = encode_kv_event_batch(1.5, ev, 1, KvEventsEncoding::kMap);
  std::string want = bytes({0x93, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x92, 0x8b});
  want += str("type") + str("BlockStored");
  want += str("block_hashes") + bytes({0x91, 0x05});
  want += str("parent_block_hash") + bytes({0x04});
  want += str("token_ids") + bytes({0x91, 0x09});
  want += str("block_size") + bytes({0x01});
  want += str("lora_id") + bytes({0xc0});
  want += str("medium") + str("GPU");
  want += str("lora_name") + bytes({0xc0});
  want += str("extra_keys") + bytes({0x91, 0xc0});
  want += str("group_idx") + bytes({0x00});
  want += str("kv_cache_spec_kind") + str("full_attention");
  want += bytes({0x81}) + str("type") + str("AllBlocksCleared");
  want += bytes({0x00});
  EXPECT_EQ(got, want);
}

TEST(KvEventsTest, RunsSplitAcrossChainsAndKinds) {
  std::vector<KvBlockEvent> ev(3);
  for (auto& e : ev) e.kind = KvBlockEvent::Kind::kStored;
  ev[0].hash = 1;
  ev[1].hash = 2;
  ev[1].parent = 7;  // not ev[0]: a new event
  ev[2].hash = 3;
  ev[2].parent = 2;  // joins ev[1]
  std::string got = encode_kv_event_batch(0, ev, 1, KvEventsEncoding::kArray);
  // [ts, [stored(1), stored(2, 3)], 0]: the events array has two entries.
  EXPECT_EQ(static_cast<unsigned char>(got[10]), 0x92);
}

TEST(KvEventsTest, DefaultTopic) {
  EXPECT_EQ(default_kv_events_topic("10.0.0.5", 8000, "qwen"), "kv@10.0.0.5:8000@qwen");
  std::string t = default_kv_events_topic("0.0.0.0", 1, "m");
  EXPECT_EQ(t.rfind("kv@", 0), 0u);
  EXPECT_EQ(t.find("0.0.0.0"), std::string::npos);
}

}  // namespace
}  // namespace yun::serve
