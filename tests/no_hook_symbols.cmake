# Checks that LIBRARY defines no weft::hooks symbol (or, with EXPECT_HOOKS,
# that it does: the check itself is shown to be able to fail).
execute_process(COMMAND ${NM} -C --defined-only ${LIBRARY}
  OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
string(REGEX MATCHALL "weft::hooks::[A-Za-z_:]+" found "${symbols}")
# Each seam lives in its own inline namespace (mixing seams in one binary
# must not silently swap functions).
if(EXPECT_HOOKS)
  set(seam "seam_hooks")
else()
  set(seam "seam_production")
endif()
if(WORD_BITS STREQUAL "32")
  set(seam "${seam}_w32")  # the word size names the namespace too
endif()
if(NOT symbols MATCHES "weft::${seam}::LockTable")
  message(FATAL_ERROR "${LIBRARY}: weft's classes are not in the inline namespace weft::${seam}")
endif()
list(LENGTH found n)
if(EXPECT_HOOKS)
  if(n EQUAL 0)
    message(FATAL_ERROR "expected hook symbols in ${LIBRARY}, found none")
  endif()
  message(STATUS "${n} hook symbols in the hooks library, as expected")
elseif(NOT n EQUAL 0)
  message(FATAL_ERROR "production library has hook symbols: ${found}")
else()
  message(STATUS "no hook symbols in the production library")
endif()
