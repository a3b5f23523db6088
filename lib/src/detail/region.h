// Internal: what every structure that lives in a caller's region needs: the
// check that a region pointer is usable, and the one allocation of create().
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "weft/atomic.h"
#include "weft/clock.h"

namespace weft {
inline namespace WEFT_SEAM_NS {
namespace detail {

/// Regions are cache-line aligned (both structures' parts are cache lines).
inline constexpr std::size_t region_alignment = 64;

/// True when `region` can hold a structure: not null, aligned, with a clock.
inline bool region_usable(const void* region, const Clock& clock) noexcept {
  return region != nullptr && clock.valid() &&
         reinterpret_cast<std::uintptr_t>(region) % region_alignment == 0;
}

/// The part of a region at `offset`, as a T. Regions are region_alignment-
/// aligned (init and attach check it) and every part lies at a multiple of
/// its own alignment, so the cast never misaligns; going through void* says
/// so to -Wcast-align on strict-alignment targets (armhf, riscv64).
template <class T>
T* region_part(unsigned char* base, std::size_t offset = 0) noexcept {
  return static_cast<T*>(static_cast<void*>(base + offset));
}
/// The same, read-only.
template <class T>
const T* region_part(const unsigned char* base, std::size_t offset = 0) noexcept {
  return static_cast<const T*>(static_cast<const void*>(base + offset));
}

/// The single allocation of create(): aligned, null on failure.
inline unsigned char* allocate_region(std::size_t bytes) noexcept {
  return static_cast<unsigned char*>(
      ::operator new[](bytes, std::align_val_t{region_alignment}, std::nothrow));
}

/// Frees what allocate_region() returned.
inline void free_region(unsigned char* p) noexcept {
  ::operator delete[](p, std::align_val_t{region_alignment});
}

}  // namespace detail
}  // inline namespace WEFT_SEAM_NS
}  // namespace weft
