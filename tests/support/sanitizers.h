// Whether this test binary is built with a sanitizer, for g++
// (__SANITIZE_*__) and clang (__has_feature). Sanitizer runtimes reserve far
// more address space than a test's rlimit allows, so memory-limit tests skip
// the limit under them.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define KALAM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KALAM_TEST_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define KALAM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KALAM_TEST_TSAN 1
#endif
#endif
