#!/usr/bin/env python3
"""A KV-cache event subscriber written from the format description alone
(docs/model-server-contract.md, i.e. vLLM's vllm/distributed/kv_events.py),
with Debian's python3-zmq and python3-msgpack: nothing of yun's encoder.

It connects a SUB socket to --endpoint (topic prefix --topic), asks the
replay ROUTER (--replay) for everything from sequence 0 (so it misses
nothing published before it joined), then follows the live stream, and
replays every batch into a model of the engine's prefix cache, checking:
  - frames are [topic, 8-byte big-endian seq, payload]; seqs are 0, 1, 2, ...
    with no gap or repeat (replayed and live copies merged by seq);
  - the payload is [ts (float), [events], data_parallel_rank (0)], the first
    batch is AllBlocksCleared;
  - events are vLLM's tagged arrays (or, with --encoding map, tagged maps);
  - BlockStored: len(token_ids) == block_size * len(block_hashes), one
    extra_keys entry per block, no hash stored while already stored, the
    parent stored earlier (parents before children);
  - BlockRemoved: only hashes currently stored.
Commands on stdin (one JSON reply line on stdout each):
  snapshot            -> the check results and the model's size
  predict [ids...]    -> how many prompt tokens the cache would serve now
                         (the longest chain of stored blocks matching the
                         prompt, never its last token), as the engine matches
  stop                -> final results (including whether the stream ended
                         with AllBlocksCleared), then exit
"""
import argparse
import json
import sys
import threading
import time

import msgpack
import zmq


