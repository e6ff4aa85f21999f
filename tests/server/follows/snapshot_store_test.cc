// The SnapshotStore contract, run against every backend (a real SQLite file
// in a temp dir, a database of its own in a throwaway PostgreSQL cluster) on
// a fake clock; then what only SqliteSnapshotStore and only PgSnapshotStore
// do.
#include "server/follows/snapshot_store.h"

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/base/status_macros.h"
#include "server/follows/pg_snapshot_store.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/storage/pg_db.h"
#include "server/testing/fake_clock.h"
#include "server/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::NewTempDir;
using ::followgate::testing::PostgresServer;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr char kQuery[] = "followee:urn:li:organizationalPage:42:MEMBER";
constexpr char kOtherQuery[] = "followee:urn:li:organizationalPage:7:MEMBER";

// Where one test's snapshots live. Each backend object starts with no
// snapshots; every Open() opens a store on the same snapshots, as a
// restarted process does.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual absl::StatusOr<std::unique_ptr<SnapshotStore>> Open(Clock* clock) = 0;
};

// A SQLite file in a temp dir of its own.
class SqliteStoreBackend final : public StoreBackend {
 public:
  absl::StatusOr<std::unique_ptr<SnapshotStore>> Open(Clock* clock) override {
    return SqliteSnapshotStore::Open(path_, clock);
  }

 private:
  const std::string path_ = NewTempDir("snapshots") + "/snapshots.db";
};

// One PostgreSQL cluster for the whole binary (it takes about a second to
// make), started and stopped on the main thread around all tests.
class PostgresEnvironment final : public ::testing::Environment {
 public:
  // nullptr (and a failure) when there is none.
  static PostgresServer* server() {
    EXPECT_NE(server_, nullptr) << "no PostgreSQL server";
    return server_;
  }

  void SetUp() override {
    // Hermetic: no password from the environment or a ~/.pgpass.
    unsetenv("PGPASSWORD");
    setenv("PGPASSFILE", absl::StrCat(std::getenv("TEST_TMPDIR"), "/no-pgpass").c_str(), 1);
    absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Create();
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
  }
  void TearDown() override {
    delete server_;
    server_ = nullptr;
  }

 private:
  static PostgresServer* server_;
};

PostgresServer* PostgresEnvironment::server_ = nullptr;
::testing::Environment* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

// A database of its own (t_1, t_2, ...) in the binary's cluster, so no test
// sees another's snapshots or ids.
class PgStoreBackend final : public StoreBackend {
 public:
  PgStoreBackend() {
    static std::atomic<int> databases{0};
    const std::string name = absl::StrCat("t_", ++databases);
    PostgresServer* server = PostgresEnvironment::server();
    if (server == nullptr) return;
    absl::StatusOr<std::unique_ptr<PgDb>> admin = PgDb::Connect(server->url());
    EXPECT_THAT(admin, IsOk());
    if (!admin.ok()) return;
    EXPECT_THAT((*admin)->Exec(absl::StrCat("CREATE DATABASE ", name)), IsOk());
    url_ = absl::StrCat("postgresql://postgres@127.0.0.1:", server->port(), "/", name);
  }

  absl::StatusOr<std::unique_ptr<SnapshotStore>> Open(Clock* clock) override {
    FG_ASSIGN_OR_RETURN(std::unique_ptr<PgSnapshotStore> store, OpenPg(clock));
    return std::unique_ptr<SnapshotStore>(std::move(store));
  }

  const std::string& url() const { return url_; }

  absl::StatusOr<std::unique_ptr<PgSnapshotStore>> OpenPg(Clock* clock) {
    if (url_.empty()) return absl::FailedPreconditionError("no database for this test");
    FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Connect(url_));
    return PgSnapshotStore::Open(std::move(db), clock);
  }

 private:
  std::string url_;
};

