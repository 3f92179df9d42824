#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/<target>/ (run from the repo root).

The seeds are committed; this script documents how they were made and can
rebuild them. Crash reproducers found by scripts/fuzz.sh are added by hand as
fuzz/corpus/<target>/crash-<what>, next to a unit test.
"""
import json
import os
import struct

SEP = b"\n--yun-file--\n"
ROOT = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(header, data=b""):
    h = json.dumps(header, separators=(",", ":")).encode() if isinstance(header, dict) else header
    return struct.pack("<Q", len(h)) + h + data


CONFIG = json.dumps({
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 8,
    "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4,
    "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 64,
    "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2})
GEN = '{"eos_token_id": [2], "temperature": 0.7, "top_p": 0.8, "top_k": 20}'
TOKENIZER = json.dumps({
    "version": "1.0", "added_tokens": [{"id": 7, "content": "<|end|>", "special": True}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "\u0120": 3, "ab": 4, "abc": 5,
                                       "H": 6},
              "merges": ["a b", "ab c"]}})
TOKENIZER_CONFIG = json.dumps({
    "eos_token": "<|end|>",
    "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})
WEIGHTS = safetensors({"__metadata__": {"format": "pt"},
                       "model.embed_tokens.weight": {"dtype": "F32", "shape": [2, 2],
                                                     "data_offsets": [0, 16]}},
                      struct.pack("<4f", 1, 2, 3, 4))


def model_dir(config=CONFIG, gen=GEN, tok=TOKENIZER, tok_cfg=TOKENIZER_CONFIG, weights=WEIGHTS):
    parts = [p if isinstance(p, bytes) else p.encode() for p in (config, gen, tok, tok_cfg)]
    return SEP.join(parts + [weights])


def bombs():
    return {"arrays": "[" * 1000, "objects": '{"a":' * 1000,
            "closed": "[" * 300 + "]" * 300}


# --- model_dir ---
write("model_dir", "valid", model_dir())
write("model_dir", "config_only", CONFIG)
for kind, bomb in bombs().items():
    write("model_dir", "config_bomb_" + kind, model_dir(config=bomb))
    write("model_dir", "gen_bomb_" + kind, model_dir(gen=bomb))
    write("model_dir", "tokenizer_bomb_" + kind,
          model_dir(tok=TOKENIZER[:-1] + ', "extra": ' + bomb + "}"))
    write("model_dir", "tokenizer_config_bomb_" + kind, model_dir(tok_cfg=bomb))
    write("model_dir", "safetensors_metadata_bomb_" + kind,
          model_dir(weights=safetensors(b'{"__metadata__":' + bomb.encode() + b"}")))
write("model_dir", "trailing_nul", model_dir(config=CONFIG + "\0", tok_cfg=TOKENIZER_CONFIG + "\0"))
write("model_dir", "trailing_garbage",
      model_dir(gen=GEN + " x", tok=TOKENIZER + "}", weights=safetensors(b'{} {}')))
write("model_dir", "safetensors_bad_offsets",
      model_dir(weights=safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 99]}})))

# --- http_framing ---
H = "Host: fuzz\r\n"
write("http_framing", "get", "GET /health HTTP/1.1\r\n" + H + "\r\n")
write("http_framing", "post_body",
      "POST /v1/chat/completions HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello")
write("http_framing", "chunked",
      "POST /x HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
write("http_framing", "chunked_bad_size",
      "POST /x HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n")
write("http_framing", "pipelined",
      "GET /a HTTP/1.1\r\n" + H + "\r\n"
      "POST /b HTTP/1.1\r\n" + H + "Content-Length: 3\r\n\r\nabc"
      "GET /stream HTTP/1.1\r\n" + H + "\r\n"
      "GET /c HTTP/1.0\r\n\r\n")
write("http_framing", "stream", "GET /stream HTTP/1.1\r\n" + H + "\r\n")
write("http_framing", "too_large",
      "POST /x HTTP/1.1\r\n" + H + "Content-Length: 99999999999\r\n\r\nabc")
write("http_framing", "short_body",
      "POST /x HTTP/1.1\r\n" + H + "Content-Length: 100\r\n\r\nabc")
write("http_framing", "both_lengths",
      "POST /x HTTP/1.1\r\n" + H + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n")
write("http_framing", "json_bomb_body",
      "POST /v1/chat/completions HTTP/1.1\r\n" + H + "Content-Length: 2000\r\n\r\n" + "[" * 2000)
write("http_framing", "trailing_nul_body",
      "POST /v1/chat/completions HTTP/1.1\r\n" + H + "Content-Length: 3\r\n\r\n{}\0")
write("http_framing", "garbage", b"\x00\xff\r\n\r\nGET\x00 / HTTP/9.9\r\n:\r\n\r\n")
write("http_framing", "no_colon_header", "GET / HTTP/1.1\r\nbad header\r\n\r\n")
write("http_framing", "long_header", "GET / HTTP/1.1\r\nX-Long: " + "a" * 3000 + "\r\n\r\n")
write("http_framing", "bare_lf", "GET / HTTP/1.1\nHost: x\n\n")

# --- request_parse (a body) ---
MSGS = '"messages":[{"role":"user","content":"hi"}]'
write("request_parse", "chat_ok", "{" + MSGS + ',"max_tokens":4,"tools":[{"type":"function",'
      '"function":{"name":"f","parameters":{"type":"object"}}}]}')
write("request_parse", "completion_ok", '{"prompt":[[1,2,3]],"echo":true,"logprobs":2}')
write("request_parse", "bomb_arrays", "[" * 1000)
write("request_parse", "bomb_objects", '{"a":' * 1000)
write("request_parse", "bomb_kwargs", "{" + MSGS + ',"chat_template_kwargs":{"x":' + "[" * 100
      + "]" * 100 + "}}")
write("request_parse", "bomb_arguments",
      '{"messages":[{"role":"assistant","content":null,"tool_calls":[{"type":"function",'
      '"function":{"name":"f","arguments":' + json.dumps("[" * 100 + "]" * 100) + "}}]}]}")
write("request_parse", "trailing_nul", "{" + MSGS + "}\0")
write("request_parse", "trailing_garbage", "{" + MSGS + "} x")

# --- config (config.json NUL generation_config.json) ---
write("config", "valid", CONFIG + "\0" + GEN)
write("config", "bomb", "[" * 1000)
write("config", "gen_bomb", CONFIG + "\0" + '{"a":' * 1000)
write("config", "trailing", CONFIG + " x")

# --- safetensors ---
write("safetensors", "valid", WEIGHTS)
write("safetensors", "metadata_bomb", safetensors(b'{"__metadata__":' + b"[" * 1000))
write("safetensors", "trailing", safetensors(b'{}\0'))
write("safetensors", "short", b"\x05\x00\x00")

# --- chat_template (template text) ---
write("chat_template", "loop", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}")
write("chat_template", "tojson", "{{ tools | tojson(indent=2) }}{{ messages[2].tool_calls | tojson }}")
write("chat_template", "macro_recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
write("chat_template", "deep_parens", "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}")
write("chat_template", "deep_value",
      "{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}"
      "{% endfor %}{{ ns.x | length }}")

# --- tokenizer (text) ---
write("tokenizer", "ascii", "Hello, world!")
write("tokenizer", "special", "<|im_start|>user\nhi<|im_end|>")
write("tokenizer", "unicode", "你好 é ñ \U0001F600")

# --- gguf ---
def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, data=b"", align=32):
    """kvs: [(key, type, packed value)], tensors: [(name, dims, ggml type, offset)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gguf_str(k) + struct.pack("<I", t) + v
    for name, dims, t, off in tensors:
        out += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t, off)
    out += b"\0" * (-len(out) % align)
    return out + data


