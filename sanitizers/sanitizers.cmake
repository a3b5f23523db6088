# Sanitizer flags and warning flags for every weft target. The presets choose
# WEFT_SANITIZE; runtime options and (empty) suppression files live beside
# this file and are baked into test binaries (tests/sanitizer_defaults.cpp)
# and passed through the environment by CTest.
set(WEFT_SANITIZERS_DIR ${CMAKE_CURRENT_LIST_DIR})

if(WEFT_SANITIZE STREQUAL "")
elseif(WEFT_SANITIZE STREQUAL "address,undefined")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
elseif(WEFT_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
else()
  message(FATAL_ERROR "WEFT_SANITIZE must be '', 'address,undefined' or 'thread'")
endif()

file(READ ${WEFT_SANITIZERS_DIR}/tsan.options WEFT_TSAN_OPTIONS)
file(READ ${WEFT_SANITIZERS_DIR}/asan.options WEFT_ASAN_OPTIONS)
file(READ ${WEFT_SANITIZERS_DIR}/ubsan.options WEFT_UBSAN_OPTIONS)
string(STRIP "${WEFT_TSAN_OPTIONS}" WEFT_TSAN_OPTIONS)
string(STRIP "${WEFT_ASAN_OPTIONS}" WEFT_ASAN_OPTIONS)
string(STRIP "${WEFT_UBSAN_OPTIONS}" WEFT_UBSAN_OPTIONS)
set(WEFT_TSAN_OPTIONS "${WEFT_TSAN_OPTIONS}:suppressions=${WEFT_SANITIZERS_DIR}/tsan.supp")
set(WEFT_UBSAN_OPTIONS "${WEFT_UBSAN_OPTIONS}:suppressions=${WEFT_SANITIZERS_DIR}/ubsan.supp")
set(WEFT_LSAN_OPTIONS "suppressions=${WEFT_SANITIZERS_DIR}/lsan.supp")
# Environment for every test CTest runs.
set(WEFT_TEST_ENVIRONMENT
  "TSAN_OPTIONS=${WEFT_TSAN_OPTIONS}"
  "ASAN_OPTIONS=${WEFT_ASAN_OPTIONS}"
  "UBSAN_OPTIONS=${WEFT_UBSAN_OPTIONS}"
  "LSAN_OPTIONS=${WEFT_LSAN_OPTIONS}")

function(weft_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wcast-align -Wnull-dereference)
  if(WEFT_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
