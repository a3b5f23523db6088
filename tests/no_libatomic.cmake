# Checks that LIBRARY calls no libatomic function (__atomic_*: what the
# compiler emits for an atomic it cannot do lock-free in line), so linking
# weft never needs -latomic on any target. With EXPECT_LIBATOMIC the check is
# run on a control object that does need it, to show it can fail.
execute_process(COMMAND ${NM} -u ${LIBRARY} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
# (Under ThreadSanitizer every atomic becomes a __tsan_atomic* call; the
# 128-bit ones are the ones that would need libatomic.)
string(REGEX MATCHALL "(__atomic_[a-z_0-9]+|__tsan_atomic128_[a-z_0-9]+)" found "${symbols}")
list(REMOVE_DUPLICATES found)
list(LENGTH found n)
if(EXPECT_LIBATOMIC)
  if(n EQUAL 0)
    message(FATAL_ERROR "expected libatomic calls in the control ${LIBRARY}, found none")
  endif()
  message(STATUS "the control calls libatomic (${found}), as expected")
elseif(NOT n EQUAL 0)
  message(FATAL_ERROR "${LIBRARY} calls libatomic: ${found}")
else()
  message(STATUS "${LIBRARY} calls no libatomic function")
endif()
