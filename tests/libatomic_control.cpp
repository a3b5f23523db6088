// The control for no_libatomic.cmake: a 16-byte atomic, which no target weft
// supports does lock-free in line (gcc and clang call libatomic for it).
// Compiled into a static library that nothing links, so -latomic is never needed.
#include <atomic>
#include <cstdint>

struct Wide {
  std::uint64_t a;
  std::uint64_t b;
};

Wide weft_libatomic_control_load(const std::atomic<Wide>& w) { return w.load(); }
