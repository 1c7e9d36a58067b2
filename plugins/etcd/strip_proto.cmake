# cmake -DIN=<upstream .proto> -DOUT=<generated .proto> -P strip_proto.cmake
#
# Copies one of etcd's .proto files (Debian golang-etcd-server-dev) with what
# stock protoc cannot compile removed: the gogoproto and google.api imports,
# the file-level `option (gogoproto.*)` lines, field options
# `[(gogoproto.*) = ...]` and the `option (google.api.http) = { ... };`
# blocks of the gRPC gateway. Nothing else changes, so the messages and
# services are exactly upstream's.
file(READ "${IN}" text)
string(REGEX REPLACE "import \"gogoproto/gogo.proto\";" "" text "${text}")
string(REGEX REPLACE "import \"google/api/annotations.proto\";" "" text "${text}")
string(REGEX REPLACE "option \\(gogoproto\\.[a-z_]+\\) = [a-z]+;" "" text "${text}")
# additional_bindings { ... } nest inside the http option: remove them first.
string(REGEX REPLACE "additional_bindings *{[^}]*}" "" text "${text}")
string(REGEX REPLACE "option \\(google\\.api\\.http\\) = {[^}]*};" "" text "${text}")
string(REGEX REPLACE " *\\[\\(gogoproto\\.[^]]*\\]" "" text "${text}")
if(text MATCHES "gogoproto|google\\.api")
  file(WRITE "${OUT}.rejected" "${text}")
  message(FATAL_ERROR "strip_proto.cmake: ${IN} still mentions gogoproto or "
                      "google.api after stripping; update the patterns")
endif()
file(WRITE "${OUT}" "// Generated from ${IN} by plugins/etcd/strip_proto.cmake.\n${text}")