// One backend of the parameter list: its name (in the test names) and how
// to make one.
struct Backend {
  std::string name;
  std::function<std::unique_ptr<StoreBackend>()> make;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class SnapshotStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Reopen(); }

  // Closes the store (if open) and opens it again, as a restart does.
  void Reopen() {
    store_.reset();
    auto store = backend_->Open(&clock_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  // A snapshot of `query` with `pages` pages of `page_bytes` bytes each;
  // complete unless `complete` is false.
  SnapshotInfo Stored(const std::string& query, int pages, bool complete = true,
                      int page_bytes = 10) {
    auto info = store_->Create(query);
    EXPECT_THAT(info, IsOk());
    for (int seq = 0; seq < pages; ++seq) {
      const bool last = complete && seq + 1 == pages;
      EXPECT_THAT(store_->AppendPage(info->id, seq, std::string(page_bytes, 'a' + seq % 26),
                                     last ? "" : absl::StrCat("cursor-", seq + 1)),
                  IsOk());
    }
    auto stored = store_->Get(info->id);
    EXPECT_THAT(stored, IsOk());
    return stored->value_or(SnapshotInfo());
  }

  bool Exists(int64_t id) {
    auto info = store_->Get(id);
    EXPECT_THAT(info, IsOk());
    return info->has_value();
  }

  FakeClock clock_;
  const std::unique_ptr<StoreBackend> backend_ = GetParam().make();
  std::unique_ptr<SnapshotStore> store_;
};

// Every backend runs every SnapshotStoreTest: a new backend is one more line.
INSTANTIATE_TEST_SUITE_P(
    Backends, SnapshotStoreTest,
    ::testing::Values(Backend{"Sqlite", [] { return std::make_unique<SqliteStoreBackend>(); }},
                      Backend{"Postgres", [] { return std::make_unique<PgStoreBackend>(); }}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST_P(SnapshotStoreTest, CreateStartsAnEmptySnapshotInProgressAtTheClocksTime) {
  auto created = store_->Create(kQuery);
  ASSERT_THAT(created, IsOk());
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->query_key, kQuery);
  EXPECT_FALSE(created->complete);
  EXPECT_EQ(created->started_at, clock_.Now());
  EXPECT_EQ(created->completed_at, absl::InfinitePast());
  EXPECT_EQ(created->next_cursor, "");
  EXPECT_EQ(created->page_count, 0);
  EXPECT_EQ(created->bytes, 0);

  auto got = store_->Get(created->id);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->query_key, kQuery);
  EXPECT_FALSE((*got)->complete);
  EXPECT_EQ((*got)->started_at, created->started_at);
}

TEST_P(SnapshotStoreTest, CreateUnlessInProgressReturnsTheOneInProgressOrMakesOne) {
  const SnapshotInfo complete = Stored("q", 1);
  auto made = store_->CreateUnlessInProgress("q");
  ASSERT_THAT(made, IsOk());
  EXPECT_GT(made->id, complete.id);  // Only a complete one: a new one.
  EXPECT_FALSE(made->complete);
  auto again = store_->CreateUnlessInProgress("q");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->id, made->id);
  auto other = store_->CreateUnlessInProgress("other");
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->id, made->id);
}

TEST_P(SnapshotStoreTest, TimesAreKeptToTheMicrosecondAndReadBackAsCreateReturnedThem) {
  clock_.Advance(absl::Nanoseconds(1234567891));
  const absl::Time started = clock_.Now();
  auto created = store_->Create(kQuery);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->started_at, absl::FromUnixMicros(absl::ToUnixMicros(started)));
  clock_.Advance(absl::Microseconds(7));
  const absl::Time completed = clock_.Now();
  ASSERT_THAT(store_->AppendPage(created->id, 0, "only page", ""), IsOk());
  Reopen();
  auto got = store_->Get(created->id);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->started_at, created->started_at);
  EXPECT_EQ((*got)->completed_at, absl::FromUnixMicros(absl::ToUnixMicros(completed)));
}

TEST_P(SnapshotStoreTest, EachSnapshotGetsItsOwnId) {
  auto first = store_->Create(kQuery);
  auto second = store_->Create(kQuery);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(first->id, second->id);
}

TEST_P(SnapshotStoreTest, GetOfAnUnknownIdIsNothing) {
  auto got = store_->Get(12345);
  ASSERT_THAT(got, IsOk());
  EXPECT_FALSE(got->has_value());
}

TEST_P(SnapshotStoreTest, AppendedPagesReadBackByTheirSequenceNumber) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "page zero", "c1"), IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 1, std::string("page\0one", 8), "c2"), IsOk());
  EXPECT_THAT(*store_->ReadPage(info->id, 0), Optional(std::string("page zero")));
  EXPECT_THAT(*store_->ReadPage(info->id, 1), Optional(std::string("page\0one", 8)));
}

TEST_P(SnapshotStoreTest, PageNotStoredYetIsNothing) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "page zero", "c1"), IsOk());
  auto page = store_->ReadPage(info->id, 1);
  ASSERT_THAT(page, IsOk());
  EXPECT_FALSE(page->has_value());
  auto elsewhere = store_->ReadPage(info->id + 1, 0);
  ASSERT_THAT(elsewhere, IsOk());
  EXPECT_FALSE(elsewhere->has_value());
}

// The bytes of page `seq` in the read-ahead tests: of its own length, with
// a NUL and a byte above 0x7f, so that a batch read in any format other than
// the bytes themselves, or out of order, shows.
std::string BatchPage(int64_t seq) {
  return absl::StrCat("page-", seq, std::string("\0\xff", 2), std::string(seq, 'x'));
}

