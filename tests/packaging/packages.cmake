# Builds the Debian packages of a build tree (cpack -G DEB, as configured by
# cmake/KalamPackaging.cmake), checks what each holds and depends on, and
# runs the CLI from an unpacked kalam + kalam-plugin-lmdb with
# KALAM_PLUGIN_PATH.
#   cmake -DBUILD_DIR=<build> -DWORK_DIR=<scratch> -DVERSION=<x.y.z>
#         -P packages.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _err WORKING_DIRECTORY ${WORK_DIR})
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${_out}\n${_err}")
  endif()
  set(_last_output "${_out}" PARENT_SCOPE)
endfunction()

run("cpack" cpack -G DEB --config ${BUILD_DIR}/CPackConfig.cmake
    -B ${WORK_DIR}/out)

# The .deb of package `name`; fails when there is none.
function(deb_of name out)
  file(GLOB _deb ${WORK_DIR}/out/${name}_${VERSION}_*.deb)
  if(NOT _deb)
    file(GLOB _all ${WORK_DIR}/out/*.deb)
    message(FATAL_ERROR "no package ${name}; cpack wrote: ${_all}")
  endif()
  set(${out} ${_deb} PARENT_SCOPE)
endfunction()

function(field deb name out)
  run("dpkg-deb -f ${deb} ${name}" dpkg-deb -f ${deb} ${name})
  string(STRIP "${_last_output}" _value)
  set(${out} "${_value}" PARENT_SCOPE)
endfunction()

function(contents deb out)
  run("dpkg-deb -c ${deb}" dpkg-deb -c ${deb})
  set(${out} "${_last_output}" PARENT_SCOPE)
endfunction()

function(expect what text pattern)
  if(NOT "${text}" MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: expected to match '${pattern}', got:\n${text}")
  endif()
endfunction()

function(expect_not what text pattern)
  if("${text}" MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: must not match '${pattern}', got:\n${text}")
  endif()
endfunction()

# kalam: the engine, the SQL layer, the CLI, the memory plugin; no storage
# library among its dependencies (SQLite is the SQL layer's query engine).
deb_of(kalam _core)
contents(${_core} _files)
expect("kalam holds" "${_files}" "usr/bin/kalam\n")
expect("kalam holds" "${_files}" "usr/lib/libkalam.so.0")
expect("kalam holds" "${_files}" "usr/lib/libkalam_sql.so.0")
expect("kalam holds" "${_files}" "usr/lib/kalam/plugins/kalam_memory.so")
expect_not("kalam holds" "${_files}" "kalam_(rocksdb|lmdb|sqlite|postgres)\\.so|include/")
field(${_core} Depends _depends)
expect_not("kalam depends" "${_depends}" "rocksdb|lmdb|libpq|grpc")

# kalam-dev: the headers under one root, the CMake and pkg-config files.
deb_of(kalam-dev _dev)
contents(${_dev} _files)
foreach(_file include/kalam/backend_api.h include/kalam/database.h
        include/kalam/tables/tables.h lib/pkgconfig/kalam.pc
        lib/cmake/Kalam/KalamConfig.cmake)
  expect("kalam-dev holds" "${_files}" "usr/${_file}")
endforeach()
field(${_dev} Depends _depends)
expect("kalam-dev depends" "${_depends}" "kalam \\(= ${VERSION}\\)")

# One package per storage library: each plugin pulls in its own library and
# the engine, and no other plugin's library.
set(_libraries rocksdb "librocksdb" lmdb "liblmdb" sqlite "libsqlite3"
    postgres "libpq" etcd "libgrpc")
foreach(_name rocksdb lmdb sqlite postgres etcd)
  file(GLOB _deb ${WORK_DIR}/out/kalam-plugin-${_name}_${VERSION}_*.deb)
  if(NOT _deb)
    if(_name STREQUAL "postgres" OR _name STREQUAL "etcd")
      continue()  # built only where libpq / gRPC are installed
    endif()
    message(FATAL_ERROR "no package kalam-plugin-${_name}")
  endif()
  contents(${_deb} _files)
  expect("kalam-plugin-${_name} holds" "${_files}"
         "usr/lib/kalam/plugins/kalam_${_name}.so")
  field(${_deb} Depends _depends)
  expect("kalam-plugin-${_name} depends" "${_depends}" "kalam \\(= ${VERSION}\\)")
  list(FIND _libraries ${_name} _at)
  math(EXPR _at "${_at} + 1")
  list(GET _libraries ${_at} _own)
  expect("kalam-plugin-${_name} depends" "${_depends}" "${_own}")
  foreach(_other rocksdb lmdb libpq libgrpc)
    if(NOT _own MATCHES "${_other}")
      expect_not("kalam-plugin-${_name} depends" "${_depends}" "${_other}")
    endif()
  endforeach()
  message(STATUS "kalam-plugin-${_name}: Depends: ${_depends}")
endforeach()

# The CLI from an unpacked kalam + kalam-plugin-lmdb, the plugin found
# through KALAM_PLUGIN_PATH (the config names an empty plugin directory).
deb_of(kalam-plugin-lmdb _lmdb)
set(_root ${WORK_DIR}/root)
run("unpack kalam" dpkg-deb -x ${_core} ${_root})
run("unpack kalam-plugin-lmdb" dpkg-deb -x ${_lmdb} ${_root})
file(MAKE_DIRECTORY ${WORK_DIR}/empty)
file(WRITE ${WORK_DIR}/app.yaml
     "storage:\n  backend: lmdb\n  path: app-data\n  plugin_path: [${WORK_DIR}/empty]\n")
set(ENV{KALAM_PLUGIN_PATH} ${_root}/usr/lib/kalam/plugins)
set(_kalam ${_root}/usr/bin/kalam --config ${WORK_DIR}/app.yaml)
run("kalam plugins" ${_kalam} plugins)
expect("kalam plugins" "${_last_output}"
       "lmdb .*${_root}/usr/lib/kalam/plugins/kalam_lmdb.so\n +from: KALAM_PLUGIN_PATH")
run("kalam put" ${_kalam} put greeting hello)
run("kalam get" ${_kalam} get greeting)
expect("kalam get" "${_last_output}" "^hello")
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "packages built, inspected, and the CLI ran from them")
