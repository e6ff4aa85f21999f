// Whether the fleet's PostgreSQL database answers, for health.
#ifndef FOLLOWGATE_SERVER_STORAGE_DATABASE_WATCH_H_
#define FOLLOWGATE_SERVER_STORAGE_DATABASE_WATCH_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/storage/pg_db.h"

namespace followgate {

// Asks the database `SELECT 1` on a connection of its own every `interval`
// (on `clock`), and calls `on_change(reachable)` from its thread whenever the
// answer changes (first after the first check that fails). A loss shows
// within one interval plus libpq's timeouts (PgDb::Connect); a return,
// within one interval of the database coming back. Logs each change once,
// naming the server but never the password. Thread-safe.
class DatabaseWatch {
 public:
  // Starts watching `db` (owned; already connected, so the database
  // answered once). `clock` is not owned and must outlive this.
  DatabaseWatch(std::unique_ptr<PgDb> db, Clock* clock, absl::Duration interval,
                std::function<void(bool reachable)> on_change);
  ~DatabaseWatch();  // Stops the thread.
  DatabaseWatch(const DatabaseWatch&) = delete;
  DatabaseWatch& operator=(const DatabaseWatch&) = delete;

  // The last answer (true before the first check).
  bool reachable() const;

 private:
  void Run();

  const std::unique_ptr<PgDb> db_;  // Used only by the thread.
  Clock* const clock_;
  const absl::Duration interval_;
  const std::function<void(bool)> on_change_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
  std::thread thread_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STORAGE_DATABASE_WATCH_H_
