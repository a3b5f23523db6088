// Internal: the process table a TurnLog or LockTable region carries when it
// has process slots (Config::process_slots > 1): who holds each slot, and
// the protocol by which a survivor reclaims the slot of a dead process.
//
// Slot 0 is the shared slot of handles that did not join: it has no entry
// and is never reaped. Slots 1 .. count - 1 have one 64-byte entry each:
//
//   state     generation << 12 | reaper << 2 | phase (free, live, reaping);
//             the reaper is the slot of the process reaping this one
//   identity  the kept part of the holder's Liveness::identity (0: none)
//
// A slot is claimed through its identity word (a compare-exchange from 0)
// and then made live, so a slot whose phase is free but whose identity is
// set is being joined or left; if that process is dead, anyone may clear
// it, after moving the generation on (a joiner that made the slot live
// meanwhile keeps it). A live slot whose process is dead is claimed for
// reaping by one survivor (live -> reaping, a CAS), cleaned (the structure's
// own `clean(p)`: undo or finish each half-done step, clear each pin, as its
// recovery does after a restart), and freed. A reaper that dies while
// reaping is reaped in its turn, and whoever reaps it adopts the slots it
// was reaping first, so no slot is ever left reaping by a freed slot. A
// joiner that finds no free slot takes over a dead process's slot: its
// identity word first (one taker), then the generation, and it cleans the
// slot as its new holder (it holds nothing yet). Nothing is ever taken from
// a process that `alive` says lives, however long it stalls.
#pragma once

#include <cstdint>