// Appends pages `from` to `to` - 1 of `id` (BatchPage); the last one given
// completes the snapshot when `complete`.
void AppendBatchPages(SnapshotStore& store, int64_t id, int64_t from, int64_t to,
                      bool complete = false) {
  for (int64_t seq = from; seq < to; ++seq) {
    const bool last = complete && seq + 1 == to;
    ASSERT_THAT(store.AppendPage(id, seq, BatchPage(seq), last ? "" : absl::StrCat("c", seq + 1)),
                IsOk());
  }
}

TEST_P(SnapshotStoreTest, ReadPagesReturnsTheStoredPagesFromTheFirstInOrderAsStored) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  // Past 10 pages: "10" comes before "2" in an order by text.
  AppendBatchPages(*store_, info->id, 0, 12, /*complete=*/true);
  auto pages = store_->ReadPages(info->id, 1, 3, int64_t{1} << 20);
  ASSERT_THAT(pages, IsOk());
  EXPECT_THAT(*pages, ElementsAre(BatchPage(1), BatchPage(2), BatchPage(3)));
  auto rest = store_->ReadPages(info->id, 4, 100, int64_t{1} << 20);
  ASSERT_THAT(rest, IsOk());
  std::vector<std::string> expected;
  for (int64_t seq = 4; seq < 12; ++seq) expected.push_back(BatchPage(seq));
  EXPECT_EQ(*rest, expected);
}

TEST_P(SnapshotStoreTest, ReadPagesFromAPageNotStoredYetIsEmpty) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  AppendBatchPages(*store_, info->id, 0, 2);
  auto after = store_->ReadPages(info->id, 2, 16, int64_t{1} << 20);
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(*after, IsEmpty());
  auto elsewhere = store_->ReadPages(info->id + 1, 0, 16, int64_t{1} << 20);
  ASSERT_THAT(elsewhere, IsOk());
  EXPECT_THAT(*elsewhere, IsEmpty());
  auto none = store_->ReadPages(info->id, 0, 0, int64_t{1} << 20);
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, IsEmpty());
}

// A crawl goes on storing pages while readers read in batches: each batch
// ends at the last page stored when it was read, and the next one, from the
// page after it, begins with the page stored meanwhile.
TEST_P(SnapshotStoreTest, APageStoredAfterABatchComesFirstInTheNextBatchExactlyOnce) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  AppendBatchPages(*store_, info->id, 0, 3);
  auto first = store_->ReadPages(info->id, 0, 16, int64_t{1} << 20);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(*first, ElementsAre(BatchPage(0), BatchPage(1), BatchPage(2)));
  AppendBatchPages(*store_, info->id, 3, 5, /*complete=*/true);
  auto second = store_->ReadPages(info->id, 3, 16, int64_t{1} << 20);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(*second, ElementsAre(BatchPage(3), BatchPage(4)));
}

TEST_P(SnapshotStoreTest, ReadPagesHoldsAtMostMaxBytesYetAlwaysTheFirstPage) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  for (int64_t seq = 0; seq < 5; ++seq) {
    ASSERT_THAT(store_->AppendPage(info->id, seq, std::string(100, 'a' + seq),
                                   absl::StrCat("c", seq + 1)),
                IsOk());
  }
  auto two = store_->ReadPages(info->id, 0, 16, 299);
  ASSERT_THAT(two, IsOk());
  EXPECT_THAT(*two, ElementsAre(std::string(100, 'a'), std::string(100, 'b')));
  auto three = store_->ReadPages(info->id, 1, 16, 300);
  ASSERT_THAT(three, IsOk());
  EXPECT_THAT(*three,
              ElementsAre(std::string(100, 'b'), std::string(100, 'c'), std::string(100, 'd')));
  // A page larger than the limit still comes, alone: a reader always gets on.
  auto one = store_->ReadPages(info->id, 2, 16, 10);
  ASSERT_THAT(one, IsOk());
  EXPECT_THAT(*one, ElementsAre(std::string(100, 'c')));
}

TEST_P(SnapshotStoreTest, AppendRecordsTheNextCursorThePageCountAndTheBytes) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "12345", "cursor-1"), IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 1, "123", "cursor-2"), IsOk());
  auto got = store_->Get(info->id);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->next_cursor, "cursor-2");
  EXPECT_EQ((*got)->page_count, 2);
  EXPECT_EQ((*got)->bytes, 8);
  EXPECT_FALSE((*got)->complete);
}

