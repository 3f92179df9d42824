// CUDA op test: paged_attention over a ragged batch (decode rows, whole
// prefills, chunked prefills on top of cached prefixes), random block tables,
// GQA groups of 1..10, head_dim 16..256 (odd ones too), split-K 1/3/16,
// against a float64 causal softmax reference. Guard bytes around the output.
#include <numeric>

#include "cuda/cuda_test_util.h"
#include "yun/compute/cuda/attention.cuh"
#include "yun/compute/cuda/prefill_attention.cuh"

namespace yun::cuda_test {
namespace {

using cuda::bf16;

struct Seq {
  int num_tokens, context_len;
};

// splits == 0: the tiled prefill kernel (prefill_attention) instead of paged_attention.
void run_case(int nq, int nkv, int hd, int block_size, int splits, const std::vector<Seq>& seqs, uint64_t seed) {
  Rng rng(seed);
  const int S = int(seqs.size());
  int T = 0, max_blocks = 1, total_blocks = 0;
  for (auto& s : seqs) {
    T += s.num_tokens;
    const int nb = (s.context_len + block_size - 1) / block_size;
    max_blocks = std::max(max_blocks, nb);
    total_blocks += nb;
  }
  const int num_blocks = total_blocks + 3;
  const int kv = nkv * hd, q_stride = nq * hd + 2 * kv;  // q inside a fused QKV row
  const int64_t num_slots = int64_t(num_blocks) * block_size;
  auto kc = rng.bf16_values(size_t(num_slots) * kv, -2, 2);
  auto vc = rng.bf16_values(size_t(num_slots) * kv, -2, 2);
  auto q = rng.bf16_values(size_t(T) * q_stride, -2, 2);
  std::vector<int32_t> perm(num_blocks);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng.engine());
  const int bt_stride = max_blocks + 1;
  std::vector<int32_t> tables(size_t(S) * bt_stride, 0), positions, token_seq;
  int used = 0;
  for (int s = 0; s < S; ++s) {
    const int nb = (seqs[s].context_len + block_size - 1) / block_size;
    for (int b = 0; b < nb; ++b) tables[size_t(s) * bt_stride + b] = perm[used++];
    for (int i = 0; i < seqs[s].num_tokens; ++i) {
      positions.push_back(seqs[s].context_len - seqs[s].num_tokens + i);
      token_seq.push_back(s);
    }
  }
  DeviceArray<uint16_t> d_q(q.size()), d_k(kc.size()), d_v(vc.size()), d_out(size_t(T) * nq * hd);
  DeviceArray<int32_t> d_pos(T), d_seq(T), d_tables(tables.size());
  DeviceArray<float> d_ws(size_t(std::max<int64_t>(1, cuda::attention_workspace_floats(T, nq, hd, std::max(splits, 1)))));
  std::vector<int32_t> tiles;  // (first row, rows) per tile
  for (int s = 0, row = 0; s < S; row += seqs[s].num_tokens, ++s)
    for (int i = 0; i < seqs[s].num_tokens; i += cuda::kPrefillTileRows)
      tiles.push_back(row + i), tiles.push_back(std::min(cuda::kPrefillTileRows, seqs[s].num_tokens - i));
  DeviceArray<int32_t> d_tiles(tiles.size());
  d_tiles.upload(tiles);
  const int64_t num_tiles = int64_t(tiles.size() / 2);
  d_q.upload(to_bf16(q));
  d_k.upload(to_bf16(kc));
  d_v.upload(to_bf16(vc));
  d_pos.upload(positions);
  d_seq.upload(token_seq);
  d_tables.upload(tables);
  d_out.poison();
  cuda::PagedAttentionArgs a;
  a.q = d_q.as<bf16>();
  a.q_stride = q_stride;
  a.k_cache = d_k.as<bf16>();
  a.v_cache = d_v.as<bf16>();
  a.positions = d_pos.get();
  a.token_seq = d_seq.get();
  a.block_tables = d_tables.get();
  a.bt_stride = bt_stride;
  a.block_size = block_size;
  a.T = T;
  a.num_q_heads = nq;
  a.num_kv_heads = nkv;
  a.head_dim = hd;
  a.scale = 1.f / std::sqrt(float(hd));
  a.out = d_out.as<bf16>();
  a.out_stride = nq * hd;
  a.num_splits = std::max(splits, 1);
  a.workspace = d_ws.get();
  auto run = [&] {
    return splits == 0 ? cuda::prefill_attention(a, d_tiles.get(), num_tiles, nullptr)
                       : cuda::paged_attention(a, nullptr);
  };
  ASSERT_STATUS_OK(run());