#include "detail/word.h"
#include "weft/atomic.h"
#include "weft/process.h"

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace detail {

/// Most process slots a table can have (a reader pin of the TurnLog keeps a
/// slot in 10 bits, and so does a reaper field).
inline constexpr std::uint32_t process_slots_max = 1024;

enum ProcessPhase : W { proc_free = 0, proc_live = 2, proc_reaping = 3 };
constexpr W proc_word(std::uint64_t generation, std::uint64_t reaper, std::uint64_t phase) {
  return static_cast<W>(generation << 12 | reaper << 2 | phase);
}
constexpr std::uint64_t proc_phase(std::uint64_t w) { return w & 3; }
constexpr std::uint64_t proc_reaper(std::uint64_t w) { return (w >> 2) & 0x3FF; }
constexpr std::uint64_t proc_generation(std::uint64_t w) { return w >> 12; }
// Generations wrap (20 bits with 32-bit words). They tell one holder of a
// slot from the next for the CASes that claim a slot for reaping, end a
// reap or clear a dead joiner's identity: with 32-bit words a reaper that
// stalls between judging a process dead and its claim while the slot is
// joined and left 2^20 times could claim a live holder's slot
// (docs/EMBEDDED.md).
constexpr std::uint64_t proc_next_generation(std::uint64_t w) {
  return (proc_generation(w) + 1) & (word_max >> 12);
}

/// The part of a Liveness identity a slot keeps: all of it, or its low 32
/// bits with 32-bit words (posix_liveness: the pid; a dead process whose pid
/// is reused then looks alive: its slot waits, never wrongly reaped).
constexpr W kept_identity(std::uint64_t identity) { return static_cast<W>(identity); }

/// Marks `word` with process slot `self` (as self + 1; 0: unmarked) before a
/// transition that needs attributing; false, with the marking slot in
/// `holder`, when another handle has marked it.
inline bool mark_word(weft::atomic<W>& word, std::uint64_t self, std::uint64_t& holder) {
  W none = 0;
  if (word.compare_exchange_strong(none, static_cast<W>(self + 1), std::memory_order_seq_cst)) return true;
  holder = none - 1;
  return false;
}

/// One entry of the table.
struct alignas(64) ProcessSlot {
  weft::atomic<W> state;     // proc_word(generation, reaper, phase)
  weft::atomic<W> identity;  // kept_identity() of the holder's Liveness::identity (0: none)
};

/// How often one call (one operation, with its bounded waits) asks a
/// Liveness probe: at its first wait on a holder, then, while probes find
/// nobody dead, at waits 2, 4, 8, ... (a probe is a system call or more,
/// so a live holder is asked O(log waits) times), and at the very next wait
/// after a probe that reaped someone (another may have died meanwhile). A
/// holder that dies after a probe found it alive (a reaper killed
/// mid-reap, whose adoptee waits with it) is therefore still reaped
/// within the call's bound, however long the bound.
struct ReapPacing {
  std::uint32_t waits = 0;  // reap_for / reap_again calls so far
  std::uint32_t next = 1;   // the call that probes next
  bool due() { return ++waits >= next; }
  void probed(bool reaped_someone) { next = reaped_someone ? waits + 1 : waits * 2; }
};

/// The table of a region, seen by one handle: `self` is the handle's slot
/// (0 before it joined), `liveness` how it judges others (null: it never
/// reaps). Bounds: every loop runs over the `count` slots at most `count`
/// times.
class ProcessTable {
 public:
  ProcessTable(ProcessSlot* entries, std::uint64_t count, std::uint64_t self, const Liveness* liveness)
      : entries_(entries), count_(count), self_(self), liveness_(liveness) {}

  /// Slots, counting the shared slot 0.
  [[nodiscard]] std::uint64_t count() const { return count_; }
  /// True when `p` names a joined slot of this table (a damaged word may not).
  [[nodiscard]] bool joined_slot(std::uint64_t p) const { return p != 0 && p < count_; }
  ProcessSlot& at(std::uint64_t p) { return entries_[p - 1]; }

  /// Takes a slot for `liveness` (not yet any handle's). Returns it, or 0
  /// when every slot is held by a live process. A slot taken over from a
  /// dead process is cleaned with `clean(p)` first, and so is every slot the
  /// dead process was reaping.
  template <class Clean>
  std::uint64_t join(const Liveness& liveness, Clean&& clean) {
    const W mine = kept_identity(liveness.identity);
    const auto dead = [&](W identity) { return identity != 0 && !liveness.alive(liveness.context, identity); };
    for (std::uint64_t p = 1; p < count_; p++) {  // a free slot
      ProcessSlot& ps = at(p);
      W s = ps.state.load(std::memory_order_acquire);
      if (proc_phase(s) != proc_free) continue;
      W held = ps.identity.load(std::memory_order_acquire);
      if (held != 0 && dead(held)) {  // a joiner or leaver died there
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_JOIN_CLEARS_A_LIVE_SLOT)
        if (false)  // MUTANT: the slot may have gone live since `s` was read
#endif
        if (!ps.state.compare_exchange_strong(s, proc_word(proc_next_generation(s), 0, proc_free),
                                              std::memory_order_acq_rel)) {
          continue;
        }
        WEFT_RACE_POINT("process.join.clearing");
        s = proc_word(proc_next_generation(s), 0, proc_free);
        ps.identity.compare_exchange_strong(held, 0, std::memory_order_acq_rel);
      }
      W none = 0;
      if (!ps.identity.compare_exchange_strong(none, mine, std::memory_order_acq_rel)) continue;
      WEFT_RACE_POINT("process.join.claimed");
      if (!ps.state.compare_exchange_strong(s, proc_word(proc_generation(s), 0, proc_live),
                                            std::memory_order_acq_rel)) {
        W back = mine;
        ps.identity.compare_exchange_strong(back, 0, std::memory_order_acq_rel);
        continue;
      }
      return p;
    }
    for (std::uint64_t p = 1; p < count_; p++) {  // none: a dead process's slot
      ProcessSlot& ps = at(p);
      W s = ps.state.load(std::memory_order_acquire);
      if (proc_phase(s) != proc_live) continue;
      W held = ps.identity.load(std::memory_order_acquire);
      if (ps.state.load(std::memory_order_acquire) != s || !dead(held)) continue;
      if (!ps.identity.compare_exchange_strong(held, mine, std::memory_order_acq_rel)) continue;
      WEFT_RACE_POINT("process.join.taking_over");
      if (!ps.state.compare_exchange_strong(s, proc_word(proc_next_generation(s), 0, proc_live),
                                            std::memory_order_acq_rel)) {
        W back = mine;  // a reaper claimed it first: it frees the slot; give the identity word back
        ps.identity.compare_exchange_strong(back, 0, std::memory_order_acq_rel);
        continue;
      }
      ProcessTable own(entries_, count_, p, &liveness);
      clean(p);
      own.reap_adopted(clean);  // slots the dead process was reaping are this slot's now
      return p;
    }
    return 0;
  }

  /// Gives back slot `p` held with `identity`: its holder holds nothing any
  /// more. A slot that is no longer `identity`'s (reaped) is left alone.
  void leave(std::uint64_t p, std::uint64_t identity) {
    ProcessSlot& ps = at(p);
    W s = ps.state.load(std::memory_order_acquire);
    W mine = kept_identity(identity);
    if (proc_phase(s) != proc_live || ps.identity.load(std::memory_order_acquire) != mine) return;
    ps.state.compare_exchange_strong(s, proc_word(proc_next_generation(s), 0, proc_free), std::memory_order_acq_rel);
    WEFT_RACE_POINT("process.leave.freed");
    ps.identity.compare_exchange_strong(mine, 0, std::memory_order_acq_rel);  // killed before: the next joiner clears it
  }

  /// What a caller that waits on something `holder` holds does: reaps when
  /// `holder` is another joined slot, and tells whether a dead process was
  /// reaped (look again). `pacing` spaces one call's probes (ReapPacing).
  template <class Clean>
  bool reap_for(std::uint64_t holder, ReapPacing& pacing, Clean&& clean) {
    if (!joined_slot(holder) || holder == self_) return false;
    return reap_again(pacing, clean);
  }
  /// The same without a known holder (a table found full).
  template <class Clean>
  bool reap_again(ReapPacing& pacing, Clean&& clean) {
    if (liveness_ == nullptr || !pacing.due()) return false;
    const bool any = reap_dead(clean) != 0;
    pacing.probed(any);
    return any;
  }

  /// Reaps every joined slot whose process is dead, cleaning each with
  /// `clean(p)`; returns how many.
  template <class Clean>
  std::uint64_t reap_dead(Clean&& clean) {
#if defined(WEFT_SEAM_SIM) && defined(WEFT_MUTANT_DEAD_HOLDERS_NEVER_REAPED)
    (void)clean;
    return 0;  // MUTANT: what a dead process holds stays held
#endif
    if (liveness_ == nullptr || self_ == 0) return 0;
    for (std::uint64_t p = 1; p < count_; p++) {
      if (p != self_) (void)claim_dead(p);
    }
    return reap_adopted(clean);
  }

  /// Cleans and frees every slot being reaped by this handle; returns how many.
  template <class Clean>
  std::uint64_t reap_adopted(Clean&& clean) {
    std::uint64_t reaped = 0;
    for (std::uint64_t pass = 0; pass < count_; pass++) {
      bool any = false;
      for (std::uint64_t p = 1; p < count_; p++) {
        W s = at(p).state.load(std::memory_order_acquire);
        if (p == self_ || proc_phase(s) != proc_reaping || proc_reaper(s) != self_) continue;
        WEFT_RACE_POINT("process.reap.clean");
        clean(p);
        release_reaped(p, s);
        reaped++;
        any = true;
      }
      if (!any) break;
    }
    return reaped;
  }

  /// Frees every slot (recovery, when every process is gone).
  void clear() {
    for (std::uint64_t p = 1; p < count_; p++) {
      at(p).identity.store(0, std::memory_order_release);
      at(p).state.store(proc_word(0, 0, proc_free), std::memory_order_release);
    }
  }

 private:
  // Claims slot `p` for this handle to reap (reaping, reaper = self) when its
  // process is dead, or when it is being reaped by a reaper that is no
  // longer live (a reaper that died is reaped too).
  bool claim_dead(std::uint64_t p) {
    ProcessSlot& ps = at(p);
    W s = ps.state.load(std::memory_order_acquire);
    if (proc_phase(s) == proc_live) {
      const std::uint64_t identity = ps.identity.load(std::memory_order_acquire);
      if (ps.state.load(std::memory_order_acquire) != s || identity == 0) return false;  // changed hands meanwhile
      if (liveness_->alive(liveness_->context, identity)) return false;
      WEFT_RACE_POINT("process.reap.judged");
      return ps.state.compare_exchange_strong(s, proc_word(proc_generation(s), self_, proc_reaping),
                                              std::memory_order_acq_rel);
    }
    if (proc_phase(s) != proc_reaping) return false;
    const std::uint64_t r = proc_reaper(s);
    if (r == self_) return true;  // ours already (adopted)
    if (joined_slot(r)) {
      ProcessSlot& rs = at(r);
      const W reaper_state = rs.state.load(std::memory_order_acquire);
      if (proc_phase(reaper_state) == proc_live) {
        const std::uint64_t identity = rs.identity.load(std::memory_order_acquire);
        if (rs.state.load(std::memory_order_acquire) != reaper_state || identity == 0 ||
            liveness_->alive(liveness_->context, identity)) {
          return false;
        }
      }
    }
    return ps.state.compare_exchange_strong(s, proc_word(proc_generation(s), self_, proc_reaping),
                                            std::memory_order_acq_rel);
  }

  // Frees reaped slot `p` (state `s`, reaping by this handle). Slots that
  // `p` was itself reaping when it died become this handle's first.
  void release_reaped(std::uint64_t p, W s) {
    for (std::uint64_t q = 1; q < count_; q++) {
      W qs = at(q).state.load(std::memory_order_acquire);
      if (proc_phase(qs) == proc_reaping && proc_reaper(qs) == p) {
        at(q).state.compare_exchange_strong(qs, proc_word(proc_generation(qs), self_, proc_reaping),
                                            std::memory_order_acq_rel);
      }
    }
    // The identity is cleared while this handle still owns the slot (a
    // joiner waits for `free`, a taker for `live`): cleared after the slot
    // was freed, it could be a new holder's. It may be a taker's that lost
    // the slot to this reap: the taker gives it back with a CAS, which then
    // finds 0 and changes nothing.
    W identity = at(p).identity.load(std::memory_order_acquire);
    at(p).identity.compare_exchange_strong(identity, 0, std::memory_order_acq_rel);
    WEFT_RACE_POINT("process.reap.cleared");
    at(p).state.compare_exchange_strong(s, proc_word(proc_next_generation(s), 0, proc_free), std::memory_order_acq_rel);
  }

  ProcessSlot* entries_;
  std::uint64_t count_;
  std::uint64_t self_;
  const Liveness* liveness_;
};

}  // namespace detail
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