TEST_P(SnapshotStoreTest, APageWithoutACursorCompletesTheSnapshotAtTheClocksTime) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "first", "cursor-1"), IsOk());
  clock_.Advance(absl::Minutes(3));
  ASSERT_THAT(store_->AppendPage(info->id, 1, "last", ""), IsOk());
  auto got = store_->Get(info->id);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->complete);
  EXPECT_EQ((*got)->completed_at, clock_.Now());
  EXPECT_EQ((*got)->started_at, clock_.Now() - absl::Minutes(3));
  EXPECT_EQ((*got)->next_cursor, "");
  EXPECT_EQ((*got)->page_count, 2);
}

TEST_P(SnapshotStoreTest, AppendingAnythingButTheNextPageFailsAndStoresNothing) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "page zero", "cursor-1"), IsOk());
  EXPECT_THAT(store_->AppendPage(info->id, 2, "page two", "cursor-3"),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr(absl::StrCat("snapshot ", info->id,
                                              " is not waiting for page 2"))));
  auto skipped = store_->ReadPage(info->id, 2);
  ASSERT_THAT(skipped, IsOk());
  EXPECT_FALSE(skipped->has_value());
  auto got = store_->Get(info->id);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ((*got)->page_count, 1);
  EXPECT_EQ((*got)->next_cursor, "cursor-1");
  EXPECT_THAT(*store_->Cursors(info->id), ElementsAre("cursor-1"));
}

TEST_P(SnapshotStoreTest, AppendingAPageAgainFailsAndKeepsTheFirst) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "page zero", "cursor-1"), IsOk());
  EXPECT_THAT(store_->AppendPage(info->id, 0, "another page zero", "cursor-x"),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(*store_->ReadPage(info->id, 0), Optional(std::string("page zero")));
  EXPECT_EQ((*store_->Get(info->id))->next_cursor, "cursor-1");
}

TEST_P(SnapshotStoreTest, AppendingToACompleteSnapshotFails) {
  const SnapshotInfo done = Stored(kQuery, 2);
  ASSERT_TRUE(done.complete);
  EXPECT_THAT(store_->AppendPage(done.id, 2, "one too many", ""),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("is not waiting for page 2")));
  auto extra = store_->ReadPage(done.id, 2);
  ASSERT_THAT(extra, IsOk());
  EXPECT_FALSE(extra->has_value());
}

TEST_P(SnapshotStoreTest, AppendingToAnUnknownSnapshotFails) {
  EXPECT_THAT(store_->AppendPage(999, 0, "page", "cursor-1"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("snapshot 999")));
}

TEST_P(SnapshotStoreTest, CursorsAreTheNextCursorsInPageOrderWithoutTheLastEmptyOne) {
  const SnapshotInfo done = Stored(kQuery, 3);
  EXPECT_THAT(*store_->Cursors(done.id), ElementsAre("cursor-1", "cursor-2"));
  auto empty = store_->Create(kQuery);
  ASSERT_THAT(empty, IsOk());
  EXPECT_THAT(*store_->Cursors(empty->id), IsEmpty());
}

TEST_P(SnapshotStoreTest, LatestCompleteIsTheNewestCompleteSnapshotOfThatQuery) {
  Stored(kQuery, 1);
  const SnapshotInfo newest = Stored(kQuery, 2);
  Stored(kQuery, 1, /*complete=*/false);
  Stored(kOtherQuery, 1);
  auto latest = store_->LatestComplete(kQuery);
  ASSERT_THAT(latest, IsOk());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->id, newest.id);
  EXPECT_TRUE((*latest)->complete);
}

TEST_P(SnapshotStoreTest, LatestCompleteOfAQueryWithoutOneIsNothing) {
  Stored(kQuery, 1, /*complete=*/false);
  Stored(kOtherQuery, 1);
  auto latest = store_->LatestComplete(kQuery);
  ASSERT_THAT(latest, IsOk());
  EXPECT_FALSE(latest->has_value());
}

TEST_P(SnapshotStoreTest, LatestInProgressIsTheNewestUnfinishedSnapshotOfThatQuery) {
  Stored(kQuery, 1, /*complete=*/false);
  const SnapshotInfo newest = Stored(kQuery, 2, /*complete=*/false);
  Stored(kQuery, 1);
  Stored(kOtherQuery, 1, /*complete=*/false);
  auto latest = store_->LatestInProgress(kQuery);
  ASSERT_THAT(latest, IsOk());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->id, newest.id);
  EXPECT_EQ((*latest)->next_cursor, "cursor-2");
}

