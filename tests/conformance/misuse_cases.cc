// Misuse gives an error code, never a crash or a scribble.
#include <cstddef>

#include "conformance.h"

namespace kalam::conformance {
namespace {

TEST_P(Conformance, Misuse_NullRequiredPointersAreInvalidArguments) {
  RawStatus status;
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(code_name(vt().write(db_, &wo, nullptr, 3, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(code_name(vt().get(db_, nullptr, nullptr, "k", 1, nullptr, nullptr,
                               &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  kalam_cf* handle = nullptr;
  EXPECT_EQ(code_name(vt().cf_open(db_, nullptr, 0, &handle, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(code_name(vt().cf_open(db_, "", KALAM_CF_CREATE_IF_MISSING, &handle,
                                   &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(code_name(vt().open(nullptr, nullptr, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
}

TEST_P(Conformance, Misuse_StatusIsWrittenOnlyAsFarAsItsSize) {
  // A status from a host that knows only the first two fields.
  struct Guarded {
    kalam_status status;
    char canary[8];
  } guarded;
  std::memset(&guarded, 0x5A, sizeof guarded);
  guarded.status.struct_size = offsetof(kalam_status, native_code);
  Op bad{99, nullptr, "k", "v"};
  kalam_write_op w{};
  w.type = bad.type;
  w.key = bad.key.data();
  w.key_len = 1;
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.op_stride = sizeof w;
  EXPECT_EQ(code_name(vt().write(db_, &wo, &w, 1, &guarded.status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(guarded.status.native_code, 0x5A5A5A5A5A5A5A5A)
      << "native_code written beyond struct_size";
  EXPECT_EQ(guarded.status.message[0], 0x5A)
      << "message written beyond struct_size";
  EXPECT_EQ(guarded.canary[0], 0x5A);
}

TEST_P(Conformance, Misuse_NullStatusIsAllowed) {
  kalam_write_op w{};
  w.type = 99;
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.op_stride = sizeof w;
  EXPECT_EQ(code_name(vt().write(db_, &wo, &w, 1, nullptr)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
}

TEST_P(Conformance, Misuse_MessagesAreTerminatedAndSayWhatFailed) {
  RawStatus status;
  std::memset(status.message, 'x', sizeof status.message);
  kalam_db* other = nullptr;
  ASSERT_NE(code_name(open_at(dir_ / "o", &other, KALAM_OPEN_CREATE_IF_MISSING,
                              {{std::string(2000, 'q'), "1"}}, &status)),
            code_name(KALAM_OK));
  EXPECT_NE(std::memchr(status.message, '\0', sizeof status.message), nullptr)
      << "message not NUL-terminated";
  EXPECT_EQ(code_name(status.code), code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_GT(std::strlen(status.message), 10u);
}

}  // namespace
}  // namespace kalam::conformance
