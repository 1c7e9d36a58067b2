# Runs the conformance runner on a plugin that crashes (HOW=crashes, SIGSEGV
# in iter_seek_last) or hangs (HOW=hangs, in flush) and passes only if the
# runner survived it: it exits non-zero, names the broken cases as failed
# with the signal or the timeout, still runs the cases after them, prints
# its summary, and writes complete JSON and XML reports.
#   cmake -DRUNNER=<kalam-conformance> -DPLUGIN=<so> -DHOW=crashes|hangs
#         -DWORK_DIR=<dir> -P expect_survived.cmake
if(HOW STREQUAL "crashes")
  set(_broken "Iterator_ReverseVisitsEverythingBackwards")
  set(_why "crashed: signal 11")
  set(_filter "Iterator_*:Point_*")
  set(_timeout 60)
else()
  set(_broken "Flush_CoversEveryFamily")
  set(_why "timed out after 3 s")
  set(_filter "Flush_*:Point_*")
  set(_timeout 3)
endif()
# A case that does not use the broken call and must still pass.
set(_after "Point_PutGetOverwriteDelete")
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

foreach(_format json xml)
  set(_report ${WORK_DIR}/report.${_format})
  execute_process(COMMAND ${RUNNER} ${PLUGIN} --filter ${_filter}
                          --timeout ${_timeout} --report ${_report}
                  OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc
                  TIMEOUT 240)
  if(_rc EQUAL 0 OR NOT _rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "the runner should have failed (and not died) on a plugin that ${HOW}, got '${_rc}':\n${_out}\n${_err}")
  endif()
  if(NOT _out MATCHES "${_broken} +failed — ${_why}")
    message(FATAL_ERROR "the runner did not name ${_broken} as failed with '${_why}':\n${_out}\n${_err}")
  endif()
  if(NOT _out MATCHES "${_after} +passed")
    message(FATAL_ERROR "the runner did not go on to pass ${_after}:\n${_out}\n${_err}")
  endif()
  if(NOT _out MATCHES "conformance: [0-9]+ passed, [1-9][0-9]* failed")
    message(FATAL_ERROR "no summary line:\n${_out}\n${_err}")
  endif()
  if(NOT EXISTS ${_report})
    message(FATAL_ERROR "no report written to ${_report}:\n${_out}\n${_err}")
  endif()
  file(READ ${_report} _text)
  if(_format STREQUAL "json")
    string(JSON _count LENGTH "${_text}" cases)
    set(_found_broken FALSE)
    set(_found_after FALSE)
    math(EXPR _last "${_count} - 1")
    foreach(_i RANGE ${_last})
      string(JSON _name GET "${_text}" cases ${_i} name)
      string(JSON _result GET "${_text}" cases ${_i} result)
      string(JSON _detail GET "${_text}" cases ${_i} detail)
      if(_name STREQUAL _broken AND _result STREQUAL "failed"
         AND _detail MATCHES "${_why}")
        set(_found_broken TRUE)
      endif()
      if(_name STREQUAL _after AND _result STREQUAL "passed")
        set(_found_after TRUE)
      endif()
    endforeach()
    if(NOT _found_broken OR NOT _found_after)
      message(FATAL_ERROR "the JSON report lacks ${_broken} failed (${_why}) or ${_after} passed:\n${_text}")
    endif()
  else()
    if(NOT _text MATCHES "<testcase name=\"${_broken}\"[^>]*>[^<]*<failure message=\"${_why}"
       OR NOT _text MATCHES "<testcase name=\"${_after}\"[^>]*/>"
       OR NOT _text MATCHES "</testsuites>")
      message(FATAL_ERROR "the XML report lacks ${_broken} failed (${_why}) or ${_after} passed:\n${_text}")
    endif()
  endif()
endforeach()
message(STATUS "the runner survived a plugin that ${HOW}: ${_broken} failed (${_why}), ${_after} passed, both reports complete")