def u32(v):
    return struct.pack("<I", v)


def strs(items):
    return struct.pack("<IQ", 8, len(items)) + b"".join(gguf_str(s) for s in items)


GGUF_KV = [("general.architecture", 8, gguf_str("qwen2")),
           ("qwen2.block_count", 4, u32(1)), ("qwen2.embedding_length", 4, u32(32)),
           ("qwen2.feed_forward_length", 4, u32(32)), ("qwen2.attention.head_count", 4, u32(2)),
           ("qwen2.attention.head_count_kv", 4, u32(1)), ("qwen2.context_length", 4, u32(64)),
           ("tokenizer.ggml.model", 8, gguf_str("gpt2")), ("tokenizer.ggml.pre", 8, gguf_str("qwen2")),
           ("tokenizer.ggml.tokens", 9, strs(["a", "b", "ab", "<e>"])),
           ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, 4) + struct.pack("<4i", 1, 1, 1, 3)),
           ("tokenizer.ggml.merges", 9, strs(["a b"]))]
write("gguf", "valid", gguf(GGUF_KV, [("token_embd.weight", [32, 4], 8, 0),
                                      ("output_norm.weight", [32], 0, 160)], b"\0" * 288))
write("gguf", "offset_past_end", gguf(GGUF_KV[:1], [("w", [32, 2], 8, 1 << 40)]))
write("gguf", "huge_count", b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 1 << 62))
write("gguf", "nested_arrays", gguf([("k", 9, struct.pack("<IQ", 9, 1) * 3 + struct.pack("<IQ", 4, 0))], []))
