# Shared build helpers: one way to declare a plugin, one way to declare a test.

# Warnings for our own targets (third-party headers are SYSTEM includes).
function(kalam_set_warnings target)
  get_target_property(_type ${target} TYPE)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wno-unused-parameter
    # Designated initialisers that omit members are intended (g++ 12 warns).
    -Wno-missing-field-initializers)
  if(KALAM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Compiles `target`'s sources in batches of 8 per compiler run (a CMake unity
# build) when KALAM_UNITY_BUILD is on. Every source of the engine and the CLI
# includes the same heavy headers (nlohmann/json, CLI11, yaml-cpp); in a batch
# they are parsed, and their templates compiled, once instead of eight times.
# Sources of such a target must not define two things of one name at file
# scope (anonymous namespaces included): a batch is one translation unit.
function(kalam_build_in_batches target)
  if(KALAM_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES
      UNITY_BUILD ON
      UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()

# kalam_add_plugin(NAME <name> [SERVER] SOURCES <files...>
#                  [LIBRARIES <libs...>])
#
# Builds plugins/<name> as MODULE library kalam_<name>.so in
# ${CMAKE_BINARY_DIR}/plugins with hidden visibility and a version script, so
# exactly one symbol (kalam_plugin_entry) is exported, and records the name so
# tests find the file through the generated kalam/test_paths.h.
# SERVER: the plugin needs a running server (options naming it), so it is
# recorded in KALAM_SERVER_PLUGINS instead of KALAM_PLUGINS, the list of
# plugins that tests open with a directory alone; its own tests start a
# server for it.
function(kalam_add_plugin)
  cmake_parse_arguments(ARG "SERVER" "NAME" "SOURCES;LIBRARIES" ${ARGN})
  set(target kalam_plugin_${ARG_NAME})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE kalam::backend_api ${ARG_LIBRARIES})
  # plugins/common: header-only helpers shared by the in-tree plugins
  # (#include "plugin_support.h").
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/common)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME kalam_${ARG_NAME}
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/plugins/plugin.map)
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/plugins/plugin.map
    -Wl,--exclude-libs,ALL)
  if(NOT KALAM_SANITIZE)
    # Sanitizer runtimes resolve some symbols from the executable.
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  kalam_set_warnings(${target})
  # Each plugin is a package component of its own (cmake/KalamPackaging.cmake
  # groups them into Debian packages).
  install(TARGETS ${target} LIBRARY DESTINATION ${KALAM_INSTALL_PLUGIN_DIR}
    COMPONENT plugin-${ARG_NAME})
  if(ARG_SERVER)
    set_property(GLOBAL APPEND PROPERTY KALAM_SERVER_PLUGINS ${ARG_NAME})
  else()
    set_property(GLOBAL APPEND PROPERTY KALAM_PLUGINS ${ARG_NAME})
  endif()
endfunction()

# kalam_add_test(NAME <name> SOURCES <files...> [LIBRARIES <libs...>]
#                [LABELS <labels...>] [TIMEOUT <seconds>])
#
# One GoogleTest executable registered with ctest (one ctest entry per test
# case, so `ctest -R` and `ctest -L` select cases). Default label: unit.
function(kalam_add_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBRARIES} kalam::test_paths
                        GTest::gmock GTest::gtest GTest::gtest_main Threads::Threads)
  kalam_set_warnings(${ARG_NAME})
  # PROPERTIES flattens a list value (LABELS "unit;postgres" would become
  # LABELS unit, a property named "postgres" and a lost TIMEOUT), so the
  # labels are set by a script ctest runs after the discovered tests are
  # defined (<name>_TESTS lists them).
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
  set(_labels_file ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_labels.cmake)
  file(WRITE ${_labels_file}
"foreach(_test IN LISTS ${ARG_NAME}_TESTS)
  set_tests_properties(\"\${_test}\" PROPERTIES LABELS \"${ARG_LABELS}\")
endforeach()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_labels_file})
endfunction()
