# Runs a command and checks its exit status and output (CTest checks of the
# weft tool: PASS_REGULAR_EXPRESSION alone would ignore the exit status).
#   cmake -DCOMMAND="a;b;c" -DEXPECT_RC=N -DEXPECT_OUTPUT=regex [-DSETUP="x;y"] -P expect.cmake
if(DEFINED SETUP)
  execute_process(COMMAND ${SETUP} RESULT_VARIABLE setup_rc)
  if(NOT setup_rc EQUAL 0)
    message(FATAL_ERROR "setup failed (${setup_rc}): ${SETUP}")
  endif()
endif()
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL EXPECT_RC)
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT_RC}: ${COMMAND}")
endif()
if(DEFINED EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUTPUT}'")
endif()
