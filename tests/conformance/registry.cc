// The suite's side of the parameterisation: the backends its instantiations
// read and how gtest names them. Part of kalam_conformance_cases only; the
// raw harness (harness.cc, kalam_raw_harness) does not need it.
#include "conformance.h"

namespace kalam::conformance {

std::vector<BackendUnderTest>& backends() {
  static std::vector<BackendUnderTest> list;
  return list;
}

void PrintTo(const BackendUnderTest& backend, std::ostream* os) {
  *os << backend.label << " (" << backend.file.string() << ")";
}

std::string backend_label(
    const ::testing::TestParamInfo<BackendUnderTest>& info) {
  return info.param.label;
}

}  // namespace kalam::conformance
