# Checks that LIBRARY defines no weft::hooks symbol (or, with EXPECT_HOOKS,
# that it does: the check itself is shown to be able to fail).
execute_process(COMMAND ${NM} -C --defined-only ${LIBRARY}
  OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
string(REGEX MATCHALL "weft::hooks::[A-Za-z_:]+" found "${symbols}")
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
