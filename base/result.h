// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Result<T> carries either a value or a human-readable error; modules return it, only the CLI
/// layer turns an error into an exit.

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace imager {

struct Error {
  std::string message;
};

/// An error from a failed system call: "OPERATION: strerror(errno)".
inline Error ErrnoError(const std::string& operation, int err = errno) {
  return Error{operation + ": " + std::strerror(err)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(runtime/explicit)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(runtime/explicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const std::string& error() const { return std::get<1>(v_).message; }
  Error take_error() { return std::move(std::get<1>(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error.message)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return err_; }
  Error take_error() { return Error{std::move(err_)}; }

 private:
  std::string err_;
  bool failed_ = false;
};

using Status = Result<void>;

/// Prefixes context to an error: "CONTEXT: ERROR".
inline Error Wrap(const std::string& context, const std::string& error) {
  return Error{context + ": " + error};
}

}  // namespace imager
