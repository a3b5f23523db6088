// Region backings on POSIX: memory-mapped files and shared-memory objects
// (weft/mapping.h), and the glue that formats or attaches a TurnLog or
// LockTable on them. Built only with WEFT_POSIX (ON by default on UNIX).
//
// Every system call's failure becomes a MapStatus (and its errno is kept in
// MapResult::system_error); no exceptions, no heap. An open bounds the size
// (fstat) before it maps anything, and attach reads the header only inside
// that bound.
#include "weft/mapping.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "detail/region.h"
#include "weft/recovery.h"
#include "weft/atomic.h"

namespace weft {
inline namespace WEFT_SEAM_NS {

// Builds Mappings from inside this file (the fields are private).
struct MappingAccess {
  static Mapping make(void* base, std::size_t bytes, bool shared) noexcept {
    Mapping m;
    m.base_ = static_cast<unsigned char*>(base);
    m.bytes_ = bytes;
    m.shared_ = shared;
    return m;
  }
  // The mapping keeps `fd` (and the lock on it) until it is unmapped.
  static void keep_lock(Mapping& m, int fd) noexcept { m.lock_fd_ = fd; }
};

namespace {

using u64 = std::uint64_t;
using u32 = std::uint32_t;

// The magics of the two region kinds (the first word of each header, see
// turn_log.cpp and lock_table.cpp): "WTURNLOG" and "WEFTLOCK" little-endian.
constexpr u64 turn_log_magic = 0x474F4C4E52555457ULL;
constexpr u64 lock_table_magic = 0x4B434F4C54464557ULL;
// The smallest region header (a LockTable's first words: magic, version);
// anything shorter cannot be a region.
constexpr std::size_t header_bytes_min = 64;
WEFT_ASSERT_LOCK_FREE(u64);
WEFT_ASSERT_LOCK_FREE(u32);
static_assert(header_bytes_min >= 16, "the magic and the version lie in the first 16 bytes");
static_assert(LockTable::header_bytes >= header_bytes_min,
              "no region is smaller than the minimum an open accepts");

MapStatus status_of_errno(int error) noexcept {
  switch (error) {
    case EEXIST: return MapStatus::exists;
    case ENOENT: return MapStatus::not_found;
    case EACCES:
    case EPERM:
    case EROFS: return MapStatus::permission_denied;
    case ENOSPC:
    case EDQUOT: return MapStatus::no_space;
    case EFBIG:
    case EOVERFLOW: return MapStatus::too_large;
    case EISDIR: return MapStatus::not_a_file;
    case ENAMETOOLONG:
    case EINVAL: return MapStatus::invalid_argument;
    default: return MapStatus::io_error;
  }
}

MapResult failure(MapStatus status, int error = 0) noexcept {
  MapResult r;
  r.status = status;
  r.system_error = error;
  return r;
}

// Closes `fd` when the scope ends (errors of close() after a successful
// mmap cannot lose data: the mapping holds the file).
struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) (void)::close(fd);
  }
};

// "/name": one leading slash, no other, 2 to NAME_MAX characters.
bool shm_name_valid(const char* name) noexcept {
  if (name == nullptr || name[0] != '/') return false;
  const std::size_t length = ::strnlen(name, NAME_MAX + 1);
  if (length < 2 || length > NAME_MAX) return false;
  return std::strchr(name + 1, '/') == nullptr;
}

bool size_valid_for_create(std::size_t bytes) noexcept {
  return bytes != 0 && bytes % detail::region_alignment == 0 &&
         bytes <= static_cast<std::size_t>(PTRDIFF_MAX);
}

// Maps `bytes` of `fd`; shared or copy-on-write.
MapResult map_descriptor(int fd, std::size_t bytes, bool shared) noexcept {
  const int protection = PROT_READ | PROT_WRITE;
  void* base = ::mmap(nullptr, bytes, protection, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) return failure(MapStatus::map_failed, errno);
  assert(reinterpret_cast<std::uintptr_t>(base) % detail::region_alignment == 0);
  MapResult r;
  r.status = MapStatus::ok;
  r.mapping = MappingAccess::make(base, bytes, shared);
  return r;
}

