#!/usr/bin/env bash
# Installs the Debian 12 packages Kalam needs to build, test and benchmark;
# with --quickstart, only those the quickstart builds with.
# Idempotent: asks apt only for what is missing, so a second run does nothing.
set -euo pipefail

# What building the engine, the local plugins, the CLI and the quickstart
# needs (scripts/quickstart.sh installs only these: --quickstart).
quickstart_packages=(
  build-essential cmake pkg-config binutils
  libboost-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev zlib1g-dev
  librocksdb-dev liblmdb-dev libsqlite3-dev
  libedit-dev  # kalam sql: the shell's line editing and history
)
# What the rest needs: the server plugins and the servers their tests start,
# the tests, the benchmarks, the format check, the fuzzers.
everything_else=(
  libpq-dev postgresql-15  # the postgres plugin; its tests start a server
  # the etcd plugin: gRPC C++ client generated at build time from the .proto
  # files in golang-etcd-server-dev; its tests start etcd-server clusters
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  golang-etcd-server-dev etcd-server etcd-client openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format gnuplot-nox
  clang-14 libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer, ASan/UBSan runtimes
)

case "${1:-}" in
  --quickstart) packages=("${quickstart_packages[@]}") ;;
  "") packages=("${quickstart_packages[@]}" "${everything_else[@]}") ;;
  *)
    echo "usage: $0 [--quickstart]" >&2
    exit 2
    ;;
esac

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
    grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
  --no-install-recommends "${missing[@]}"
