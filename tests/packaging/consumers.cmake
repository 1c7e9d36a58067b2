# Builds and runs tests/packaging/consumer/consumer.cc, a C++17 application,
# one way per MODE:
#   install       installs the build tree into WORK_DIR/prefix (the fixture
#                 the other modes use)
#   pkg-config    against the install, flags from `pkg-config kalam-sql`
#   find-package  against the install, with its own CMake project
#   build-tree    against the build tree's single include root
#                 (<build>/include) and libraries, plugins found by the
#                 build tree's default
#   plugin-path   the pkg-config consumer, with a config whose plugin_path
#                 holds no plugin: fails, then works with KALAM_PLUGIN_PATH
#   headers       every public header of the build tree's include root,
#                 each compiled on its own as C++17 (-fsyntax-only)
#   cmake -DMODE=... -DBUILD_DIR=<build> -DSOURCE_DIR=<consumer dir>
#         -DWORK_DIR=<scratch> -DCXX=<c++ compiler> -P consumers.cmake
set(_prefix ${WORK_DIR}/prefix)
set(_flags -std=c++17 -Wall -Wextra -Werror -pedantic)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${_out}\n${_err}")
  endif()
  set(_last_output "${_out}${_err}" PARENT_SCOPE)
endfunction()

# Writes <scratch>/<name>.yaml: an LMDB database in <scratch>/<name>-data,
# plugin_path as given (none: the default).
function(write_config name plugin_path)
  set(_config "storage:\n  backend: lmdb\n  path: ${name}-data\n")
  if(plugin_path)
    string(APPEND _config "  plugin_path: [${plugin_path}]\n")
  endif()
  file(REMOVE_RECURSE ${WORK_DIR}/${MODE}/${name}-data)
  file(WRITE ${WORK_DIR}/${MODE}/${name}.yaml "${_config}")
endfunction()

function(expect_ok program config)
  run("${program} ${config}" ${ARGN} ${program} ${config})
  if(NOT _last_output MATCHES "consumer: ok")
    message(FATAL_ERROR "no 'consumer: ok' from ${program}:\n${_last_output}")
  endif()
  message(STATUS "${_last_output}")
  set(_last_output "${_last_output}" PARENT_SCOPE)
endfunction()

function(pkg_config_build out)
  set(ENV{PKG_CONFIG_PATH} ${_prefix}/lib/pkgconfig)
  run("pkg-config" pkg-config --cflags --libs kalam-sql)
  separate_arguments(_pc UNIX_COMMAND "${_last_output}")
  run("build the consumer with pkg-config's flags" ${CXX} ${_flags}
      ${SOURCE_DIR}/consumer.cc -o ${out} ${_pc}
      -Wl,-rpath,${_prefix}/lib)
endfunction()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${WORK_DIR})
  run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${_prefix})
  foreach(_file include/kalam/backend_api.h include/kalam/database.h
          include/kalam/span.h include/kalam/sql/session.h
          lib/pkgconfig/kalam.pc lib/pkgconfig/kalam-sql.pc
          lib/cmake/Kalam/KalamConfig.cmake lib/kalam/plugins/kalam_lmdb.so)
    if(NOT EXISTS ${_prefix}/${_file})
      message(FATAL_ERROR "the install has no ${_file}")
    endif()
  endforeach()
  return()
endif()

file(REMOVE_RECURSE ${WORK_DIR}/${MODE})
file(MAKE_DIRECTORY ${WORK_DIR}/${MODE})
set(_config ${WORK_DIR}/${MODE}/app.yaml)

if(MODE STREQUAL "pkg-config")
  pkg_config_build(${WORK_DIR}/${MODE}/consumer)
  write_config(app "")
  expect_ok(${WORK_DIR}/${MODE}/consumer ${_config})
  # The plugin came from the install's default directory.
  if(NOT _last_output MATCHES "from ${_prefix}/lib/kalam/plugins/kalam_lmdb.so")
    message(FATAL_ERROR "the plugin was not the installed one:\n${_last_output}")
  endif()
elseif(MODE STREQUAL "find-package")
  run("configure the consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}
      -B ${WORK_DIR}/${MODE}/build -DCMAKE_PREFIX_PATH=${_prefix}
      -DCMAKE_CXX_COMPILER=${CXX})
  run("build the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/${MODE}/build)
  write_config(app "")
  expect_ok(${WORK_DIR}/${MODE}/build/kalam-consumer ${_config})
elseif(MODE STREQUAL "build-tree")
  run("build the consumer against the build tree" ${CXX} ${_flags}
      -I${BUILD_DIR}/include ${SOURCE_DIR}/consumer.cc
      -o ${WORK_DIR}/${MODE}/consumer
      -L${BUILD_DIR}/sql -L${BUILD_DIR}/engine -lkalam_sql -lkalam
      -Wl,-rpath,${BUILD_DIR}/sql:${BUILD_DIR}/engine)
  write_config(app "")
  expect_ok(${WORK_DIR}/${MODE}/consumer ${_config})
  if(NOT _last_output MATCHES "from ${BUILD_DIR}/plugins/kalam_lmdb.so")
    message(FATAL_ERROR "the build tree's plugin was not found:\n${_last_output}")
  endif()
elseif(MODE STREQUAL "plugin-path")
  pkg_config_build(${WORK_DIR}/${MODE}/consumer)
  file(MAKE_DIRECTORY ${WORK_DIR}/${MODE}/no-plugins)
  write_config(app ${WORK_DIR}/${MODE}/no-plugins)
  set(ENV{KALAM_PLUGIN_PATH} "")
  execute_process(COMMAND ${WORK_DIR}/${MODE}/consumer ${_config}
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(_rc EQUAL 0 OR NOT _err MATCHES "no plugin for backend 'lmdb'")
    message(FATAL_ERROR "without KALAM_PLUGIN_PATH the consumer should not "
            "find lmdb (${_rc}):\n${_out}\n${_err}")
  endif()
  set(ENV{KALAM_PLUGIN_PATH} "/nonexistent::${_prefix}/lib/kalam/plugins")
  expect_ok(${WORK_DIR}/${MODE}/consumer ${_config})
elseif(MODE STREQUAL "headers")
  file(GLOB_RECURSE _headers FOLLOW_SYMLINKS RELATIVE ${BUILD_DIR}/include
       ${BUILD_DIR}/include/kalam/*.h)
  list(LENGTH _headers _count)
  if(_count LESS 10)
    message(FATAL_ERROR "only ${_count} headers in ${BUILD_DIR}/include")
  endif()
  foreach(_header IN LISTS _headers)
    file(WRITE ${WORK_DIR}/${MODE}/one.cc "#include <${_header}>\n")
    run("${_header} as C++17" ${CXX} ${_flags} -fsyntax-only
        -I${BUILD_DIR}/include ${WORK_DIR}/${MODE}/one.cc)
  endforeach()
  message(STATUS "${_count} public headers compile as C++17 on their own")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
file(REMOVE_RECURSE ${WORK_DIR}/${MODE})