TEST_P(SnapshotStoreTest, ACompletedSnapshotIsNoLongerInProgress) {
  auto info = store_->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_TRUE(store_->LatestInProgress(kQuery)->has_value());
  ASSERT_THAT(store_->AppendPage(info->id, 0, "only page", ""), IsOk());
  auto latest = store_->LatestInProgress(kQuery);
  ASSERT_THAT(latest, IsOk());
  EXPECT_FALSE(latest->has_value());
}

TEST_P(SnapshotStoreTest, NewestCompleteListsAtMostCountNewestFirst) {
  const SnapshotInfo oldest = Stored(kQuery, 1);
  const SnapshotInfo middle = Stored(kQuery, 1);
  Stored(kQuery, 1, /*complete=*/false);
  const SnapshotInfo newest = Stored(kQuery, 1);
  Stored(kOtherQuery, 1);
  auto two = store_->NewestComplete(kQuery, 2);
  ASSERT_THAT(two, IsOk());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].id, newest.id);
  EXPECT_EQ((*two)[1].id, middle.id);
  auto all = store_->NewestComplete(kQuery, 10);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].id, oldest.id);
}

TEST_P(SnapshotStoreTest, SnapshotsPagesAndCursorsSurviveARestart) {
  const SnapshotInfo done = Stored(kQuery, 2);
  Reopen();
  auto got = store_->Get(done.id);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->complete);
  EXPECT_EQ((*got)->page_count, 2);
  EXPECT_EQ((*got)->started_at, done.started_at);
  EXPECT_EQ((*got)->completed_at, done.completed_at);
  EXPECT_THAT(*store_->ReadPage(done.id, 1), Optional(std::string(10, 'b')));
  EXPECT_THAT(*store_->Cursors(done.id), ElementsAre("cursor-1"));
  EXPECT_EQ((*store_->LatestComplete(kQuery))->id, done.id);
}

TEST_P(SnapshotStoreTest, ASnapshotInProgressContinuesAfterARestartFromItsCursor) {
  const SnapshotInfo partial = Stored(kQuery, 2, /*complete=*/false);
  Reopen();
  auto latest = store_->LatestInProgress(kQuery);
  ASSERT_THAT(latest, IsOk());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->id, partial.id);
  EXPECT_EQ((*latest)->next_cursor, "cursor-2");
  EXPECT_EQ((*latest)->page_count, 2);
  ASSERT_THAT(store_->AppendPage(partial.id, 2, "page two", ""), IsOk());
  EXPECT_TRUE((*store_->Get(partial.id))->complete);
  EXPECT_THAT(*store_->Cursors(partial.id), ElementsAre("cursor-1", "cursor-2"));
}

// A resume token names its snapshot by id: a new snapshot must never take
// the id of a pruned one, whose token would then resume in other pages.
TEST_P(SnapshotStoreTest, IdsOfPrunedSnapshotsAreNeverGivenAgainAlsoAfterARestart) {
  const SnapshotInfo pruned = Stored(kQuery, 1);
  clock_.Advance(absl::Hours(2));
  ASSERT_THAT(store_->Prune({absl::Hours(1), int64_t{1} << 30}, {}), IsOk());
  ASSERT_FALSE(Exists(pruned.id));
  Reopen();
  auto created = store_->Create(kQuery);
  ASSERT_THAT(created, IsOk());
  EXPECT_GT(created->id, pruned.id);
}

TEST_P(SnapshotStoreTest, PruneDeletesCompleteSnapshotsOlderThanTheMaximumAge) {
  const SnapshotInfo old_one = Stored(kQuery, 1);
  const SnapshotInfo old_newest = Stored(kQuery, 1);
  clock_.Advance(absl::Hours(2));
  const SnapshotInfo young = Stored(kOtherQuery, 1);
  auto deleted = store_->Prune({absl::Hours(1), int64_t{1} << 30}, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 2);
  EXPECT_FALSE(Exists(old_one.id));
  EXPECT_FALSE(Exists(old_newest.id));  // Too old, though the newest of its query.
  EXPECT_TRUE(Exists(young.id));
}

TEST_P(SnapshotStoreTest, PruneDeletesAPrunedSnapshotsPagesAndCursors) {
  const SnapshotInfo old_one = Stored(kQuery, 2);
  clock_.Advance(absl::Hours(2));
  ASSERT_THAT(store_->Prune({absl::Hours(1), int64_t{1} << 30}, {}), IsOk());
  auto page = store_->ReadPage(old_one.id, 0);
  ASSERT_THAT(page, IsOk());
  EXPECT_FALSE(page->has_value());
  EXPECT_THAT(*store_->Cursors(old_one.id), IsEmpty());
}