// Bounds the size of an open descriptor before anything is mapped.
MapStatus bound_size(int fd, bool must_be_regular, const MapOptions& options, std::size_t& bytes,
                     int& error) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = errno;
    return MapStatus::io_error;
  }
  if (must_be_regular && !S_ISREG(st.st_mode)) return MapStatus::not_a_file;
  if (st.st_size < 0) return MapStatus::implausible_size;
  const auto size = static_cast<unsigned long long>(st.st_size);
  if (size < header_bytes_min) return MapStatus::too_small;
  if (size > options.max_bytes || size > static_cast<unsigned long long>(PTRDIFF_MAX)) {
    return MapStatus::too_large;
  }
  if (size % detail::region_alignment != 0) return MapStatus::implausible_size;
  bytes = static_cast<std::size_t>(size);
  return MapStatus::ok;
}

// Maps the whole of an existing file or object after bounding its size
// (bound_size); shared, or copy-on-write.
MapResult map_existing(int fd, bool must_be_regular, const MapOptions& options, bool shared) noexcept {
  std::size_t bytes = 0;
  int error = 0;
  if (const MapStatus s = bound_size(fd, must_be_regular, options, bytes, error); s != MapStatus::ok) {
    return failure(s, error);
  }
  return map_descriptor(fd, bytes, shared);
}

// Gives `fd` exactly `bytes` zero bytes and `mode` (umask not applied).
MapStatus size_new(int fd, std::size_t bytes, const MapOptions& options, int& error) noexcept {
  if (::fchmod(fd, static_cast<mode_t>(options.mode)) != 0 || ::ftruncate(fd, 0) != 0 ||
      ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    error = errno;
    return status_of_errno(error);
  }
  if (options.preallocate) {
    const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
    if (rc != 0) {
      error = rc;
      return status_of_errno(rc);
    }
  }
  return MapStatus::ok;
}

template <class T>
T load_word(const unsigned char* base, std::size_t offset) noexcept {
  // Region words are weft::atomic objects (written by other threads or
  // processes); read them as such.
  return static_cast<const weft::atomic<T>*>(static_cast<const void*>(base + offset))->load(
      std::memory_order_acquire);
}

}  // namespace

// ---- statuses ------------------------------------------------------------------

const char* to_string(MapStatus status) noexcept {
  switch (status) {
    case MapStatus::ok: return "ok";
    case MapStatus::invalid_argument: return "invalid_argument";
    case MapStatus::exists: return "exists";
    case MapStatus::not_found: return "not_found";
    case MapStatus::permission_denied: return "permission_denied";
    case MapStatus::not_a_file: return "not_a_file";
    case MapStatus::too_small: return "too_small";
    case MapStatus::implausible_size: return "implausible_size";
    case MapStatus::too_large: return "too_large";
    case MapStatus::no_space: return "no_space";
    case MapStatus::map_failed: return "map_failed";
    case MapStatus::io_error: return "io_error";
    case MapStatus::not_mapped: return "not_mapped";
    case MapStatus::not_a_region: return "not_a_region";
    case MapStatus::wrong_kind: return "wrong_kind";
    case MapStatus::bad_version: return "bad_version";
    case MapStatus::bad_geometry: return "bad_geometry";
    case MapStatus::word_size_mismatch: return "word_size_mismatch";
    case MapStatus::in_use: return "in_use";
    case MapStatus::truncated: return "truncated";
  }
  return "unknown";
}

// ---- Mapping -------------------------------------------------------------------

Mapping::Mapping(Mapping&& other) noexcept { *this = static_cast<Mapping&&>(other); }

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    unmap();
    base_ = other.base_;
    bytes_ = other.bytes_;
    shared_ = other.shared_;
    lock_fd_ = other.lock_fd_;
    other.base_ = nullptr;
    other.bytes_ = 0;
    other.shared_ = false;
    other.lock_fd_ = -1;
  }
  return *this;
}

void Mapping::unmap() noexcept {
  if (base_ != nullptr) (void)::munmap(base_, bytes_);  // fails only for a range that is not mapped
  if (lock_fd_ >= 0) (void)::close(lock_fd_);            // gives up open_log()'s lock
  base_ = nullptr;
  bytes_ = 0;
  shared_ = false;
  lock_fd_ = -1;
}

