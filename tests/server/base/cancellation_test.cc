#include "server/base/cancellation.h"

#include <atomic>

#include "gtest/gtest.h"

namespace followgate {
namespace {

TEST(CancellationToken, RunsCallbacksOnceOnCancel) {
  CancellationToken token;
  int runs = 0;
  CancellationCallback callback(token, [&] { ++runs; });
  EXPECT_FALSE(token.IsCancelled());
  token.Cancel();
  token.Cancel();
  EXPECT_TRUE(token.IsCancelled());
  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, CallbackOnAnAlreadyCancelledTokenRunsAtOnce) {
  CancellationToken token;
  token.Cancel();
  int runs = 0;
  CancellationCallback callback(token, [&] { ++runs; });
  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, RemovedCallbackNeverRuns) {
  CancellationToken token;
  int runs = 0;
  { CancellationCallback callback(token, [&] { ++runs; }); }
  token.Cancel();
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace followgate
