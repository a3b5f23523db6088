// weft/mapping.h: region backings beyond the heap and the caller's buffer:
// a memory-mapped file and a POSIX shared-memory object (POSIX only: built
// with the CMake option WEFT_POSIX, ON by default on UNIX; bare-metal builds
// use TurnLog::init / LockTable::init on a static buffer instead).
//
// ## What a Mapping is
//
// A Mapping owns one mmap()ed range (RAII, move-only, no exceptions, no heap).
// Files and shared-memory objects are mapped MAP_SHARED, so several processes
// that map the same file or object see each other's atomic operations: weft's
// words are lock-free and address-free, and every structure refers to its
// parts by offsets, so each process may map the region at its own address.
// A copy-on-write mapping (MapOptions::copy_on_write) reads the file and keeps
// this process's writes private (what `weft verify` uses: reading a TurnLog
// writes reader pins, so even a reader needs a writable view).
//
//   create_file_mapping(path, bytes)   new file, `bytes` long (zero-filled), 0600
//   open_file_mapping(path)            existing file: size bounded before mmap
//   create_shm_mapping(name, bytes)    shm_open + ftruncate + mmap, 0600
//   open_shm_mapping(name)             existing shared-memory object
//   unlink_shm(name)                   removes the name (mappings stay valid)
//
// Then format or attach a structure on it:
//
//   format_log(mapping, config, clock, &log)   TurnLog::init on the mapping
//   attach_log(mapping, clock, &log)           validate the header, TurnLog::attach
//   format_table / attach_table                the same for a LockTable
//
// attach_* never trusts a length it has not bounded: the mapping's size is
// bounded (open refuses a file smaller than any header, larger than
// MapOptions::max_bytes, or not a multiple of 64 bytes), the header is read
// only after that, and TurnLog::attach / LockTable::attach validate the
// geometry against the mapping's size. Every failure is a MapStatus.
//
// ## Lifetime
//
// A TurnLog or LockTable attached to a Mapping points into it: the Mapping
// must outlive the structure (declare the Mapping first). Moving a Mapping
// keeps the address (the range is not remapped).
//
// ## Durability
//
// Writes to a MAP_SHARED file mapping land in the page cache at once: a
// process that crashes (even by SIGKILL) loses nothing that its atomic stores
// completed; another process that opens the file afterwards sees them. Power
// loss keeps only what was written back: sync() (msync MS_SYNC) returns once
// the given range is on stable storage. Shared-memory objects live in RAM
// (tmpfs) and survive processes, not reboots.
//
// A file that another process truncates while it is mapped makes accesses
// past its new end fault (SIGBUS): do not shrink a file that is in use.
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/lock_table.h"
#include "weft/recovery.h"
#include "weft/turn_log.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

/// The result of every mapping call. [[nodiscard]]: look at it.
enum class [[nodiscard]] MapStatus : std::uint8_t {
  ok = 0,              ///< done
  invalid_argument,    ///< null or empty path, bad shm name ("/name"), zero or unaligned size,
                       ///< mode with bits beyond 0777, sync range outside the mapping
  exists,              ///< create with `exclusive`: the file or object already exists
  not_found,           ///< open: no such file or object
  permission_denied,   ///< the system refused access (EACCES, EPERM, EROFS)
  not_a_file,          ///< open: the path is not a regular file (a directory, a device, ...)
  too_small,           ///< open: smaller than the smallest region header (64 bytes)
  implausible_size,    ///< open: the size is not a multiple of region_alignment (64)
  too_large,           ///< open/create: larger than MapOptions::max_bytes or the address space
  no_space,            ///< create: the file system is full (with `preallocate`)
  map_failed,          ///< mmap() refused (out of address space or memory)
  io_error,            ///< any other system call failure (MapResult::system_error says which)
  not_mapped,          ///< the Mapping maps nothing (moved from, or never created)
  not_a_region,        ///< attach: the first word is no weft magic
  wrong_kind,          ///< attach: a LockTable region where a TurnLog was expected, or the reverse
  bad_version,         ///< attach: a format version this build does not read
  bad_geometry,        ///< attach: header fields inconsistent; format: invalid configuration
  truncated,           ///< attach: the header describes more bytes than the mapping has
  word_size_mismatch,  ///< attach: made by a build with the other word size (WEFT_WORD_BITS
                       ///< 32 vs 64; docs/EMBEDDED.md)
  in_use,              ///< recover_log_file: a process holds the log through open_log()
};

