// Freezes the ABI's memory layout. A failure here means a change would break
// every plugin already built: grow structs only at the end, and bump
// KALAM_ABI_VERSION_MINOR (additions) or _MAJOR (anything else).
#include <gtest/gtest.h>
#include <kalam/backend_api.h>

#include <cstddef>

namespace {

static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8,
              "the layout below is written for LP64 platforms");

#define KALAM_EXPECT_OFFSET(type, field, offset) \
  static_assert(offsetof(type, field) == (offset), #type "." #field " moved")

// kalam_backend_vtable, ABI 1.0: every function pointer in order.
KALAM_EXPECT_OFFSET(kalam_backend_vtable, struct_size, 0);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, open, 8);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, close, 16);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, flush, 24);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, cf_open, 32);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, cf_drop, 40);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, cf_list, 48);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, get, 56);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, get_into, 64);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, multi_get, 72);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, write, 80);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, snapshot_create, 88);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, snapshot_release, 96);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_create, 104);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_destroy, 112);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_seek_first, 120);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_seek_last, 128);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_seek, 136);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_seek_for_prev, 144);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_next, 152);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_prev, 160);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_valid, 168);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_entry, 176);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_status, 184);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_next_batch, 192);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, compact_range, 200);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, get_property, 208);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, checkpoint, 216);
static_assert(KALAM_BACKEND_VTABLE_SIZE_1_0 == 224);
// ABI 1.1: appended after the 1.0 group.
KALAM_EXPECT_OFFSET(kalam_backend_vtable, iter_read_batch, 224);
static_assert(KALAM_BACKEND_VTABLE_SIZE_1_1 == 232);
// ABI 1.2: appended after the 1.1 group.
KALAM_EXPECT_OFFSET(kalam_backend_vtable, write_conditional, 232);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, read_modify_write, 240);
KALAM_EXPECT_OFFSET(kalam_backend_vtable, get_limits, 248);
static_assert(KALAM_BACKEND_VTABLE_SIZE_1_2 == 256);
static_assert(sizeof(kalam_backend_vtable) == 256);
static_assert(KALAM_ABI_VERSION_MINOR == 2);

// kalam_expectation and kalam_rmw_value (ABI 1.2) are frozen array
// elements, like kalam_entry.
KALAM_EXPECT_OFFSET(kalam_expectation, type, 0);
KALAM_EXPECT_OFFSET(kalam_expectation, reserved0, 4);
KALAM_EXPECT_OFFSET(kalam_expectation, cf, 8);
KALAM_EXPECT_OFFSET(kalam_expectation, key, 16);
KALAM_EXPECT_OFFSET(kalam_expectation, key_len, 24);
KALAM_EXPECT_OFFSET(kalam_expectation, value, 32);
KALAM_EXPECT_OFFSET(kalam_expectation, value_len, 40);
static_assert(sizeof(kalam_expectation) == 48);
KALAM_EXPECT_OFFSET(kalam_rmw_value, code, 0);
KALAM_EXPECT_OFFSET(kalam_rmw_value, value, 8);
KALAM_EXPECT_OFFSET(kalam_rmw_value, value_len, 16);
static_assert(sizeof(kalam_rmw_value) == 24);
// kalam_limits (ABI 1.2) is size-prefixed and may grow.
KALAM_EXPECT_OFFSET(kalam_limits, struct_size, 0);
KALAM_EXPECT_OFFSET(kalam_limits, max_write_ops, 8);
KALAM_EXPECT_OFFSET(kalam_limits, max_write_bytes, 16);
KALAM_EXPECT_OFFSET(kalam_limits, max_expectations, 24);
static_assert(sizeof(kalam_limits) == 32);

// kalam_entry (ABI 1.1) is frozen: an array element without struct_size.
KALAM_EXPECT_OFFSET(kalam_entry, key, 0);
KALAM_EXPECT_OFFSET(kalam_entry, key_len, 8);
KALAM_EXPECT_OFFSET(kalam_entry, value, 16);
KALAM_EXPECT_OFFSET(kalam_entry, value_len, 24);
static_assert(sizeof(kalam_entry) == 32);

