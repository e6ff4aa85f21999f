// The snapshot store a fleet of replicas shares: tables in PostgreSQL.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_PG_SNAPSHOT_STORE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_PG_SNAPSHOT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/follows/snapshot_store.h"
#include "server/storage/pg_db.h"

namespace followgate {

// The component whose versions schema_migrations records for the snapshot
// tables (server/storage/pg_migrations.h). Prune takes
// kPgSnapshotPruneLockKey for its transaction, so two replicas never prune
// at once and neither deletes more than its limits call for.
inline constexpr char kPgSnapshotSchemaComponent[] = "snapshots";
inline constexpr int64_t kPgSnapshotPruneLockKey = 0x66675f736e617032;  // "fg_snap2"
// The first key of the transaction advisory lock (two-key form) that
// CreateUnlessInProgress takes on a query; the second is hashtext(query_key).
inline constexpr int32_t kPgSnapshotCreateLockClass = 0x66677331;  // "fgs1"
// The channel AppendPage notifies (payload: the snapshot id) when its
// transaction commits.
inline constexpr char kPgSnapshotPagesChannel[] = "snapshot_pages";

// What a reader of a snapshot reads at once (SnapshotStore::read_ahead):
// a whole batch costs about one round trip, and 16 pages of ~77 kB (1,000
// edges each) take 1.2 MB: the page limit binds; the byte limit of 2 MB
// holds a reader's memory where pages are larger.
inline constexpr int64_t kPgReadAheadPages = 16;
inline constexpr int64_t kPgReadAheadBytes = int64_t{2} << 20;

// Brings the snapshot tables up to this release's version: Open and
// PgCrawlRegistry::Create both call it. Version 2 adds the fleet's crawl
// leases, crawl_leases(snapshot_id, owner, lease_until, outcome_code,
// outcome_message), and its readers' pins, snapshot_pins(snapshot_id,
// owner, alive_until), both timed by the database's clock (see
// pg_crawl_registry.h). Version 3 stores pages uncompressed (STORAGE
// EXTERNAL on snapshot_pages.page: a page is read far more often than it is
// written, and compressing it saved a third of its size at the cost of a
// pglz decompression per read); PostgreSQL applies it to pages stored from
// then on, and those stored before stay compressed until pruned.
absl::Status MigrateSnapshotSchema(PgDb& db);

// SnapshotStore in PostgreSQL, the same layout as SqliteSnapshotStore: one
// row per snapshot in `snapshots`, its pages (bytea) and the cursors after
// them in `snapshot_pages` and `snapshot_cursors`, which go with their
// snapshot (ON DELETE CASCADE). Ids come from an identity column, whose
// sequence never hands out a value twice (a rolled-back Create only skips
// one). Times are timestamptz, which keeps microseconds, and come from
// `clock` as in every SnapshotStore, never from the server's now().
//
// Replicas share the tables: AppendPage first updates the snapshot's row
// only if it waits for that very page (locking the row), so of two replicas
// appending the same page one succeeds and the other gets INTERNAL, and the
// page, its cursor and the new counts commit together or not at all, with a
// NOTIFY on kPgSnapshotPagesChannel. CreateUnlessInProgress runs under a
// transaction advisory lock on the query key, so replicas opening a new
// query at once make one snapshot. Prune keeps this replica's `in_use` ids
// and, fleet-wide, every snapshot pinned in snapshot_pins or under a crawl
// lease in crawl_leases that is still alive by the database's clock.
//
// Thread-safe: one connection behind a mutex, so calls of one store run one
// at a time. Errors: those of SnapshotStore, plus UNAVAILABLE (reason
// DATABASE_UNAVAILABLE, with a retry delay) when the database cannot be
// reached or the connection was lost; the call after that reconnects.
class PgSnapshotStore final : public SnapshotStore {
 public:
  // Migrates the tables (ApplyMigrations: FAILED_PRECONDITION, reason
  // SCHEMA_TOO_NEW, when a newer release has migrated them) and returns a
  // store over them, which owns `db` (INVALID_ARGUMENT when it is null). `clock` is not owned and must outlive the store.
  static absl::StatusOr<std::unique_ptr<PgSnapshotStore>> Open(std::unique_ptr<PgDb> db,
                                                               Clock* clock);

  absl::StatusOr<std::optional<SnapshotInfo>> Get(int64_t id) override;
  absl::StatusOr<std::optional<SnapshotInfo>> LatestComplete(const std::string& query_key) override;
  absl::StatusOr<std::optional<SnapshotInfo>> LatestInProgress(
      const std::string& query_key) override;
  absl::StatusOr<std::vector<SnapshotInfo>> NewestComplete(const std::string& query_key,
                                                           int count) override;
  absl::StatusOr<std::optional<SnapshotInfo>> NewestCompleteAtOrBefore(
      const std::string& query_key, absl::Time time) override;
  absl::StatusOr<std::vector<SnapshotInfo>> List(const std::string& query_key, int64_t before_id,
                                                 int limit) override;

  absl::StatusOr<SnapshotInfo> Create(const std::string& query_key) override;
  absl::StatusOr<SnapshotInfo> CreateUnlessInProgress(const std::string& query_key) override;
  absl::Status AppendPage(int64_t id, int64_t seq, const std::string& page,
                          const std::string& next_cursor) override;
  absl::StatusOr<std::vector<std::string>> Cursors(int64_t id) override;
  absl::StatusOr<std::optional<std::string>> ReadPage(int64_t id, int64_t seq) override;
  // kPgReadAheadPages pages, at most kPgReadAheadBytes.
  ReadAhead read_ahead() const override;
  // One statement for the whole batch, whose bytea values travel in binary
  // format; the byte limit is applied by the server, from the pages' stored
  // sizes, so no page beyond it is sent.
  absl::StatusOr<std::vector<std::string>> ReadPages(int64_t id, int64_t first_seq,
                                                     int64_t max_pages,
                                                     int64_t max_bytes) override;

  absl::StatusOr<int> Prune(const RetentionLimits& limits, const std::set<int64_t>& in_use) override;

 private:
  PgSnapshotStore(std::unique_ptr<PgDb> db, Clock* clock) : db_(std::move(db)), clock_(clock) {}
  absl::StatusOr<std::vector<SnapshotInfo>> QueryInfos(const std::string& sql,
                                                       absl::Span<const PgParam> params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<SnapshotInfo>> QueryOne(const std::string& sql,
                                                       absl::Span<const PgParam> params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<SnapshotInfo> CreateLocked(const std::string& query_key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  const std::unique_ptr<PgDb> db_ ABSL_GUARDED_BY(mu_);
  Clock* const clock_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_PG_SNAPSHOT_STORE_H_