/// A short lowercase name of a status ("truncated"), for messages.
[[nodiscard]] const char* to_string(MapStatus status) noexcept;

/// Options of the create_* and open_* functions.
struct MapOptions {
  /// create: permission bits of a new file or object (exactly these: the
  /// process umask is not applied). Owner-only by default.
  std::uint32_t mode = 0600;
  /// create: fail with `exists` if the file or object exists (O_EXCL). When
  /// false an existing one is truncated to zero and re-created with `bytes`
  /// zero bytes (its previous contents are gone).
  bool exclusive = true;
  /// create (files): allocate the blocks now (posix_fallocate), so a full
  /// disk is `no_space` here rather than a SIGBUS on a later write.
  bool preallocate = false;
  /// open (files): map MAP_PRIVATE from a read-only descriptor: this
  /// process reads the file and its writes (reader pins, expiries) stay
  /// private. Pages the process never wrote keep following the file, so a
  /// private view of a file that others are writing is not one instant.
  bool copy_on_write = false;
  /// open: refuse (too_large) a file or object larger than this (1 TiB;
  /// the whole address space on 32-bit targets).
  std::size_t max_bytes = sizeof(std::size_t) >= 8 ? static_cast<std::size_t>(std::uint64_t{1} << 40)
                                                   : static_cast<std::size_t>(-1);
};

/// One mmap()ed range, unmapped when destroyed. Move-only; a moved-from
/// Mapping maps nothing.
class Mapping {
 public:
  /// A Mapping that maps nothing (mapped() is false).
  Mapping() noexcept = default;
  /// Unmaps the range (structures attached to it must be gone first).
  ~Mapping() { unmap(); }
  /// Takes over `other`'s range at the same address; `other` maps nothing.
  Mapping(Mapping&& other) noexcept;
  /// Unmaps this Mapping's range, then takes over `other`'s (same address);
  /// `other` maps nothing afterwards.
  Mapping& operator=(Mapping&& other) noexcept;
  /// Not copyable: a range has one owner.
  Mapping(const Mapping&) = delete;
  /// Not copyable: a range has one owner.
  Mapping& operator=(const Mapping&) = delete;

  /// The first byte (page aligned, so region_alignment aligned), or null.
  [[nodiscard]] void* data() const noexcept { return base_; }
  /// Bytes mapped (the file's or object's size when it was mapped).
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  /// True when something is mapped.
  [[nodiscard]] bool mapped() const noexcept { return base_ != nullptr; }
  /// True for a MAP_SHARED mapping (writes reach the file or object).
  [[nodiscard]] bool shared() const noexcept { return shared_; }

  /// Writes the pages holding [offset, offset + length) back to stable
  /// storage and waits for it (msync MS_SYNC): everything stored there
  /// before the call survives power loss once it returns ok. invalid_argument
  /// when the range leaves the mapping; ok and nothing done for a private
  /// mapping's range of length 0.
  MapStatus sync(std::size_t offset, std::size_t length) noexcept;
  /// sync() of the whole mapping.
  MapStatus sync() noexcept { return sync(0, bytes_); }
  /// Unmaps now (idempotent), and gives up the lock open_log() took.
  /// Structures attached to it must not be used after.
  void unmap() noexcept;

 private:
  friend struct MappingAccess;
  unsigned char* base_ = nullptr;
  std::size_t bytes_ = 0;
  bool shared_ = false;
  int lock_fd_ = -1;  // open_log(): the descriptor holding the shared lock (closed by unmap)
};

/// What the create_* and open_* functions return.
struct [[nodiscard]] MapResult {
  MapStatus status = MapStatus::not_mapped;  ///< ok, or why nothing was mapped
  int system_error = 0;  ///< the errno of the failing system call (0 if none failed)
  Mapping mapping;       ///< ok: the mapping; otherwise maps nothing
};