KALAM_EXPECT_OFFSET(kalam_status, struct_size, 0);
KALAM_EXPECT_OFFSET(kalam_status, code, 4);
KALAM_EXPECT_OFFSET(kalam_status, native_code, 8);
KALAM_EXPECT_OFFSET(kalam_status, message, 16);
static_assert(sizeof(kalam_status) == 16 + KALAM_STATUS_MESSAGE_SIZE);

KALAM_EXPECT_OFFSET(kalam_host, abi_major, 4);
KALAM_EXPECT_OFFSET(kalam_host, abi_max_minor, 8);
KALAM_EXPECT_OFFSET(kalam_host, log, 16);
KALAM_EXPECT_OFFSET(kalam_host, log_ctx, 24);
static_assert(sizeof(kalam_host) == 32);

KALAM_EXPECT_OFFSET(kalam_plugin_info, abi_major, 4);
KALAM_EXPECT_OFFSET(kalam_plugin_info, abi_minor, 8);
KALAM_EXPECT_OFFSET(kalam_plugin_info, pointer_size, 12);
KALAM_EXPECT_OFFSET(kalam_plugin_info, size_t_size, 16);
KALAM_EXPECT_OFFSET(kalam_plugin_info, format_version, 20);
KALAM_EXPECT_OFFSET(kalam_plugin_info, name, 24);
KALAM_EXPECT_OFFSET(kalam_plugin_info, version, 32);
KALAM_EXPECT_OFFSET(kalam_plugin_info, capabilities, 40);
KALAM_EXPECT_OFFSET(kalam_plugin_info, max_key_size, 48);
KALAM_EXPECT_OFFSET(kalam_plugin_info, max_value_size, 56);
KALAM_EXPECT_OFFSET(kalam_plugin_info, vtable, 64);
static_assert(sizeof(kalam_plugin_info) == 72);

KALAM_EXPECT_OFFSET(kalam_open_params, flags, 4);
KALAM_EXPECT_OFFSET(kalam_open_params, path, 8);
KALAM_EXPECT_OFFSET(kalam_open_params, option_keys, 16);
KALAM_EXPECT_OFFSET(kalam_open_params, option_values, 24);
KALAM_EXPECT_OFFSET(kalam_open_params, option_count, 32);
KALAM_EXPECT_OFFSET(kalam_open_params, options_yaml, 40);
static_assert(sizeof(kalam_open_params) == 48);

KALAM_EXPECT_OFFSET(kalam_read_options, snapshot, 8);
static_assert(sizeof(kalam_read_options) == 16);

KALAM_EXPECT_OFFSET(kalam_write_options, flags, 4);
KALAM_EXPECT_OFFSET(kalam_write_options, op_stride, 8);
static_assert(sizeof(kalam_write_options) == 16);

KALAM_EXPECT_OFFSET(kalam_write_op, type, 0);
KALAM_EXPECT_OFFSET(kalam_write_op, cf, 8);
KALAM_EXPECT_OFFSET(kalam_write_op, key, 16);
KALAM_EXPECT_OFFSET(kalam_write_op, key_len, 24);
KALAM_EXPECT_OFFSET(kalam_write_op, value, 32);
KALAM_EXPECT_OFFSET(kalam_write_op, value_len, 40);
static_assert(sizeof(kalam_write_op) == 48);

KALAM_EXPECT_OFFSET(kalam_iter_options, flags, 4);
KALAM_EXPECT_OFFSET(kalam_iter_options, snapshot, 8);
KALAM_EXPECT_OFFSET(kalam_iter_options, lower, 16);
KALAM_EXPECT_OFFSET(kalam_iter_options, lower_len, 24);
KALAM_EXPECT_OFFSET(kalam_iter_options, upper, 32);
KALAM_EXPECT_OFFSET(kalam_iter_options, upper_len, 40);
KALAM_EXPECT_OFFSET(kalam_iter_options, prefix, 48);
KALAM_EXPECT_OFFSET(kalam_iter_options, prefix_len, 56);
static_assert(sizeof(kalam_iter_options) == 64);

