# Runs the conformance runner on a deliberately defective plugin and passes
# only if the runner fails and reports CASE as failed.
#   cmake -DRUNNER=<kalam-conformance> -DPLUGIN=<so> -DCASE=<case> -P expect_caught.cmake
execute_process(COMMAND ${RUNNER} ${PLUGIN}
                OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
if(_rc EQUAL 0)
  message(FATAL_ERROR "the suite passed a defective plugin (${PLUGIN}):\n${_out}")
endif()
if(NOT _out MATCHES "${CASE} +failed")
  message(FATAL_ERROR "the suite failed ${PLUGIN}, but not in ${CASE}:\n${_out}\n${_err}")
endif()
string(REGEX MATCH "conformance: [0-9]+ passed, [0-9]+ failed" _summary "${_out}")
message(STATUS "1 passed, 0 failed: ${CASE} caught the defect (${_summary})")