MapStatus Mapping::sync(std::size_t offset, std::size_t length) noexcept {
  if (base_ == nullptr) return MapStatus::not_mapped;
  if (offset > bytes_ || length > bytes_ - offset) return MapStatus::invalid_argument;
  if (length == 0 || !shared_) return MapStatus::ok;  // a private mapping has nothing to write back
  // msync takes a page-aligned start: round the range out to whole pages.
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const std::size_t page = page_size > 0 ? static_cast<std::size_t>(page_size) : 4096;
  const std::size_t start = offset / page * page;
  if (::msync(base_ + start, offset + length - start, MS_SYNC) != 0) return status_of_errno(errno);
  return MapStatus::ok;
}

// ---- files and shared memory --------------------------------------------------

MapResult create_file_mapping(const char* path, std::size_t bytes, const MapOptions& options) noexcept {
  if (path == nullptr || path[0] == '\0' || !size_valid_for_create(bytes) || (options.mode & ~0777u) != 0) {
    return failure(MapStatus::invalid_argument);
  }
  if (bytes > options.max_bytes) return failure(MapStatus::too_large);
  const int flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (options.exclusive ? O_EXCL : 0);
  Descriptor d;
  d.fd = ::open(path, flags, static_cast<mode_t>(options.mode));
  if (d.fd < 0) return failure(status_of_errno(errno), errno);
  struct stat st {};
  if (::fstat(d.fd, &st) != 0) return failure(MapStatus::io_error, errno);
  if (!S_ISREG(st.st_mode)) return failure(MapStatus::not_a_file);
  int error = 0;
  if (const MapStatus s = size_new(d.fd, bytes, options, error); s != MapStatus::ok) return failure(s, error);
  return map_descriptor(d.fd, bytes, true);
}

