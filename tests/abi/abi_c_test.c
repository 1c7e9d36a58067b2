/* The ABI header compiled as strict C99 (see tests/abi/CMakeLists.txt for the
 * flags) and exercised from C, as a plugin author in C would use it. */
#include <kalam/backend_api.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

int main(void) {
  kalam_write_op ops[3];
  kalam_status status;
  memset(ops, 0, sizeof ops);
  ops[2].type = KALAM_OP_DELETE_RANGE;
  EXPECT(kalam_write_op_at(ops, (uint32_t)sizeof(kalam_write_op), 2)->type ==
         KALAM_OP_DELETE_RANGE);
  EXPECT(strcmp(kalam_code_name(KALAM_OK), "OK") == 0);
  EXPECT(strcmp(kalam_code_name(KALAM_DROPPED), "DROPPED") == 0);
  EXPECT(strcmp(kalam_code_name(12345), "UNKNOWN_CODE") == 0);
  EXPECT(KALAM_BACKEND_VTABLE_SIZE_1_0 < KALAM_BACKEND_VTABLE_SIZE_1_1);
  EXPECT(KALAM_BACKEND_VTABLE_SIZE_1_1 < KALAM_BACKEND_VTABLE_SIZE_1_2);
  EXPECT(KALAM_BACKEND_VTABLE_SIZE_1_2 == sizeof(kalam_backend_vtable));
  EXPECT(strcmp(kalam_code_name(KALAM_CONFLICT), "CONFLICT") == 0);
  EXPECT(strcmp(kalam_code_name(KALAM_OUTCOME_UNKNOWN), "OUTCOME_UNKNOWN") ==
         0);
  EXPECT(sizeof(kalam_expectation) == sizeof(kalam_write_op));
  EXPECT(sizeof(kalam_entry) == 2 * sizeof(void *) + 2 * sizeof(size_t));
  status.struct_size = (uint32_t)sizeof status;
  EXPECT(sizeof status.message == KALAM_STATUS_MESSAGE_SIZE);
  EXPECT(strcmp(KALAM_PLUGIN_ENTRY_SYMBOL, "kalam_plugin_entry") == 0);
  printf("%d passed, %d failed\n", 13 - failures, failures);
  return failures == 0 ? 0 : 1;
}
