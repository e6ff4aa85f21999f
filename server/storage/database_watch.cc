#include "server/storage/database_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/base/log.h"

namespace followgate {

DatabaseWatch::DatabaseWatch(std::unique_ptr<PgDb> db, Clock* clock, absl::Duration interval,
                             std::function<void(bool reachable)> on_change)
    : db_(std::move(db)), clock_(clock), interval_(interval), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Run(); });
}

DatabaseWatch::~DatabaseWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

bool DatabaseWatch::reachable() const {
  absl::MutexLock lock(&mu_);
  return reachable_;
}

void DatabaseWatch::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time next = clock_->Now() + interval_;
      clock_->AwaitWithDeadline(&mu_, absl::Condition(&stopping_), next);
      if (stopping_) return;
    }
    // PgDb reconnects on the use after a loss: the first check after the
    // database went away fails, and so does every one until it is back.
    absl::Status answer = db_->Query("SELECT 1").status();
    const bool now_reachable = answer.ok();
    {
      absl::MutexLock lock(&mu_);
      if (now_reachable == reachable_) continue;
      reachable_ = now_reachable;
    }
    if (now_reachable) {
      LogInfo("the database answers again");
    } else {
      LogError(absl::StrCat("the database does not answer: ", StatusForLog(answer)));
    }
    on_change_(now_reachable);
  }
}

}  // namespace followgate