TEST(AbiLayout, VersionIsOnePointTwo) {
  // The offsets above describe ABI 1.0 plus the 1.1 group (iter_read_batch,
  // kalam_entry) and the 1.2 group (write_conditional, read_modify_write,
  // get_limits, kalam_expectation, kalam_rmw_value, kalam_limits). A new
  // minor appends fields: extend the assertions with the new group rather
  // than editing these.
  EXPECT_EQ(KALAM_ABI_VERSION_MAJOR, 1);
  EXPECT_EQ(KALAM_ABI_VERSION_MINOR, 2);
}

TEST(AbiLayout, ResultCodesAreStable) {
  EXPECT_EQ(KALAM_OK, 0);
  EXPECT_EQ(KALAM_NOT_FOUND, 1);
  EXPECT_EQ(KALAM_INVALID_ARGUMENT, 2);
  EXPECT_EQ(KALAM_IO_ERROR, 3);
  EXPECT_EQ(KALAM_CORRUPTION, 4);
  EXPECT_EQ(KALAM_NOT_SUPPORTED, 5);
  EXPECT_EQ(KALAM_BUSY, 6);
  EXPECT_EQ(KALAM_NO_SPACE, 7);
  EXPECT_EQ(KALAM_NO_MEMORY, 8);
  EXPECT_EQ(KALAM_ABI_MISMATCH, 9);
  EXPECT_EQ(KALAM_INTERNAL, 10);
  EXPECT_EQ(KALAM_BUFFER_TOO_SMALL, 11);
  EXPECT_EQ(KALAM_DROPPED, 12);
  EXPECT_EQ(KALAM_CONFLICT, 13);
  EXPECT_EQ(KALAM_UNAVAILABLE, 14);
  EXPECT_EQ(KALAM_TIMED_OUT, 15);
  EXPECT_EQ(KALAM_OUTCOME_UNKNOWN, 16);
  EXPECT_EQ(KALAM_SNAPSHOT_TOO_OLD, 17);
  EXPECT_EQ(KALAM_TOO_LARGE, 18);
  EXPECT_EQ(KALAM_EXPECT_VALUE, 1);
  EXPECT_EQ(KALAM_EXPECT_ABSENT, 2);
  EXPECT_EQ(KALAM_EXPECT_PRESENT, 3);
}

TEST(AbiLayout, CapabilityBitsAreStable) {
  EXPECT_EQ(KALAM_CAP_PERSISTENT, 1u << 0);
  EXPECT_EQ(KALAM_CAP_DURABLE_SYNC, 1u << 1);
  EXPECT_EQ(KALAM_CAP_ATOMIC_BATCH, 1u << 2);
  EXPECT_EQ(KALAM_CAP_SNAPSHOTS, 1u << 3);
  EXPECT_EQ(KALAM_CAP_REVERSE_ITERATION, 1u << 4);
  EXPECT_EQ(KALAM_CAP_DELETE_RANGE, 1u << 5);
  EXPECT_EQ(KALAM_CAP_THREAD_SAFE, 1u << 6);
  EXPECT_EQ(KALAM_CAP_MULTI_PROCESS, 1u << 7);
  EXPECT_EQ(KALAM_CAP_COMPACT_RANGE, 1u << 8);
  EXPECT_EQ(KALAM_CAP_PROPERTIES, 1u << 9);
  EXPECT_EQ(KALAM_CAP_CHECKPOINT, 1u << 10);
  EXPECT_EQ(KALAM_CAP_READ_ONLY_OPEN, 1u << 11);
  EXPECT_EQ(KALAM_CAP_CONDITIONAL_WRITE, 1u << 12);
  EXPECT_EQ(KALAM_CAP_READ_MODIFY_WRITE, 1u << 13);
  EXPECT_EQ(KALAM_CAP_REMOTE, 1u << 14);
  EXPECT_EQ(KALAM_CAP_SHARED, 1u << 15);
}

}  // namespace