TEST_P(SnapshotStoreTest, PruneNeverDeletesASnapshotInProgress) {
  const SnapshotInfo partial = Stored(kQuery, 3, /*complete=*/false, /*page_bytes=*/1000);
  clock_.Advance(absl::Hours(2));
  auto deleted = store_->Prune({absl::Hours(1), /*max_bytes=*/10}, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 0);
  EXPECT_TRUE(Exists(partial.id));
}

TEST_P(SnapshotStoreTest, PruneNeverDeletesAPinnedSnapshot) {
  const SnapshotInfo pinned = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/1000);
  const SnapshotInfo unpinned = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/1000);
  Stored(kQuery, 1);
  clock_.Advance(absl::Hours(2));
  auto deleted = store_->Prune({absl::Hours(1), /*max_bytes=*/10}, {pinned.id});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(Exists(pinned.id));
  EXPECT_FALSE(Exists(unpinned.id));
}

TEST_P(SnapshotStoreTest, PruneDeletesTheOldestCompleteSnapshotsUntilTheTotalFits) {
  const SnapshotInfo oldest = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/400);
  const SnapshotInfo older = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/400);
  const SnapshotInfo newer = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/400);
  const SnapshotInfo newest = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/400);
  // 1600 bytes: the two oldest go, and the 800 left fit.
  auto deleted = store_->Prune({absl::Hours(1), /*max_bytes=*/1000}, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 2);
  EXPECT_FALSE(Exists(oldest.id));
  EXPECT_FALSE(Exists(older.id));
  EXPECT_TRUE(Exists(newer.id));
  EXPECT_TRUE(Exists(newest.id));
}

TEST_P(SnapshotStoreTest, PruneBySizeKeepsTheNewestCompleteSnapshotOfAYoungQuery) {
  const SnapshotInfo old_one = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/400);
  const SnapshotInfo newest = Stored(kQuery, 1, /*complete=*/true, /*page_bytes=*/400);
  auto deleted = store_->Prune({absl::Hours(1), /*max_bytes=*/10}, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 1);
  EXPECT_FALSE(Exists(old_one.id));
  EXPECT_TRUE(Exists(newest.id));  // Still over the size, but the one fresh copy.
}

TEST_P(SnapshotStoreTest, PruneWithinTheLimitsDeletesNothing) {
  const SnapshotInfo first = Stored(kQuery, 1);
  const SnapshotInfo second = Stored(kQuery, 1);
  auto deleted = store_->Prune({absl::Hours(1), int64_t{1} << 30}, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 0);
  EXPECT_TRUE(Exists(first.id));
  EXPECT_TRUE(Exists(second.id));
}

TEST_P(SnapshotStoreTest, ListShowsOneQuerysSnapshotsNewestFirstInPagesByIdAndInProgressToo) {
  const SnapshotInfo first = Stored(kQuery, 1);
  Stored(kOtherQuery, 1);
  const SnapshotInfo second = Stored(kQuery, 2);
  const SnapshotInfo partial = Stored(kQuery, 1, /*complete=*/false);
  auto page = store_->List(kQuery, /*before_id=*/0, /*limit=*/2);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, partial.id);
  EXPECT_FALSE((*page)[0].complete);
  EXPECT_EQ((*page)[1].id, second.id);
  EXPECT_EQ((*page)[1].page_count, 2);
  auto rest = store_->List(kQuery, /*before_id=*/second.id, /*limit=*/2);
  ASSERT_THAT(rest, IsOk());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id, first.id);
}

TEST_P(SnapshotStoreTest, NewestCompleteAtOrBeforeIsTheLastOneCompletedByThatTime) {
  const SnapshotInfo first = Stored(kQuery, 1);
  clock_.Advance(absl::Minutes(10));
  const SnapshotInfo second = Stored(kQuery, 1);
  clock_.Advance(absl::Minutes(10));
  Stored(kOtherQuery, 1);
  Stored(kQuery, 1, /*complete=*/false);
  auto at_second = store_->NewestCompleteAtOrBefore(kQuery, second.completed_at);
  ASSERT_THAT(at_second, IsOk());
  ASSERT_TRUE(at_second->has_value());
  EXPECT_EQ((*at_second)->id, second.id);
  auto just_before = store_->NewestCompleteAtOrBefore(
      kQuery, second.completed_at - absl::Microseconds(1));
  ASSERT_THAT(just_before, IsOk());
  ASSERT_TRUE(just_before->has_value());
  EXPECT_EQ((*just_before)->id, first.id);
  auto before_all = store_->NewestCompleteAtOrBefore(
      kQuery, first.completed_at - absl::Microseconds(1));
  ASSERT_THAT(before_all, IsOk());
  EXPECT_FALSE(before_all->has_value());
}

