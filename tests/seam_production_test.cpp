// The production seam costs nothing: weft::atomic<T> is std::atomic<T> and a
// race point is an empty statement that does not evaluate its argument.
#include <gtest/gtest.h>

#include <atomic>
#include <type_traits>

#include "weft/atomic.h"

static_assert(std::is_same_v<weft::atomic<int>, std::atomic<int>>,
              "production weft::atomic must be exactly std::atomic");
static_assert(std::is_same_v<weft::atomic<std::uint64_t>, std::atomic<std::uint64_t>>,
              "production weft::atomic must be exactly std::atomic");
#ifdef WEFT_SEAM_HOOKS
#error "the production seam test must not be built with the hooks seam"
#endif

namespace {
int evaluated = 0;
[[maybe_unused]] const char* tag_with_side_effect() {
  evaluated++;
  return "tag";
}
}  // namespace

TEST(seam, production_race_point_does_not_evaluate_its_tag) {
  WEFT_RACE_POINT(tag_with_side_effect());
  EXPECT_EQ(evaluated, 0);
}

TEST(seam, production_atomic_is_lock_free_for_shared_words) {
  EXPECT_TRUE(weft::atomic<weft::word>::is_always_lock_free);
}