/// Creates the file `path`, `bytes` long (a multiple of 64; all zero), with
/// mode `options.mode`, and maps it shared read-write. Pass
/// TurnLog::region_bytes(config) or LockTable::region_bytes(capacity).
MapResult create_file_mapping(const char* path, std::size_t bytes,
                              const MapOptions& options = MapOptions{}) noexcept;
/// Maps the existing file `path` (shared read-write, or copy-on-write). Its
/// size is checked before mapping: a regular file, at least 64 bytes, a
/// multiple of 64, at most options.max_bytes.
MapResult open_file_mapping(const char* path, const MapOptions& options = MapOptions{}) noexcept;
/// Creates the POSIX shared-memory object `name` ("/name": one slash, first),
/// `bytes` long (a multiple of 64; all zero), mode `options.mode`, mapped shared.
MapResult create_shm_mapping(const char* name, std::size_t bytes,
                             const MapOptions& options = MapOptions{}) noexcept;
/// Maps the existing shared-memory object `name` (size checked as for files).
MapResult open_shm_mapping(const char* name, const MapOptions& options = MapOptions{}) noexcept;
/// Removes the shared-memory object's name; existing mappings stay valid and
/// the memory is freed when the last one goes. not_found if there is none.
MapStatus unlink_shm(const char* name) noexcept;

/// What a region's header says, read without trusting it (inspect_region).
struct RegionInfo {
  /// ok: a TurnLog or LockTable region whose magic and version this build
  /// reads (its geometry is checked by attach_*); otherwise too_small,
  /// not_a_region, bad_version.
  MapStatus status = MapStatus::not_a_region;
  bool is_turn_log = false;      ///< the magic says TurnLog ("WTURNLOG")
  bool is_lock_table = false;    ///< the magic says LockTable ("WEFTLOCK")
  std::uint64_t version = 0;     ///< the format version the header claims
};

/// Reads the magic and format version of the region at `region` (`bytes`
/// long) without trusting anything else in it. Never reads past `bytes`.
[[nodiscard]] RegionInfo inspect_region(const void* region, std::size_t bytes) noexcept;

/// Formats the mapping as an empty TurnLog (TurnLog::init) and attaches `log`
/// to it. bad_geometry for an invalid config, too_small when the mapping is
/// smaller than TurnLog::region_bytes(config).
MapStatus format_log(const Mapping& mapping, const TurnLog::Config& config, Clock clock,
                     TurnLog* log) noexcept;
/// Attaches `log` to the TurnLog in `bytes` at `region` (a mapping, or any
/// region: a static buffer, the heap) after checking magic (not_a_region,
/// wrong_kind), version (bad_version), geometry (bad_geometry) and size
/// (truncated: the header describes more bytes than there are).
MapStatus attach_log(void* region, std::size_t bytes, Clock clock, TurnLog* log) noexcept;
/// attach_log() on a mapping.
MapStatus attach_log(const Mapping& mapping, Clock clock, TurnLog* log) noexcept;
/// Formats the mapping as an empty LockTable (LockTable::init) and attaches
/// `table`. bad_geometry for an invalid config, too_small when the mapping is
/// smaller than LockTable::region_bytes(config).
MapStatus format_table(const Mapping& mapping, const LockTable::Config& config, Clock clock,
                       LockTable* table) noexcept;
/// What sync_log() made durable.
struct SyncResult {
  MapStatus status = MapStatus::not_mapped;  ///< ok, or why nothing was made durable
  /// ok: the log's end when the call began (TurnLog::end_position). Every
  /// turn whose append (or TurnWriter::finish) returned before the call, and
  /// every exchange whose commit returned before it, lies below it and is on
  /// stable storage. A record below it that was still being written when the
  /// call began is not promised. With append_lanes > 1 a turn appended
  /// after the call began can also lie below it: compare only turns whose
  /// append returned before the call.
  std::uint64_t durable_position = 0;
};
/// Power-loss durability up to a watermark for a TurnLog on a shared file
/// mapping: reads the log's end, then writes the whole mapping back (msync
/// MS_SYNC) and returns that end as the durable position (group commit:
/// acknowledge a request once a later sync_log's position is past its
/// turns). Appends and commits may go on meanwhile. invalid_argument when
/// `log` is not attached to a region inside `mapping`, or the mapping is a
/// copy-on-write view (nothing of it reaches the file).
SyncResult sync_log(Mapping& mapping, const TurnLog& log) noexcept;

