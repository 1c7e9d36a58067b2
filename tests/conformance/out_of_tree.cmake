# Installs the build into a fresh prefix, builds the C plugin template on its
# own against it (find_package(Kalam)), and runs the installed
# kalam-conformance on the result.
#   cmake -DBUILD_DIR=<build> -DTEMPLATE_DIR=<src>/examples/plugin-template
#         -DWORK_DIR=<scratch> -P out_of_tree.cmake
file(REMOVE_RECURSE ${WORK_DIR})
set(_prefix ${WORK_DIR}/prefix)
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${_out}\n${_err}")
  endif()
  set(_last_output "${_out}" PARENT_SCOPE)
endfunction()
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${_prefix})
run("configure the template" ${CMAKE_COMMAND} -S ${TEMPLATE_DIR}
    -B ${WORK_DIR}/template -DCMAKE_PREFIX_PATH=${_prefix})
run("build the template" ${CMAKE_COMMAND} --build ${WORK_DIR}/template)
run("the installed runner" ${_prefix}/bin/kalam-conformance
    ${WORK_DIR}/template/kalam_template.so)
string(REGEX MATCH "conformance: [0-9]+ passed, 0 failed, [0-9]+ skipped"
       _summary "${_last_output}")
if(NOT _summary)
  message(FATAL_ERROR "no summary from the runner:\n${_last_output}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "1 passed, 0 failed: out-of-tree template: ${_summary}")
