# Debian packages: `cpack -G DEB` in the build directory (or
# scripts/package.sh) writes one .deb per group below, split by storage
# library, so installing the LMDB plugin never pulls in RocksDB:
#   kalam                  libkalam, libkalam_sql, the `kalam` CLI and the
#                          memory plugin (no storage library)
#   kalam-dev              headers (one include root, the ABI header among
#                          them), CMake package, pkg-config files,
#                          kalam-conformance and the faulty plugin
#   kalam-plugin-<name>    each plugin that links a storage library
#                          (rocksdb, lmdb, sqlite, postgres, ...)
# Library dependencies come from dpkg-shlibdeps (package dpkg-dev, which
# build-essential brings); each plugin package depends on `kalam` of the same
# version. Installed under /usr: libraries in /usr/lib, plugins in
# /usr/lib/kalam/plugins, where an installed libkalam.so looks by default.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kalam)
set(CPACK_PACKAGE_VENDOR "Kalam")
set(CPACK_PACKAGE_CONTACT "Kalam developers <kalam@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Programs of kalam-dev (kalam-conformance) link libkalam.so.0, which is in
# the kalam package: dpkg-shlibdeps finds it in the build tree, and the
# dependency on kalam is declared below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    ${CMAKE_BINARY_DIR}/engine ${CMAKE_BINARY_DIR}/sql)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
# Debug info stays in the build tree; the packages hold stripped files.
set(CPACK_STRIP_FILES ON)

# Components (install(... COMPONENT ...)) into groups; a group is a package.
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENT_KALAM_GROUP kalam)
set(CPACK_COMPONENT_PLUGIN-MEMORY_GROUP kalam)
set(CPACK_COMPONENT_DEV_GROUP dev)
set(CPACK_COMPONENT_PLUGIN-FAULTY_GROUP dev)
set(CPACK_COMPONENT_GROUP_KALAM_DESCRIPTION
    "Kalam storage engine: library, CLI and the memory backend")
set(CPACK_COMPONENT_GROUP_DEV_DESCRIPTION
    "Kalam storage engine: headers, CMake and pkg-config files, conformance runner")
set(CPACK_DEBIAN_KALAM_PACKAGE_NAME kalam)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME kalam-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "kalam (= ${PROJECT_VERSION}), nlohmann-json3-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)

get_property(_packaged_plugins GLOBAL PROPERTY KALAM_PLUGINS)
get_property(_server_plugins GLOBAL PROPERTY KALAM_SERVER_PLUGINS)
list(APPEND _packaged_plugins ${_server_plugins})
list(REMOVE_ITEM _packaged_plugins memory faulty)
foreach(_name IN LISTS _packaged_plugins)
  string(TOUPPER "PLUGIN-${_name}" _component)
  set(CPACK_COMPONENT_${_component}_GROUP plugin-${_name})
  string(TOUPPER "plugin-${_name}" _group)
  set(CPACK_COMPONENT_GROUP_${_group}_DESCRIPTION
      "Kalam storage engine: the ${_name} backend plugin")
  set(CPACK_DEBIAN_${_group}_PACKAGE_NAME kalam-plugin-${_name})
  set(CPACK_DEBIAN_${_group}_PACKAGE_DEPENDS "kalam (= ${PROJECT_VERSION})")
endforeach()

include(CPack)
