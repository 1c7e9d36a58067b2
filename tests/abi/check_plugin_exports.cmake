# A plugin exports exactly one dynamic symbol: kalam_plugin_entry.
#   cmake -DPLUGIN=<kalam_x.so> -P check_plugin_exports.cmake
execute_process(COMMAND nm -D --defined-only ${PLUGIN}
                OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "nm -D --defined-only ${PLUGIN} failed")
endif()
string(REGEX REPLACE "\n$" "" _out "${_out}")
string(REPLACE "\n" ";" _lines "${_out}")
set(_symbols "")
foreach(_line IN LISTS _lines)
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] " "" _name "${_line}")
  list(APPEND _symbols ${_name})
endforeach()
if(NOT _symbols STREQUAL "kalam_plugin_entry")
  message(FATAL_ERROR "${PLUGIN} must export exactly kalam_plugin_entry; it exports: ${_symbols}")
endif()
message(STATUS "1 passed, 0 failed: ${PLUGIN} exports only kalam_plugin_entry")