/// What open_log() and open_shm_log() did.
struct [[nodiscard]] OpenLogResult {
  MapStatus status = MapStatus::not_mapped;  ///< ok, or why the log was not opened
  int system_error = 0;  ///< the errno of the failing system call (0 if none failed)
  /// ok: the mapping `log` is attached to. It holds a shared lock on the
  /// file or object until it is unmapped or destroyed: keep it while the
  /// log is used.
  Mapping mapping;
  /// True when no other process had the log open through open_log, so
  /// recover_log() ran before attaching (`report` says what it found).
  bool recovered = false;
  RecoveryReport report{};  ///< recovered: what recover_log() found and did
};

/// Opens the TurnLog file `path` for this process (shared, read-write) and
/// attaches `log`, recovering it first when nobody else uses it: recovery on
/// open. It takes an advisory lock on the file (flock): exclusive if it can
/// be had at once, which means no other process holds the log through
/// open_log, so it runs recover_log() (weft/recovery.h: what dead processes
/// left is repaired, what damage left is dropped or rebuilt) and then turns
/// the lock into a shared one; otherwise it waits for a shared lock (while
/// another opener recovers) and attaches as it finds the log. The shared
/// lock lasts as long as the returned mapping, and the kernel drops it
/// when the process dies, so after a crash the next opener recovers.
/// Every process using the file must open it this way for the exclusion to
/// hold (open_file_mapping() takes no lock). Statuses: those of
/// open_file_mapping() and attach_log(), io_error when the lock cannot be
/// taken, and bad_geometry when recovery refuses the region.
OpenLogResult open_log(const char* path, Clock clock, TurnLog* log,
                       const MapOptions& options = MapOptions{}) noexcept;

/// open_log() for the POSIX shared-memory object `name` ("/name").
OpenLogResult open_shm_log(const char* name, Clock clock, TurnLog* log,
                           const MapOptions& options = MapOptions{}) noexcept;

/// What recover_log_file() did.
struct [[nodiscard]] RecoverFileResult {
  MapStatus status = MapStatus::not_mapped;  ///< ok, or why nothing was recovered
  int system_error = 0;  ///< the errno of the failing system call (0 if none failed)
  RecoveryReport report{};  ///< ok: what recover_log() found and did
};

/// recover_log() on the TurnLog file `path`, as `weft recover` runs it: only
/// when no process holds the log through open_log() (it takes the exclusive
/// lock without waiting: in_use otherwise, and the file is left alone), then
/// the file is written back (msync). Statuses: those of open_file_mapping()
/// and attach_log(), in_use, io_error (the lock or the write-back failed),
/// bad_geometry when recovery refuses the region.
RecoverFileResult recover_log_file(const char* path) noexcept;

/// This process's Liveness for TurnLog::join() on POSIX systems. The
/// identity is the pid and, on Linux, the low 32 bits of the process's start
/// time (/proc/self/stat), so a pid the kernel reuses names another process.
/// `alive` answers false when kill(pid, 0) finds no such process, when the
/// process is a zombie (killed, not yet reaped by its parent), or when the
/// process with that pid started at another time; true otherwise (also when
/// it cannot tell). Every process sharing the region must see the others'
/// pids: one pid namespace.
[[nodiscard]] TurnLog::Liveness posix_liveness() noexcept;

/// Attaches `table` to the LockTable at `region`; the checks of attach_log().
MapStatus attach_table(void* region, std::size_t bytes, Clock clock, LockTable* table) noexcept;
/// attach_table() on a mapping.
MapStatus attach_table(const Mapping& mapping, Clock clock, LockTable* table) noexcept;

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