  std::vector<double> ref(size_t(T) * nq * hd);
  const int group = nq / nkv;
  double flops = 0, bytes = 0;
  for (int t = 0; t < T; ++t) {
    const int s = token_seq[t], n = positions[t] + 1;
    flops += 4.0 * n * hd * nq;
    for (int h = 0; h < nq; ++h) {
      const int kh = h / group;
      std::vector<double> sc(n);
      double mx = -1e300;
      for (int j = 0; j < n; ++j) {
        const int64_t slot = int64_t(tables[size_t(s) * bt_stride + j / block_size]) * block_size + j % block_size;
        double d = 0;
        for (int i = 0; i < hd; ++i) d += double(q[size_t(t) * q_stride + h * hd + i]) * kc[size_t(slot) * kv + kh * hd + i];
        sc[j] = d / std::sqrt(double(hd));
        mx = std::max(mx, sc[j]);
      }
      double sum = 0;
      for (auto& x : sc) sum += (x = std::exp(x - mx));
      for (int j = 0; j < n; ++j) {
        const int64_t slot = int64_t(tables[size_t(s) * bt_stride + j / block_size]) * block_size + j % block_size;
        for (int i = 0; i < hd; ++i) ref[(size_t(t) * nq + h) * hd + i] += sc[j] / sum * vc[size_t(slot) * kv + kh * hd + i];
      }
    }
  }
  for (auto& s : seqs) bytes += double(s.context_len) * kv * 4;  // K and V once per sequence (ideal)
  const std::string name = "attention nq=" + std::to_string(nq) + " nkv=" + std::to_string(nkv) + " hd=" +
                           std::to_string(hd) + " bs=" + std::to_string(block_size) + " splits=" + std::to_string(splits);
  EXPECT_TRUE(close_enough(from_bf16(d_out.download()), ref, 1e-2, name));
  EXPECT_TRUE(d_out.guards_intact()) << name;
  maybe_perf(splits == 0 ? "prefill_attention" : "paged_attention",
             "T" + std::to_string(T) + " " + std::to_string(nq) + "/" + std::to_string(nkv) + "x" + std::to_string(hd) +
                 " s" + std::to_string(splits),
             bytes, flops, run);
}

TEST(CudaOps, PagedAttentionMixedBatch) {
  YUN_SKIP_WITHOUT_GPU();
  // decode rows, a whole prefill, a chunk on top of a cached prefix, a 1-token prompt
  const std::vector<Seq> mixed = {{1, 1}, {1, 37}, {17, 17}, {5, 29}, {1, 300}, {13, 13}};
  struct Shape { int nq, nkv, hd; };
  for (const Shape& sh : std::vector<Shape>{{4, 1, 16}, {8, 8, 64}, {14, 2, 128}, {12, 4, 80},
                                            {20, 2, 128}, {16, 1, 256}, {5, 5, 7}}) {
    for (int bs : {16, 5}) {
      for (int splits : {0, 1, 3}) {
        SCOPED_TRACE("shape " + std::to_string(sh.nq) + "/" + std::to_string(sh.nkv) + "/" + std::to_string(sh.hd));
        run_case(sh.nq, sh.nkv, sh.hd, bs, splits, mixed, uint64_t(sh.nq * 1000 + sh.hd * 10 + bs + splits));
      }
    }
  }
}

TEST(CudaOps, PrefillAttentionLongPrompts) {
  YUN_SKIP_WITHOUT_GPU();
  // Two prompts of an engine-sized chunk (Qwen3-8B heads), one on a cached prefix.
  const std::vector<Seq> seqs = {{600, 600}, {200, 900}};
  for (int splits : {0, 1}) run_case(32, 8, 128, 16, splits, seqs, uint64_t(77 + splits));
}

TEST(CudaOps, PagedAttentionDecodeLongContext) {
  YUN_SKIP_WITHOUT_GPU();
  // Engine-shaped decode batches (Qwen3-8B: 32 q / 8 kv heads, head_dim 128).
  for (int batch : {1, 8, 32}) {
    std::vector<Seq> seqs;
    for (int i = 0; i < batch; ++i) seqs.push_back({1, 1500 + 97 * i});
    for (int splits : {1, 16}) run_case(32, 8, 128, 16, splits, seqs, uint64_t(batch * 7 + splits));
  }
}

}  // namespace
}  // namespace yun::cuda_test