MapResult open_file_mapping(const char* path, const MapOptions& options) noexcept {
  if (path == nullptr || path[0] == '\0') return failure(MapStatus::invalid_argument);
  Descriptor d;
  d.fd = ::open(path, (options.copy_on_write ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (d.fd < 0) return failure(status_of_errno(errno), errno);
  return map_existing(d.fd, true, options, !options.copy_on_write);
}

MapResult create_shm_mapping(const char* name, std::size_t bytes, const MapOptions& options) noexcept {
  if (!shm_name_valid(name) || !size_valid_for_create(bytes) || (options.mode & ~0777u) != 0) {
    return failure(MapStatus::invalid_argument);
  }
  if (bytes > options.max_bytes) return failure(MapStatus::too_large);
  const int flags = O_RDWR | O_CREAT | (options.exclusive ? O_EXCL : 0);
  Descriptor d;
  d.fd = ::shm_open(name, flags, static_cast<mode_t>(options.mode));
  if (d.fd < 0) return failure(status_of_errno(errno), errno);
  int error = 0;
  MapOptions no_preallocate = options;
  no_preallocate.preallocate = false;  // tmpfs pages come on first touch
  if (const MapStatus s = size_new(d.fd, bytes, no_preallocate, error); s != MapStatus::ok) {
    return failure(s, error);
  }
  return map_descriptor(d.fd, bytes, true);
}

MapResult open_shm_mapping(const char* name, const MapOptions& options) noexcept {
  if (!shm_name_valid(name)) return failure(MapStatus::invalid_argument);
  Descriptor d;
  d.fd = ::shm_open(name, options.copy_on_write ? O_RDONLY : O_RDWR, 0);
  if (d.fd < 0) return failure(status_of_errno(errno), errno);
  return map_existing(d.fd, false, options, !options.copy_on_write);
}

// ---- recovery on open -------------------------------------------------------------

namespace {

// flock() that retries when a signal interrupts it.
int lock(int fd, int operation) noexcept {
  int r;
  do {
    r = ::flock(fd, operation);
  } while (r != 0 && errno == EINTR);
  return r;
}

// recover_log() on a TurnLog mapped under the exclusive lock (the checks of
// attach_log() first: not a TurnLog region is refused, never recovered).
MapStatus recover_mapped(const Mapping& mapping, RecoveryReport& report) noexcept {
  const RegionInfo info = inspect_region(mapping.data(), mapping.size());
  if (info.status != MapStatus::ok) return info.status;
  if (!info.is_turn_log) return MapStatus::wrong_kind;
  switch (recover_log(mapping.data(), mapping.size(), &report)) {
    case LogStatus::ok: return MapStatus::ok;
    case LogStatus::region_too_small: return MapStatus::truncated;
    case LogStatus::word_size_mismatch: return MapStatus::word_size_mismatch;
    default: return MapStatus::bad_geometry;
  }
}

// open_log() on an opened descriptor of the file or object (taken over).
OpenLogResult open_log_on(int fd, bool must_be_regular, Clock clock, TurnLog* log,
                          const MapOptions& options) noexcept {
  Descriptor d;
  d.fd = fd;
  OpenLogResult out;
  const auto fail = [&out](MapStatus status, int error = 0) {
    out.status = status;
    out.system_error = error;
    return static_cast<OpenLogResult&&>(out);
  };
  // Exclusive at once: nobody else holds the log through open_log.
  const bool alone = lock(d.fd, LOCK_EX | LOCK_NB) == 0;
  if (!alone && errno != EWOULDBLOCK) return fail(MapStatus::io_error, errno);
  if (!alone && lock(d.fd, LOCK_SH) != 0) return fail(MapStatus::io_error, errno);  // waits out a recovery
  // Sized and mapped under the lock: nobody re-creates it meanwhile.
  MapResult m = map_existing(d.fd, must_be_regular, options, true);
  if (m.status != MapStatus::ok) return fail(m.status, m.system_error);
  if (alone) {
    if (const MapStatus s = recover_mapped(m.mapping, out.report); s != MapStatus::ok) return fail(s);
    out.recovered = true;
    // Exclusive to shared. Not atomic: another opener may take the exclusive
    // lock in between and recover again; this one then waits here until it
    // is done, and uses the log only after.
    if (lock(d.fd, LOCK_SH) != 0) return fail(MapStatus::io_error, errno);
  }
  out.mapping = static_cast<Mapping&&>(m.mapping);
  if (const MapStatus s = attach_log(out.mapping, clock, log); s != MapStatus::ok) {
    out.mapping.unmap();
    return fail(s);
  }
  MappingAccess::keep_lock(out.mapping, d.fd);
  d.fd = -1;  // the mapping closes it
  out.status = MapStatus::ok;
  return out;
}

}  // namespace

OpenLogResult open_log(const char* path, Clock clock, TurnLog* log, const MapOptions& options) noexcept {
  OpenLogResult out;
  if (path == nullptr || path[0] == '\0' || log == nullptr || !clock.valid() || options.copy_on_write) {
    out.status = MapStatus::invalid_argument;
    return out;
  }
  const int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    out.status = status_of_errno(errno);
    out.system_error = errno;
    return out;
  }
  return open_log_on(fd, true, clock, log, options);
}

OpenLogResult open_shm_log(const char* name, Clock clock, TurnLog* log, const MapOptions& options) noexcept {
  OpenLogResult out;
  if (!shm_name_valid(name) || log == nullptr || !clock.valid() || options.copy_on_write) {
    out.status = MapStatus::invalid_argument;
    return out;
  }
  const int fd = ::shm_open(name, O_RDWR, 0);
  if (fd < 0) {
    out.status = status_of_errno(errno);
    out.system_error = errno;
    return out;
  }
  return open_log_on(fd, false, clock, log, options);
}

RecoverFileResult recover_log_file(const char* path) noexcept {
  RecoverFileResult out;
  const auto fail = [&out](MapStatus status, int error = 0) {
    out.status = status;
    out.system_error = error;
    return out;
  };
  if (path == nullptr || path[0] == '\0') return fail(MapStatus::invalid_argument);
  Descriptor d;
  d.fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (d.fd < 0) return fail(status_of_errno(errno), errno);
  if (lock(d.fd, LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK ? fail(MapStatus::in_use) : fail(MapStatus::io_error, errno);
  }
  MapResult m = map_existing(d.fd, true, MapOptions{}, true);
  if (m.status != MapStatus::ok) return fail(m.status, m.system_error);
  if (const MapStatus st = recover_mapped(m.mapping, out.report); st != MapStatus::ok) return fail(st);
  if (const MapStatus st = m.mapping.sync(); st != MapStatus::ok) return fail(MapStatus::io_error, errno);
  out.status = MapStatus::ok;
  return out;  // the lock goes with the descriptor
}

MapStatus unlink_shm(const char* name) noexcept {
  if (!shm_name_valid(name)) return MapStatus::invalid_argument;
  if (::shm_unlink(name) != 0) return status_of_errno(errno);
  return MapStatus::ok;
}

// ---- formatting and attaching ---------------------------------------------------

RegionInfo inspect_region(const void* region, std::size_t bytes) noexcept {
  RegionInfo info;
  if (region == nullptr || bytes < header_bytes_min ||
      reinterpret_cast<std::uintptr_t>(region) % detail::region_alignment != 0) {
    info.status = MapStatus::too_small;
    return info;
  }
  const auto* base = static_cast<const unsigned char*>(region);
  const u64 magic = load_word<u64>(base, 0);
  if (magic == turn_log_magic) {
    info.is_turn_log = true;
    info.version = load_word<u64>(base, 8);  // TurnLog header: u64 format_version
    info.status = info.version == TurnLog::format_version ? MapStatus::ok : MapStatus::bad_version;
  } else if (magic == lock_table_magic) {
    info.is_lock_table = true;
    info.version = load_word<u32>(base, 8);  // LockTable header: u32 format_version
    info.status = info.version == LockTable::format_version ? MapStatus::ok : MapStatus::bad_version;
  } else {
    info.status = MapStatus::not_a_region;
  }
  return info;
}

SyncResult sync_log(Mapping& mapping, const TurnLog& log) noexcept {
  SyncResult out;
  if (!mapping.mapped()) return out;
  const auto* at = static_cast<const unsigned char*>(log.region());
  const auto* begin = static_cast<const unsigned char*>(mapping.data());
  const bool inside = at != nullptr && at >= begin && at < begin + mapping.size();
  if (!inside || !mapping.shared()) {  // another region, or a private view that never reaches the file
    out.status = MapStatus::invalid_argument;
    return out;
  }
  // The end first: everything below it exists now, and the write-back below
  // starts after this read, so it covers all of it.
  const std::uint64_t end = log.end_position();
  out.status = mapping.sync();
  if (out.status == MapStatus::ok) out.durable_position = end;
  return out;
}

// ---- liveness -------------------------------------------------------------------

namespace {

// Reads /proc/PID/<file> into `buf` (NUL-terminated). 0 on success, else
// the errno of the failure (ENOENT: no such process, or hidden from us).
int read_proc_file(long pid, const char* file, char (&buf)[1024]) noexcept {
  char path[80];
  std::snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != 0 ? errno : EIO;
  std::size_t got = 0;
  for (int reads = 0; reads < 8 && got < sizeof buf - 1; reads++) {  // bound: 8 reads of one small file
    const ssize_t n = ::read(fd, buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  buf[got] = '\0';
  return got == 0 ? EIO : 0;
}

// What the stat file of a process's main thread says: its state letter and
// the low 32 bits of its start time (clock ticks after boot). 0, or an
// errno. /proc/PID/task/PID/stat rather than /proc/PID/stat: emulators
// (qemu-user) rewrite a process's view of its own /proc/PID/stat, start
// time included, and the two sides would then disagree.
int read_proc_stat(long pid, char& state, std::uint32_t& start) noexcept {
  char buf[1024];
  char file[48];
  std::snprintf(file, sizeof file, "task/%ld/stat", pid);
  if (const int err = read_proc_file(pid, file, buf); err != 0) return err;
  // "pid (comm) state ppid ... starttime(22nd field) ...": comm may hold
  // spaces and parentheses, so fields are counted after its last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ') return EIO;
  p += 2;
  state = *p;
  for (int field = 3; field < 22; field++) {  // bound: 19 fields
    p = std::strchr(p, ' ');
    if (p == nullptr) return EIO;
    p++;
  }
  char* end = nullptr;
  const unsigned long long ticks = std::strtoull(p, &end, 10);
  if (end == p) return EIO;
  start = static_cast<std::uint32_t>(ticks);
  return 0;
}

// True when /proc/PID/status says the process has more than one thread:
// its main thread may have exited (pthread_exit) and show as a zombie while
// the others run.
bool more_threads(long pid) noexcept {
  char buf[1024];
  if (read_proc_file(pid, "status", buf) != 0) return true;  // cannot tell: alive
  const char* t = std::strstr(buf, "\nThreads:");
  if (t == nullptr) return true;
  return std::strtol(t + 9, nullptr, 10) > 1;
}

bool posix_alive(void*, std::uint64_t identity) noexcept {
  const long pid = static_cast<long>(identity & 0xFFFFFFFFu);
  const auto start = static_cast<std::uint32_t>(identity >> 32);
  if (pid <= 0) return true;  // not a pid this function made: cannot tell
  const int signalled = ::kill(static_cast<pid_t>(pid), 0) == 0 ? 0 : errno;
  if (signalled == ESRCH) return false;
  char state = 0;
  std::uint32_t now_start = 0;
  if (const int err = read_proc_stat(pid, state, now_start); err != 0) {
    // kill() found the pid. No /proc entry: it exited meanwhile, unless
    // /proc hides other users' processes (hidepid; kill said EPERM): then,
    // and for any other failure, nothing is known: alive.
    return !(err == ENOENT && signalled == 0);
  }
  if ((state == 'Z' || state == 'X') && !more_threads(pid)) return false;  // killed, waiting for its parent
  return start == 0 || now_start == start;  // else the pid names a newer process
}

}  // namespace

TurnLog::Liveness posix_liveness() noexcept {
  TurnLog::Liveness l;
  const long pid = static_cast<long>(::getpid());
  char state = 0;
  std::uint32_t start = 0;
  if (read_proc_stat(pid, state, start) != 0) start = 0;
  l.identity = static_cast<std::uint64_t>(start) << 32 | static_cast<std::uint32_t>(pid);
  l.alive = &posix_alive;
  l.context = nullptr;
  return l;
}

MapStatus format_log(const Mapping& mapping, const TurnLog::Config& config, Clock clock,
                     TurnLog* log) noexcept {
  if (log == nullptr || !clock.valid()) return MapStatus::invalid_argument;
  if (!mapping.mapped()) return MapStatus::not_mapped;
  const std::size_t needed = TurnLog::region_bytes(config);
  if (needed == 0) return MapStatus::bad_geometry;
  if (mapping.size() < needed) return MapStatus::too_small;
  switch (log->init(mapping.data(), mapping.size(), config, clock)) {
    case LogStatus::ok: return MapStatus::ok;
    case LogStatus::region_too_small: return MapStatus::too_small;
    default: return MapStatus::bad_geometry;
  }
}

MapStatus attach_log(void* region, std::size_t bytes, Clock clock, TurnLog* log) noexcept {
  if (log == nullptr || !clock.valid()) return MapStatus::invalid_argument;
  const RegionInfo info = inspect_region(region, bytes);
  if (info.status != MapStatus::ok) return info.status;
  if (!info.is_turn_log) return MapStatus::wrong_kind;
  switch (log->attach(region, bytes, clock)) {
    case LogStatus::ok: return MapStatus::ok;
    case LogStatus::region_too_small: return MapStatus::truncated;
    case LogStatus::word_size_mismatch: return MapStatus::word_size_mismatch;
    default: return MapStatus::bad_geometry;
  }
}

MapStatus attach_log(const Mapping& mapping, Clock clock, TurnLog* log) noexcept {
  if (!mapping.mapped()) return MapStatus::not_mapped;
  return attach_log(mapping.data(), mapping.size(), clock, log);
}

MapStatus format_table(const Mapping& mapping, const LockTable::Config& config, Clock clock,
                       LockTable* table) noexcept {
  if (table == nullptr || !clock.valid()) return MapStatus::invalid_argument;
  if (!mapping.mapped()) return MapStatus::not_mapped;
  if (config.capacity == 0 || config.probe_window > config.capacity) return MapStatus::bad_geometry;
  if (mapping.size() < LockTable::region_bytes(config)) return MapStatus::too_small;
  switch (table->init(mapping.data(), mapping.size(), config, clock)) {
    case LockStatus::ok: return MapStatus::ok;
    case LockStatus::region_too_small: return MapStatus::too_small;
    default: return MapStatus::bad_geometry;
  }
}

MapStatus attach_table(void* region, std::size_t bytes, Clock clock, LockTable* table) noexcept {
  if (table == nullptr || !clock.valid()) return MapStatus::invalid_argument;
  const RegionInfo info = inspect_region(region, bytes);
  if (info.status != MapStatus::ok) return info.status;
  if (!info.is_lock_table) return MapStatus::wrong_kind;
  switch (table->attach(region, bytes, clock)) {
    case LockStatus::ok: return MapStatus::ok;
    case LockStatus::region_too_small: return MapStatus::truncated;
    case LockStatus::word_size_mismatch: return MapStatus::word_size_mismatch;
    default: return MapStatus::bad_geometry;
  }
}

MapStatus attach_table(const Mapping& mapping, Clock clock, LockTable* table) noexcept {
  if (!mapping.mapped()) return MapStatus::not_mapped;
  return attach_table(mapping.data(), mapping.size(), clock, table);
}

}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
