#include "yun/engine/fair_share.h"

#include <algorithm>
#include <cassert>

namespace yun {

void FairShare::count_in(const Sequence& s) {
  assert(s.meta.validate().is_ok());
  Tenant& t = tenants_[s.meta.tenant];
  if (requests_[s.request_id].num_seqs++ == 0) ++t.num_requests;
  ++t.num_seqs;
  t.weight = s.meta.weight;
}

void FairShare::count_out(const Sequence& s) {
  auto r = requests_.find(s.request_id);
  auto t = tenants_.find(s.meta.tenant);
  assert(r != requests_.end() && t != tenants_.end());
  if (--r->second.num_seqs == 0) {
    requests_.erase(r);
    --t->second.num_requests;
  }
  if (--t->second.num_seqs == 0) {
    if (t->second.num_waiting > 0) --num_waiting_tenants_;
    tenants_.erase(t);
  }
}

void FairShare::count_waiting(const Sequence& s, int32_t delta) {
  Tenant& t = tenants_[s.meta.tenant];
  const bool was = t.num_waiting > 0;
  t.num_waiting += delta;
  assert(t.num_waiting >= 0);
  num_waiting_tenants_ += (t.num_waiting > 0) - was;
}

double FairShare::charge(const Sequence& s, const BlockPool& pool) {
  double c = 0;
  for (int32_t b : s.block_table) c += 1.0 / std::max(1, pool.ref_count(b));
  return c;
}

double FairShare::dominant(const Tenant& t) {
  return std::max(t.use.blocks / t.block_share, t.use.running / t.slot_share);
}

void FairShare::begin_step(std::span<Sequence* const> running, const BlockPool& pool,
                           int32_t max_num_seqs) {
  held_.clear();
  hog_ = false;
  multi_ = tenants_.size() >= 2;
  active_ = multi_;
  double total_weight = 0;
  for (auto& [id, t] : tenants_) {
    active_ = active_ || t.num_requests >= 2;
    total_weight += t.weight;
  }
  if (!active_) return;
  for (auto& [id, t] : tenants_) {
    t.use = Holding{};
    // One tenant: weight / total is exactly 1, so the shares are those of
    // per-request fairness, num_blocks / |R| and max_num_seqs / |R|.
    const double part = t.weight / total_weight;
    t.block_share = static_cast<double>(pool.num_blocks()) * part;
    t.slot_share = static_cast<double>(max_num_seqs) * part;
    t.req_block_share = t.block_share / std::max(1, t.num_requests);
    t.req_slot_share = t.slot_share / std::max(1, t.num_requests);
  }
  for (const Sequence* s : running) {
    const double c = charge(*s, pool);
    Holding& h = held_[s->request_id];
    h.tenant = s->meta.tenant;
    h.blocks += c;
    if (h.running++ == 0 || s->arrival < h.oldest) h.oldest = s->arrival;
    if (multi_) {
      Holding& u = tenants_[s->meta.tenant].use;
      u.blocks += c;
      if (u.running++ == 0 || s->arrival < u.oldest) u.oldest = s->arrival;
    }
  }
  for (auto& [id, t] : tenants_) {
    t.rank = multi_ ? dominant(t) : 0;
    if (multi_ && t.use.running >= 2 &&
        (t.use.blocks > t.block_share || t.use.running > t.slot_share)) {
      hog_ = true;
    }
  }
  for (const auto& [id, h] : held_) {
    auto t = tenants_.find(h.tenant);
    if (t == tenants_.end() || t->second.num_requests < 2 || h.running < 2) continue;
    if (h.blocks > t->second.req_block_share || h.running > t->second.req_slot_share) hog_ = true;
  }
}

void FairShare::admitted(const Sequence& s, double charge) {
  if (!active_) return;
  Holding& h = held_[s.request_id];
  h.tenant = s.meta.tenant;
  h.blocks += charge;
  if (h.running++ == 0) h.oldest = s.arrival;
  if (multi_) {
    Holding& u = tenants_[s.meta.tenant].use;
    u.blocks += charge;
    if (u.running++ == 0) u.oldest = s.arrival;
  }
}

void FairShare::preempted(const Sequence& s, double charge) {
  if (!active_) return;
  if (auto h = held_.find(s.request_id); h != held_.end()) {
    h->second.blocks -= charge;
    --h->second.running;
  }
  if (multi_) {
    if (auto t = tenants_.find(s.meta.tenant); t != tenants_.end()) {
      t->second.use.blocks -= charge;
      --t->second.use.running;
    }
  }
}

const FairShare::Tenant* FairShare::tenant_of(const Sequence& s) const {
  auto t = tenants_.find(s.meta.tenant);
  return t == tenants_.end() ? nullptr : &t->second;
}

const FairShare::Holding* FairShare::holding_of(uint64_t request_id) const {
  auto h = held_.find(request_id);
  return h == held_.end() ? nullptr : &h->second;
}

double FairShare::usage(uint64_t tenant) const {
  if (!multi_) return 0;
  auto t = tenants_.find(tenant);
  return t == tenants_.end() ? 0 : dominant(t->second);
}

double FairShare::rank(uint64_t tenant) const {
  auto t = tenants_.find(tenant);
  return t == tenants_.end() ? 0 : t->second.rank;
}

double FairShare::held(uint64_t request_id) const {
  const Holding* h = holding_of(request_id);
  return h ? h->blocks : 0.0;
}

int32_t FairShare::running_of(uint64_t request_id) const {
  const Holding* h = holding_of(request_id);
  return h ? h->running : 0;
}

bool FairShare::tenant_under(const Sequence& s) const {
  if (!multi_) return false;
  const Tenant* t = tenant_of(s);
  return t && t->use.blocks < t->block_share && t->use.running < t->slot_share;
}

bool FairShare::tenant_over(const Sequence& s) const {
  if (!multi_) return false;
  const Tenant* t = tenant_of(s);
  return t && (t->use.blocks > t->block_share || t->use.running > t->slot_share);
}

bool FairShare::request_under(const Sequence& s) const {
  if (!active_) return false;
  const Tenant* t = tenant_of(s);
  if (!t || t->num_requests < 2) return false;
  return held(s.request_id) < t->req_block_share && running_of(s.request_id) < t->req_slot_share;
}

bool FairShare::request_over(const Sequence& s) const {
  if (!active_) return false;
  const Tenant* t = tenant_of(s);
  if (!t || t->num_requests < 2) return false;
  return held(s.request_id) > t->req_block_share || running_of(s.request_id) > t->req_slot_share;
}

bool FairShare::tenant_oldest(const Sequence& s) const {
  if (!multi_) return false;
  const Tenant* t = tenant_of(s);
  return t && t->use.running > 0 && t->use.oldest == s.arrival;
}

bool FairShare::request_oldest(const Sequence& s) const {
  const Holding* h = holding_of(s.request_id);
  return h && h->running > 0 && h->oldest == s.arrival;
}

bool FairShare::tenant_stays_at_share(const Sequence& s, double charge) const {
  const Tenant* t = tenant_of(s);
  if (!t) return false;
  return t->use.blocks - charge >= t->block_share || t->use.running - 1 >= t->slot_share;
}

bool FairShare::tenant_may_grow(const Sequence& s, int32_t blocks) const {
  const Tenant* t = tenant_of(s);
  if (!t || t->use.running == 0) return true;
  return t->use.blocks + blocks <= t->block_share && t->use.running + 1 <= t->slot_share;
}

bool FairShare::request_may_grow(const Sequence& s, int32_t blocks) const {
  const Tenant* t = tenant_of(s);
  const Holding* h = holding_of(s.request_id);
  if (!t || !h || h->running == 0) return true;
  return h->blocks + blocks <= t->req_block_share && h->running + 1 <= t->req_slot_share;
}

}  // namespace yun
