// Small status-propagation macros: Debian's abseil (20220623) ships none.
#ifndef FOLLOWGATE_SERVER_BASE_STATUS_MACROS_H_
#define FOLLOWGATE_SERVER_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FG_STATUS_CONCAT_INNER_(a, b) a##b
#define FG_STATUS_CONCAT_(a, b) FG_STATUS_CONCAT_INNER_(a, b)

// Returns `expr` from the enclosing function if it is not OK.
#define FG_RETURN_IF_ERROR(expr)                           \
  do {                                                     \
    ::absl::Status fg_status_ = (expr);                    \
    if (!fg_status_.ok()) return fg_status_;               \
  } while (false)

// `FG_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value of an
// absl::StatusOr or returns its status from the enclosing function.
#define FG_ASSIGN_OR_RETURN(lhs, expr) \
  FG_ASSIGN_OR_RETURN_IMPL_(FG_STATUS_CONCAT_(fg_statusor_, __LINE__), lhs, expr)

#define FG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // FOLLOWGATE_SERVER_BASE_STATUS_MACROS_H_