TEST_P(SnapshotStoreTest, PruneKeepsTheNewestOfEachUtcDayAndTheTwoNewestWithinTheAge) {
  // Three crawls a day for three days, starting on a UTC midnight.
  clock_.Advance(absl::Ceil(clock_.Now() - absl::UnixEpoch(), absl::Hours(24)) -
                 (clock_.Now() - absl::UnixEpoch()));
  std::vector<std::vector<SnapshotInfo>> days(3);
  for (auto& day : days) {
    for (int crawl = 0; crawl < 3; ++crawl) {
      clock_.Advance(absl::Hours(6));
      day.push_back(Stored(kQuery, 1));
    }
    clock_.Advance(absl::Hours(6));
  }
  auto deleted = store_->Prune({absl::Hours(24 * 30), int64_t{1} << 30}, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 5);
  for (int d = 0; d < 2; ++d) {
    EXPECT_FALSE(Exists(days[d][0].id));
    EXPECT_FALSE(Exists(days[d][1].id));
    EXPECT_TRUE(Exists(days[d][2].id));  // The newest of its day.
  }
  EXPECT_FALSE(Exists(days[2][0].id));
  EXPECT_TRUE(Exists(days[2][1].id));  // Among the two newest.
  EXPECT_TRUE(Exists(days[2][2].id));
}

TEST_P(SnapshotStoreTest, PruneKeepsAsManyNewestAsKeepNewestSays) {
  // Five crawls within one UTC day (from a midnight on).
  clock_.Advance(absl::Ceil(clock_.Now() - absl::UnixEpoch(), absl::Hours(24)) -
                 (clock_.Now() - absl::UnixEpoch()));
  std::vector<SnapshotInfo> crawls;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Minutes(1));
    crawls.push_back(Stored(kQuery, 1));
  }
  RetentionLimits limits{absl::Hours(24 * 30), int64_t{1} << 30};
  limits.keep_newest = 3;
  auto deleted = store_->Prune(limits, {});
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 2);
  EXPECT_FALSE(Exists(crawls[0].id));
  EXPECT_FALSE(Exists(crawls[1].id));
  EXPECT_TRUE(Exists(crawls[2].id));
  EXPECT_TRUE(Exists(crawls[3].id));
  EXPECT_TRUE(Exists(crawls[4].id));
}

TEST(SqliteSnapshotStoreInMemory, AnEmptyPathKeepsSnapshotsOnlyUntilTheStoreCloses) {
  FakeClock clock;
  auto store = SqliteSnapshotStore::Open("", &clock);
  ASSERT_THAT(store, IsOk());
  auto info = (*store)->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT((*store)->AppendPage(info->id, 0, "page", ""), IsOk());
  EXPECT_THAT(*(*store)->ReadPage(info->id, 0), Optional(std::string("page")));
  store->reset();
  auto again = SqliteSnapshotStore::Open("", &clock);
  ASSERT_THAT(again, IsOk());
  auto got = (*again)->Get(info->id);
  ASSERT_THAT(got, IsOk());
  EXPECT_FALSE(got->has_value());
}

TEST(SqliteSnapshotStoreOpen, AFileThatCannotBeOpenedIsUnavailableNamingIt) {
  FakeClock clock;
  const std::string path = NewTempDir("snapshots") + "/no/such/dir/snapshots.db";
  EXPECT_THAT(SqliteSnapshotStore::Open(path, &clock),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(path)));
}

// Replicas of a fleet start at once: each creates the tables if missing,
// and none may fail because another is creating them in the same moment.
TEST(PgSnapshotStoreOpen, ReplicasOpeningAFreshDatabaseAtOnceAllSucceed) {
  constexpr int kReplicas = 8;
  for (int round = 0; round < 5; ++round) {
    PgStoreBackend backend;
    FakeClock clock;
    std::vector<absl::Status> opened(kReplicas);
    std::vector<std::thread> replicas;
    for (int i = 0; i < kReplicas; ++i) {
      replicas.emplace_back([&, i] { opened[i] = backend.OpenPg(&clock).status(); });
    }
    for (std::thread& replica : replicas) replica.join();
    for (const absl::Status& status : opened) EXPECT_THAT(status, IsOk());
  }
}

TEST(PgSnapshotStoreOpen, TwoStoresOnOneDatabaseSeeEachOthersSnapshots) {
  PgStoreBackend backend;
  FakeClock clock;
  auto first = backend.OpenPg(&clock);
  auto second = backend.OpenPg(&clock);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  auto info = (*first)->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT((*first)->AppendPage(info->id, 0, "page", "cursor-1"), IsOk());
  EXPECT_THAT((*second)->AppendPage(info->id, 0, "page again", "cursor-x"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("is not waiting for page 0")));
  ASSERT_THAT((*second)->AppendPage(info->id, 1, "last", ""), IsOk());
  auto got = (*first)->Get(info->id);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->complete);
  EXPECT_EQ((*got)->page_count, 2);
  EXPECT_THAT(*(*first)->Cursors(info->id), ElementsAre("cursor-1"));
}

