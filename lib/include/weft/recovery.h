// weft/recovery.h: recovery of a TurnLog region whose users died (a file or
// shared-memory object reopened after a crash or a restart).
//
// recover_log() scans the region and repairs what dead processes left
// behind, then reports what it found. It must run while NO other thread or
// process uses the region (every process that had it mapped has exited, or
// the caller holds an exclusive lock on the file): it clears pins and
// resolves transitions that a live user could still be inside.
//
// What it does, segment by segment of the retained ring, record by record
// (each bounded by records_per_segment):
//   committed, well formed, checksum holds   kept
//   committed or written, checksum fails      aborted (dropped: checksum)
//   malformed (state, role, index, bounds)    aborted (dropped: malformed)
//   busy (its writer died mid-turn)           aborted (dropped: torn)
//   written (its exchange not finished)       left: the exchange expires (T10) or finishes
// and the other records of an exchange that lost one to its checksum are
// aborted too (dropped: with exchange), so an exchange is whole or gone (T4);
// and then: every segment's writer pin and every reader slot's pin is
// cleared (their owners are gone); a segment left `preparing` or
// `recycling` is put back; a thread slot left `claiming` is freed (nobody
// can have probed past it); an exchange slot left `claiming` (a begin that
// never returned) is finished as aborted and its ticket passed.
//
// Nor does it trust what only a damaged medium could have made disagree
// with the records (a crash cannot: those words are single atomic stores):
// - a segment whose fill is below a record header in use, or below the
//   payload of a well-formed record, gets its fill raised to cover them
//   (before the records are scanned, so they are verified too);
// - a thread whose records name a ticket at or above its next_ticket, whose
//   slot lost its id (the records' thread is inserted again), or whose tail
//   is one no TurnLog writes (visible_through not below next_ticket, more
//   than W exchanges unfinished, or an unfinished ticket not in its
//   exchange slot) is rebuilt from its records: next_ticket above every
//   ticket, its last W exchange slots committed or aborted as their
//   records say (request ids from the records, so duplicates are still
//   recognised), published records of its unfinished exchanges aborted,
//   and every ticket below next_ticket visible.
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/turn_log.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

/// What recover_log() found and did.
struct RecoveryReport {
  std::uint64_t segments_scanned = 0;     ///< ready segments of the ring scanned
  std::uint64_t records_scanned = 0;      ///< record headers looked at
  std::uint64_t records_kept = 0;         ///< committed records whose checksum holds
  std::uint64_t dropped_checksum = 0;     ///< committed or written records whose checksum failed
  std::uint64_t dropped_malformed = 0;    ///< records no reader may show (state, role, index, bounds)
  std::uint64_t dropped_torn = 0;         ///< busy records: their writers died mid-turn
  /// intact records of an exchange that lost a record to its checksum: an
  /// exchange stays whole or goes (T4)
  std::uint64_t dropped_with_exchange = 0;
  std::uint64_t written_unfinished = 0;   ///< published records of exchanges not finished (left to expiry)
  std::uint64_t writer_pins_cleared = 0;  ///< segment writer pins of dead appenders
  std::uint64_t reader_pins_cleared = 0;  ///< reader slots of dead readers
  std::uint64_t segments_repaired = 0;    ///< segments left preparing or recycling
  std::uint64_t threads_repaired = 0;     ///< thread slots left claiming
  std::uint64_t exchanges_repaired = 0;   ///< exchange slots left claiming (aborted)
  /// sequences between the ring's head and its current segment whose
  /// segment is not there (its header damaged or zeroed): their records are
  /// gone, and an exchange with turns on both sides of such a segment keeps
  /// the turns outside it (nothing records how many turns an old exchange had)
  std::uint64_t segments_missing = 0;
  std::uint64_t tails_rebuilt = 0;        ///< segments whose fill was raised to cover their records
  std::uint64_t threads_rebuilt = 0;      ///< thread slots rebuilt from their records (see above)
  /// published records of unfinished exchanges of a rebuilt thread (aborted:
  /// their exchanges cannot finish any more; not counted in written_unfinished)
  std::uint64_t dropped_rebuilt = 0;
};

/// Recovers the TurnLog at `region` (`bytes` long): see the file comment.
/// Validates as TurnLog::attach() does first (bad_region, region_too_small);
/// invalid_argument for a null `out`. Only while nobody else uses the region.
LogStatus recover_log(void* region, std::size_t bytes, RecoveryReport* out) noexcept;

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
