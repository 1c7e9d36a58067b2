// kalam::Span<T>: a view of a contiguous run of T (pointer + count), the
// type the public API takes and returns where the library, built as C++20,
// would use std::span. It exists because the public headers must compile for
// C++17 programs, and one type must mean the same thing to the library and
// to every program linking it: a C++20-only alias would give the same
// function two different signatures.
//
// It converts implicitly from anything contiguous that has data() and size()
// (std::vector, std::array, std::string, a C array, std::span in C++20), and
// a Span<T> converts to Span<const T>. A Span does not own what it views: the
// viewed elements must outlive it. In C++20 it also converts to std::span.
#pragma once

#include <cstddef>
#include <iterator>
#include <type_traits>

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span)
#include <span>
#endif

namespace kalam {

namespace span_detail {
// Views whose temporaries may be viewed, because they do not own what they
// point at.
template <typename T>
struct IsBorrowedView : std::false_type {};
#if defined(__cpp_lib_span)
template <typename U, std::size_t Extent>
struct IsBorrowedView<std::span<U, Extent>> : std::true_type {};
#endif
}  // namespace span_detail

template <typename T>
class Span {
  // True when a pointer to `From` may be viewed as a pointer to T: the same
  // element type, up to added const (never derived-to-base, which would
  // index the elements with the wrong size).
  template <typename From>
  static constexpr bool kViewable = std::is_convertible_v<From (*)[], T (*)[]>;

  template <typename Container>
  using ElementOf =
      std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))>;

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = std::size_t;
  using pointer = T*;
  using reference = T&;
  using iterator = T*;

  constexpr Span() noexcept = default;
  constexpr Span(T* data, size_type size) noexcept : data_(data), size_(size) {}
  template <std::size_t N>
  constexpr Span(T (&array)[N]) noexcept : data_(array), size_(N) {}
  // Any contiguous container. A temporary container only converts to a view
  // of const elements (a function argument is the use: the temporary lives
  // until the call returns); a temporary std::span converts to either.
  template <
      typename Container,
      typename = std::enable_if_t<
          !std::is_same_v<std::remove_cv_t<std::remove_reference_t<Container>>,
                          Span> &&
          !std::is_array_v<std::remove_reference_t<Container>> &&
          (std::is_const_v<T> || std::is_lvalue_reference_v<Container> ||
           span_detail::IsBorrowedView<
               std::remove_cv_t<std::remove_reference_t<Container>>>::value) &&
          kViewable<ElementOf<std::remove_reference_t<Container>>>>>
  constexpr Span(Container&& container) noexcept
      : data_(std::data(container)), size_(std::size(container)) {}
  // Span<U> to Span<const U>.
  template <typename U,
            typename = std::enable_if_t<!std::is_same_v<U, T> && kViewable<U>>>
  constexpr Span(const Span<U>& other) noexcept
      : data_(other.data()), size_(other.size()) {}

#if defined(__cpp_lib_span)
  constexpr operator std::span<T>() const noexcept { return {data_, size_}; }
#endif

  constexpr T* data() const noexcept { return data_; }
  constexpr size_type size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  // REQUIRES: i < size().
  constexpr T& operator[](size_type i) const noexcept { return data_[i]; }
  // REQUIRES: !empty().
  constexpr T& front() const noexcept { return data_[0]; }
  constexpr T& back() const noexcept { return data_[size_ - 1]; }
  // The first `count` elements. REQUIRES: count <= size().
  constexpr Span first(size_type count) const noexcept {
    return {data_, count};
  }
  // `count` elements from `offset` (to the end when count is npos).
  // REQUIRES: offset <= size() and offset + count <= size().
  static constexpr size_type npos = static_cast<size_type>(-1);
  constexpr Span subspan(size_type offset,
                         size_type count = npos) const noexcept {
    return {data_ + offset, count == npos ? size_ - offset : count};
  }

 private:
  T* data_ = nullptr;
  size_type size_ = 0;
};

}  // namespace kalam