class CacheModel:
    def __init__(self, block_size, encoding):
        self.block_size = block_size
        self.encoding = encoding
        self.blocks = {}  # hash -> (parent or None, tokens tuple, salt or None)
        self.ever = set()
        self.errors = []
        self.batches = 0
        self.next_seq = 0
        self.stored_events = 0
        self.removed_events = 0
        self.stored_blocks = 0
        self.removed_blocks = 0
        self.orphans = 0  # children whose parent was already evicted when stored
        self.cleared = 0
        self.last_was_cleared = False
        self.salted_first_blocks = 0

    def error(self, msg):
        if len(self.errors) < 50:
            self.errors.append(msg)

    def event_fields(self, ev):
        """(tag, dict of fields) from an array- or map-encoded event."""
        if self.encoding == 'map':
            if not isinstance(ev, dict) or 'type' not in ev:
                self.error(f'event is not a tagged map: {ev!r}')
                return None, {}
            return ev['type'], ev
        if not isinstance(ev, list) or not ev or not isinstance(ev[0], str):
            self.error(f'event is not a tagged array: {ev!r}')
            return None, {}
        tag = ev[0]
        names = {
            'BlockStored': ['block_hashes', 'parent_block_hash', 'token_ids', 'block_size',
                            'lora_id', 'medium', 'lora_name', 'extra_keys'],
            'BlockRemoved': ['block_hashes', 'medium'],
            'AllBlocksCleared': [],
        }.get(tag)
        if names is None:
            self.error(f'unknown event tag {tag!r}')
            return None, {}
        if len(ev) - 1 < min(len(names), 5 if tag == 'BlockStored' else len(names)):
            self.error(f'{tag} has {len(ev) - 1} fields')
        return tag, dict(zip(names, ev[1:]))

    def apply(self, seq, payload):
        if seq != self.next_seq:
            self.error(f'sequence {seq} after {self.next_seq - 1}')
        self.next_seq = seq + 1
        batch = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        if not isinstance(batch, list) or len(batch) not in (2, 3):
            self.error(f'batch is not [ts, events(, dp_rank)]: {batch!r}')
            return
        ts, events = batch[0], batch[1]
        if not isinstance(ts, float) or ts < 1.6e9:
            self.error(f'bad timestamp {ts!r}')
        if len(batch) == 3 and batch[2] != 0:
            self.error(f'data_parallel_rank {batch[2]!r}')
        if self.batches == 0 and not (len(events) == 1 and self.event_fields(events[0])[0] == 'AllBlocksCleared'):
            self.error('the first batch is not AllBlocksCleared')
        self.batches += 1
        for ev in events:
            tag, f = self.event_fields(ev)
            self.last_was_cleared = tag == 'AllBlocksCleared'
            if tag == 'BlockStored':
                self.stored(f)
            elif tag == 'BlockRemoved':
                self.removed_events += 1
                if f.get('medium') != 'GPU':
                    self.error(f'BlockRemoved medium {f.get("medium")!r}')
                for h in f['block_hashes']:
                    if h not in self.blocks:
                        self.error(f'removed {h} which is not stored')
                    self.blocks.pop(h, None)
                    self.removed_blocks += 1
            elif tag == 'AllBlocksCleared':
                self.cleared += 1
                self.blocks.clear()

    def stored(self, f):
        self.stored_events += 1
        hashes, parent, tokens = f['block_hashes'], f['parent_block_hash'], f['token_ids']
        bs = f['block_size']
        if bs != self.block_size:
            self.error(f'block_size {bs} != {self.block_size}')
        if f.get('lora_id') is not None or f.get('lora_name') is not None:
            self.error('lora fields are not null')
        if f.get('medium') != 'GPU':
            self.error(f'BlockStored medium {f.get("medium")!r}')
        if len(tokens) != bs * len(hashes):
            self.error(f'{len(tokens)} token ids for {len(hashes)} blocks of {bs}')
        extra = f.get('extra_keys')
        if not isinstance(extra, list) or len(extra) != len(hashes):
            self.error(f'extra_keys {extra!r} for {len(hashes)} blocks')
            extra = [None] * len(hashes)
        if parent is not None:
            if parent not in self.ever:
                self.error(f'parent {parent} of {hashes[0]} was never stored')
            elif parent not in self.blocks:
                self.orphans += 1
        prev = parent
        for i, h in enumerate(hashes):
            if h in self.blocks:
                self.error(f'{h} stored twice')
            salt = None
            if extra[i] is not None:
                if prev is not None or not isinstance(extra[i], list) or len(extra[i]) != 1:
                    self.error(f'extra key {extra[i]!r} on a block with a parent')
                else:
                    salt = extra[i][0]
                    self.salted_first_blocks += 1
            self.blocks[h] = (prev, tuple(tokens[i * bs:(i + 1) * bs]), salt)
            self.ever.add(h)
            self.stored_blocks += 1
            prev = h

    def predict(self, ids, salt=None):
        bs = self.block_size
        by_key = {(p, t, s if p is None else None): h for h, (p, t, s) in self.blocks.items()}
        parent, n = None, 0
        for i in range((len(ids) - 1) // bs):
            key = (parent, tuple(ids[i * bs:(i + 1) * bs]), salt if parent is None else None)
            h = by_key.get(key)
            if h is None:
                break
            parent, n = h, n + 1
        return n * bs

    def report(self):
        return {
            'ok': not self.errors, 'errors': self.errors, 'batches': self.batches,
            'next_seq': self.next_seq, 'cached_blocks': len(self.blocks),
            'stored_events': self.stored_events, 'removed_events': self.removed_events,
            'stored_blocks': self.stored_blocks, 'removed_blocks': self.removed_blocks,
            'orphans': self.orphans, 'cleared': self.cleared,
            'ended_cleared': self.last_was_cleared, 'salted_first_blocks': self.salted_first_blocks,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--endpoint', required=True)
    ap.add_argument('--replay', required=True)
    ap.add_argument('--topic', default='kv@')
    ap.add_argument('--block-size', type=int, default=16)
    ap.add_argument('--encoding', default='array', choices=['array', 'map'])
    args = ap.parse_args()

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, args.topic.encode())
    sub.connect(args.endpoint)
    model = CacheModel(args.block_size, args.encoding)
    lock = threading.Lock()
    pending = {}  # seq -> payload, not yet applied
    topics = set()

    def take(seq, payload):
        if seq >= model.next_seq and seq not in pending:
            pending[seq] = payload
        while model.next_seq in pending:
            model.apply(model.next_seq, pending.pop(model.next_seq))

    # Give the subscription a moment, then fetch everything already sent.
    time.sleep(0.3)
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(args.replay)
    dealer.send_multipart([b'', (0).to_bytes(8, 'big')])
    replayed = []
    while True:
        if not dealer.poll(5000):
            model.error('replay did not answer')
            break
        frames = dealer.recv_multipart()
        if len(frames) != 3 or frames[0] != b'':
            model.error(f'replay reply has {len(frames)} frames')
            break
        seq = int.from_bytes(frames[1], 'big', signed=True)
        if seq == -1:
            break
        replayed.append((seq, frames[2]))
    with lock:
        for seq, payload in replayed:
            take(seq, payload)
    print(json.dumps({'ready': True, 'replayed': len(replayed)}), flush=True)

    stop = threading.Event()

    def pump():
        while not stop.is_set():
            if not sub.poll(50):
                continue
            frames = sub.recv_multipart()
            with lock:
                if len(frames) != 3 or len(frames[1]) != 8:
                    model.error(f'message has {len(frames)} frames')
                    continue
                topics.add(frames[0].decode())
                take(int.from_bytes(frames[1], 'big'), frames[2])

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    for line in sys.stdin:
        cmd, _, rest = line.strip().partition(' ')
        time.sleep(0.5)  # let the publisher's last batches arrive
        with lock:
            if pending:
                model.error(f'gap: waiting for seq {model.next_seq}, have {sorted(pending)[:3]}')
            out = model.report()
            out['topics'] = sorted(topics)
            if cmd == 'predict':
                req = json.loads(rest)
                out['cached_tokens'] = model.predict(req['ids'], req.get('salt'))
        print(json.dumps(out), flush=True)
        if cmd == 'stop':
            break
    stop.set()
    t.join()
    return 0


if __name__ == '__main__':
    sys.exit(main())