TEST(PgSnapshotStoreReadAhead, ReadersReadSeveralPagesAtOnceWithinTheByteLimit) {
  PgStoreBackend backend;
  FakeClock clock;
  auto store = backend.OpenPg(&clock);
  ASSERT_THAT(store, IsOk());
  const SnapshotStore::ReadAhead read_ahead = (*store)->read_ahead();
  EXPECT_EQ(read_ahead.max_pages, kPgReadAheadPages);
  EXPECT_GT(read_ahead.max_pages, 1);
  EXPECT_EQ(read_ahead.max_bytes, kPgReadAheadBytes);
}

// Two replicas: one stores pages as fast as it can while the other reads
// them in batches of at most 4 from where its last batch ended, as a
// follower's readers do. Every page arrives once, in order, with its bytes.
TEST(PgSnapshotStoreReadAhead, BatchesReadWhilePagesAreStoredHoldEveryPageOnceInOrder) {
  constexpr int64_t kPages = 300;
  PgStoreBackend backend;
  FakeClock clock;
  auto writer = backend.OpenPg(&clock);
  auto reader = backend.OpenPg(&clock);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT(reader, IsOk());
  auto info = (*writer)->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  std::thread crawl([&] { AppendBatchPages(**writer, info->id, 0, kPages, /*complete=*/true); });
  std::vector<std::string> read;
  int batches = 0;
  while (static_cast<int64_t>(read.size()) < kPages) {
    auto batch = (*reader)->ReadPages(info->id, static_cast<int64_t>(read.size()), 4,
                                      int64_t{1} << 20);
    ASSERT_THAT(batch, IsOk());
    ASSERT_LE(batch->size(), 4u);
    ++batches;
    for (std::string& page : *batch) read.push_back(std::move(page));
  }
  crawl.join();
  ASSERT_EQ(static_cast<int64_t>(read.size()), kPages);
  for (int64_t seq = 0; seq < kPages; ++seq) {
    ASSERT_EQ(read[seq], BatchPage(seq)) << "page " << seq;
  }
  // Nothing more after the last page.
  auto after = (*reader)->ReadPages(info->id, kPages, 4, int64_t{1} << 20);
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(*after, IsEmpty());
  EXPECT_GE(batches, kPages / 4);
}

// Schema version 3: pages are stored uncompressed (no pglz on every read).
TEST(PgSnapshotStoreOpen, PagesAreStoredUncompressed) {
  PgStoreBackend backend;
  FakeClock clock;
  auto store = backend.OpenPg(&clock);
  ASSERT_THAT(store, IsOk());
  auto info = (*store)->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  // Compresses to almost nothing, were it compressed.
  const std::string page(100000, 'a');
  ASSERT_THAT((*store)->AppendPage(info->id, 0, page, ""), IsOk());
  auto db = PgDb::Connect(backend.url());
  ASSERT_THAT(db, IsOk());
  auto storage = (*db)->Query(
      "SELECT attstorage FROM pg_attribute WHERE attrelid = 'snapshot_pages'::regclass "
      "AND attname = 'page'");
  ASSERT_THAT(storage, IsOk());
  ASSERT_EQ(storage->rows.size(), 1u);
  EXPECT_EQ(storage->rows[0].Text(0), "e");
  auto stored = (*db)->Query("SELECT pg_column_size(page) FROM snapshot_pages");
  ASSERT_THAT(stored, IsOk());
  ASSERT_EQ(stored->rows.size(), 1u);
  EXPECT_GE(stored->rows[0].Int(0), 100000);
}

TEST(PgSnapshotStoreLostDatabase, IsUnavailableAndTheStoreWorksAgainOnceItIsBack) {
  PgStoreBackend backend;
  FakeClock clock;
  auto store = backend.OpenPg(&clock);
  ASSERT_THAT(store, IsOk());
  auto info = (*store)->Create(kQuery);
  ASSERT_THAT(info, IsOk());
  PostgresServer* server = PostgresEnvironment::server();
  ASSERT_NE(server, nullptr);
  ASSERT_THAT(server->Stop(), IsOk());
  EXPECT_THAT((*store)->AppendPage(info->id, 0, "page", ""),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server->Start(), IsOk());
  EXPECT_THAT((*store)->AppendPage(info->id, 0, "page", ""), IsOk());
  EXPECT_TRUE((*(*store)->Get(info->id))->complete);
}

}  // namespace
}  // namespace followgate
