// FairShare: the terms of the scheduler's fairness rules (scheduler.h states
// the rules; this computes their terms): which tenants and requests are in
// the scheduler, each one's share of the KV pool and of the batch, what each
// holds this step, and the predicates the rules are written in.
//
// Two levels. Tenant: with >= 2 tenants present, tenant t's share is
// W_t / sum(W) of the pool's blocks and of max_num_seqs. Request: within a
// tenant with >= 2 requests present, each request's share is the tenant's
// share / its requests. With one tenant the tenant level is off and the
// request level is the scheduler's per-request fairness of before (shares
// num_blocks / |R| and max_num_seqs / |R|, computed the same way).
//
// Membership (count_in/count_out, count_waiting) persists across steps; the
// holdings are recomputed by begin_step() from the running set and kept
// current through admitted()/preempted() during the step.
//
// Thread: owned by the scheduler (engine thread).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

#include "yun/engine/block_pool.h"
#include "yun/engine/sequence.h"

namespace yun {

class FairShare {
 public:
  // A sequence enters / leaves the scheduler (running or waiting).
  void count_in(const Sequence& s);
  void count_out(const Sequence& s);
  // s joined (+1) or left (-1) the waiting queue.
  void count_waiting(const Sequence& s, int32_t delta);

  // This step's view from the running set.
  void begin_step(std::span<Sequence* const> running, const BlockPool& pool,
                  int32_t max_num_seqs);
  // s was admitted / preempted during the step; charge = charge(s) (taken
  // before its blocks are freed).
  void admitted(const Sequence& s, double charge);
  void preempted(const Sequence& s, double charge);
  // s's part of held(): a block shared by k sequences counts 1/k.
  static double charge(const Sequence& s, const BlockPool& pool);

  // Some level is on (>= 2 tenants, or a tenant with >= 2 requests); when
  // off, every predicate below is false.
  bool active() const { return active_; }
  bool multi_tenant() const { return multi_; }
  int32_t num_tenants() const { return static_cast<int32_t>(tenants_.size()); }
  // Tenants with at least one waiting sequence.
  int32_t num_waiting_tenants() const { return num_waiting_tenants_; }

  // The tenant's dominant share: max(held / block share, running / slot
  // share), live; 0 for a tenant not present or with one tenant present.
  double usage(uint64_t tenant) const;
  // usage() as of begin_step() (rule 1's order).
  double rank(uint64_t tenant) const;

  bool tenant_under(const Sequence& s) const;  // tenant below both its shares
  bool tenant_over(const Sequence& s) const;   // tenant above either share
  bool request_under(const Sequence& s) const;  // request, within its tenant
  bool request_over(const Sequence& s) const;
  bool under(const Sequence& s) const { return tenant_under(s) || request_under(s); }
  // The oldest running sequence of its tenant (>= 2 tenants) / its request.
  bool tenant_oldest(const Sequence& s) const;
  bool request_oldest(const Sequence& s) const;
  // Rule 2: an extra sequence of an over-share tenant or request.
  bool restricted(const Sequence& s) const {
    return (tenant_over(s) && !tenant_oldest(s)) || (request_over(s) && !request_oldest(s));
  }
  // Admitting s with `blocks` more blocks keeps its tenant / request within
  // its share, or that one runs nothing yet (rule 4's condition).
  bool tenant_may_grow(const Sequence& s, int32_t blocks) const;
  bool request_may_grow(const Sequence& s, int32_t blocks) const;
  // s's tenant is not under its share once s (charge = charge(s)) is gone:
  // rule 4 takes from a tenant only so far, so the victim's tenant never
  // turns under and takes back from a third (no cascade).
  bool tenant_stays_at_share(const Sequence& s, double charge) const;
  // Some tenant or request over its share runs >= 2 sequences.
  bool hog() const { return hog_; }

  double held(uint64_t request_id) const;  // this step
  int32_t running_of(uint64_t request_id) const;

 private:
  struct Holding {
    double blocks = 0;     // held()
    int32_t running = 0;   // running sequences
    uint64_t oldest = 0;   // arrival of the oldest running one
    uint64_t tenant = 0;   // (requests) the request's tenant
  };
  struct Tenant {
    int32_t num_seqs = 0, num_requests = 0, num_waiting = 0;
    double weight = 1.0;  // the weight its latest sequence came with
    // This step.
    Holding use;
    double block_share = 0, slot_share = 0;          // the tenant's
    double req_block_share = 0, req_slot_share = 0;  // each of its requests'
    double rank = 0;
  };
  struct Request {
    int32_t num_seqs = 0;
  };
  const Tenant* tenant_of(const Sequence& s) const;
  const Holding* holding_of(uint64_t request_id) const;
  static double dominant(const Tenant& t);

  std::unordered_map<uint64_t, Tenant> tenants_;
  std::unordered_map<uint64_t, Request> requests_;
  int32_t num_waiting_tenants_ = 0;
  // This step.
  std::unordered_map<uint64_t, Holding> held_;  // per request
  bool active_ = false, multi_ = false, hog_ = false;
};

}  // namespace yun
