// weft/process.h: how a process that shares a region with others says who it
// is, and how it asks whether another one is still alive.
//
// A TurnLog or LockTable region may be mapped by several processes
// (weft/mapping.h). A process killed while it held something no one may take
// from a live holder (a pin, a claim, a transition of a slot) would hold it
// for ever. With process slots in the region (Config::process_slots > 1)
// each process join()s with a Liveness: what it holds is then marked with
// its slot, and a survivor that waits too long on a dead process's slot
// reclaims it (docs/DURABILITY.md, "Liveness across processes").
#pragma once

#include <cstdint>

namespace weft {

/// A process's identity and a way to ask whether another process is alive.
/// weft/mapping.h gives one for POSIX processes (posix_liveness: pid and
/// start time, one pid namespace); a supervisor's table or an advisory lock
/// per process are others.
struct Liveness {
  /// This process's identity (not 0), as `alive` understands it. With
  /// 32-bit words (WEFT_WORD_BITS=32) a region keeps its low 32 bits only,
  /// and they must not be 0 either.
  std::uint64_t identity = 0;
  /// False only when the process of `identity` is dead and will never run
  /// again (true when unsure: a live process judged dead could lose what it
  /// holds). Called on slow paths only, when something is held too long,
  /// with the identity as the region keeps it (its low 32 bits with 32-bit
  /// words).
  bool (*alive)(void* context, std::uint64_t identity) = nullptr;
  void* context = nullptr;  ///< passed to `alive`
};

}  // namespace weft
