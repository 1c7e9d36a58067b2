# Runs the conformance runner on a deliberately defective plugin and passes
# only if the runner fails and reports every case in CASES (','-separated)
# as failed. FILTER, when given, restricts the run to those cases (':'-
# separated patterns, as --filter takes them).
#   cmake -DRUNNER=<kalam-conformance> -DPLUGIN=<so> -DCASES=<a,b>
#         [-DFILTER=<patterns>] -P expect_caught.cmake
set(_args ${RUNNER} ${PLUGIN})
if(FILTER)
  list(APPEND _args --filter ${FILTER})
endif()
execute_process(COMMAND ${_args}
                OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
if(_rc EQUAL 0)
  message(FATAL_ERROR "the suite passed a defective plugin (${PLUGIN}):\n${_out}")
endif()
string(REPLACE "," ";" _cases "${CASES}")
foreach(_case IN LISTS _cases)
  if(NOT _out MATCHES "\n  ${_case} +failed")
    message(FATAL_ERROR "the suite failed ${PLUGIN}, but not in ${_case}:\n${_out}\n${_err}")
  endif()
endforeach()
string(REGEX MATCH "conformance: [0-9]+ passed, [0-9]+ failed" _summary "${_out}")
message(STATUS "caught by ${CASES} (${_summary})")
