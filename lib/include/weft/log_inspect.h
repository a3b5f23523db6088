// weft/log_inspect.h: a read-only look inside a TurnLog region, for tools
// (`weft inspect`, `weft verify`) and recovery: its geometry, each segment's
// records by state (with checksums checked), each thread slot's tickets.
//
// Every function first validates the region as TurnLog::attach() does
// (magic, version, geometry, size) and returns its status when that fails;
// it then reads only inside the validated geometry, bounded by
// records_per_segment per segment, so a damaged region gives wrong counts,
// never a read out of bounds. Nothing is written. While other threads or
// processes use the log the figures are approximate (each word is read once,
// atomically, with no common instant).
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/turn_log.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

/// The geometry and ring position of a TurnLog region.
struct LogLayout {
  TurnLog::Config config{};              ///< the configuration it was formatted with
  std::uint64_t region_bytes = 0;         ///< bytes the region needs (its header says)
  std::uint64_t records_per_segment = 0;  ///< record headers per segment
  std::uint64_t payload_area_bytes = 0;   ///< payload bytes per segment (payload_bytes_max)
  std::uint64_t segments_offset = 0;      ///< where the ring's first segment starts in the region
  std::uint64_t head = 0;                 ///< oldest retained segment sequence (0: none opened)
  /// Newest segment sequence appends go to (0: none opened). A ring that
  /// opens ahead (TurnLog::open_ahead_segments_min) may hold current + 1 as
  /// well, ready and empty, until a writer crosses into it.
  std::uint64_t current = 0;
  std::uint64_t threads_used = 0;         ///< thread slots that hold a thread id
};

/// What a segment slot of the ring holds.
enum class SegmentState : std::uint8_t {
  free = 0,       ///< never used, or recycled and cleared
  preparing = 1,  ///< being opened
  ready = 2,      ///< holds sequence `sequence`, readable (current + 1: prepared ahead, empty)
  recycling = 3,  ///< being recycled
  retired = 4,    ///< recycled; waits for readers to leave before reuse
  unknown = 15,   ///< a state word no TurnLog writes (damage)
};

/// One physical segment: its header and its records counted by state.
struct SegmentReport {
  std::uint64_t sequence = 0;       ///< the logical segment living here (0: none yet)
  SegmentState state = SegmentState::free;  ///< see SegmentState
  std::uint64_t records_reserved = 0;  ///< reservations made (may exceed the records it has)
  std::uint64_t records = 0;           ///< record headers in use: min(reserved, records_per_segment)
  std::uint64_t payload_bytes = 0;     ///< payload bytes reserved
  bool sealed = false;                 ///< full: appends moved to the next segment
  std::uint64_t writers = 0;           ///< appenders pinned inside it (a dead process's pin stays)
  std::uint64_t busy = 0;        ///< records being written (or whose writer died before publishing)
  std::uint64_t written = 0;     ///< published, their exchange not finished
  std::uint64_t committed = 0;   ///< committed records
  std::uint64_t aborted = 0;     ///< aborted or expired records
  std::uint64_t malformed = 0;   ///< records a reader skips: bad state, role, index or payload bounds
  std::uint64_t checksum_failures = 0;  ///< written or committed records whose checksum does not hold
};

/// One thread slot.
struct ThreadReport {
  bool used = false;                 ///< the slot holds a thread id
  Id thread{};                       ///< the thread id
  std::uint64_t next_ticket = 0;     ///< the ticket the next begin takes
  std::uint64_t visible_through = 0; ///< every exchange <= it has finished
  std::uint64_t trimmed_through = 0; ///< tickets <= it are trimmed
  std::uint64_t max_fence = 0;       ///< highest fencing token begun
};

/// Fills `out` with the layout of the TurnLog at `region` (`bytes` long).
/// ok, or attach's errors (bad_region, region_too_small), invalid_argument
/// for a null `out`.
LogStatus inspect_log(void* region, std::size_t bytes, LogLayout* out) noexcept;
/// Fills `out` with physical segment `index` (0 .. segment_count-1), its
/// records counted by state and their checksums checked.
/// invalid_argument for an index past the ring.
LogStatus inspect_segment(void* region, std::size_t bytes, std::uint32_t index, SegmentReport* out) noexcept;
/// Fills `out` with thread slot `slot` (0 .. thread_capacity-1).
/// invalid_argument for a slot past the table.
LogStatus inspect_thread(void* region, std::size_t bytes, std::uint32_t slot, ThreadReport* out) noexcept;
/// A short lowercase name of a segment state ("ready").
[[nodiscard]] const char* to_string(SegmentState state) noexcept;

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
