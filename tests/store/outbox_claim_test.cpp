// Background work shared by several nodes, on every store: outbox claims with leases and a
// persisted back-off, counts without loading rows, the latest definitions version.

#include "store_fixture.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace teamflow;
using namespace teamflow::testing;
using engine::ErrorCode;
using engine::OutboxStatus;

namespace {

std::set<std::int64_t> ids_of(const std::vector<engine::OutboxRow>& rows) {
    std::set<std::int64_t> out;
    for (const engine::OutboxRow& r : rows) {
        out.insert(r.id);
    }
    return out;
}

class OutboxClaimTest : public StoreTest {
protected:
    /// A second claimer: another store on the same database (another node) for durable stores,
    /// the same store otherwise.
    engine::Store& other() {
        if (!GetParam().durable) {
            return *store_;
        }
        if (!other_) {
            auto s = GetParam().reopen(location_);
            EXPECT_TRUE(s.ok()) << s.error().to_string();
            other_ = std::move(s.value());
            other_->bind(defs_);
        }
        return *other_;
    }
    void TearDown() override {
        other_.reset();
        StoreTest::TearDown();
    }
    /// Four outbox rows: a notification and a webhook for each of two submitted deals.
    void four_rows() {
        ASSERT_TRUE(go(deal("A"), "Submit").ok());
        ASSERT_TRUE(go(deal("B"), "Submit").ok());
        ASSERT_EQ(store_->outbox(OutboxStatus::Pending).size(), 4u);
    }
    std::unique_ptr<engine::Store> other_;
};

TEST_P(OutboxClaimTest, TwoClaimersNeverGetTheSameRowWhileTheLeaseHolds) {
    four_rows();
    const auto mine = store_->claim_outbox(1'000, 3, 5'000);
    ASSERT_EQ(mine.size(), 3u);
    EXPECT_LT(mine[0].id, mine[1].id); // oldest first
    const auto theirs = other().claim_outbox(1'000, 10, 5'000);
    ASSERT_EQ(theirs.size(), 1u);
    EXPECT_FALSE(ids_of(mine).count(theirs[0].id));
    // Still leased: nobody gets anything until 6,000.
    EXPECT_TRUE(store_->claim_outbox(5'999, 10, 5'000).empty());
    EXPECT_TRUE(other().claim_outbox(5'999, 10, 5'000).empty());

    // One delivered, one back to pending with a back-off until 20,000.
    ASSERT_TRUE(store_->record_outbox_attempt(mine[0].id, OutboxStatus::Delivered, "", 0).ok());
    ASSERT_TRUE(other()
                    .record_outbox_attempt(theirs[0].id, OutboxStatus::Pending, "HTTP 503", 20'000)
                    .ok());
    // The lease ran out: the two rows whose attempts were never recorded come back; the
    // delivered one never, the one waiting for its back-off not yet.
    const auto back = other().claim_outbox(6'000, 10, 1'000);
    EXPECT_EQ(ids_of(back), (std::set<std::int64_t>{mine[1].id, mine[2].id}));
    // At 20,000 the backed-off row is due again, with its attempt and error kept.
    const auto later = store_->claim_outbox(20'000, 10, 1'000);
    ASSERT_EQ(later.size(), 3u);
    const auto it = std::find_if(later.begin(), later.end(),
                                 [&](const engine::OutboxRow& r) { return r.id == theirs[0].id; });
    ASSERT_NE(it, later.end());
    EXPECT_EQ(it->attempts, 1);
    EXPECT_EQ(it->last_error, "HTTP 503");
    EXPECT_EQ(it->status, OutboxStatus::Pending);
}

TEST_P(OutboxClaimTest, AttemptsOnRowsNoLongerPendingAreRefused) {
    four_rows();
    const auto rows = store_->claim_outbox(1'000, 2, 60'000);
    ASSERT_EQ(rows.size(), 2u);
    ASSERT_TRUE(store_->record_outbox_attempt(rows[0].id, OutboxStatus::Failed, "refused", 0).ok());
    ASSERT_TRUE(store_->record_outbox_attempt(rows[1].id, OutboxStatus::Delivered, "", 0).ok());
    // Another node recording the same delivery again: a conflict, nothing changes.
    auto again = other().record_outbox_attempt(rows[1].id, OutboxStatus::Delivered, "", 0);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
    auto missing = store_->record_outbox_attempt(999'999, OutboxStatus::Delivered, "", 0);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    const auto failed = store_->outbox(OutboxStatus::Failed);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].attempts, 1);
    EXPECT_EQ(failed[0].last_error, "refused");
    const auto delivered = store_->outbox(OutboxStatus::Delivered);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].attempts, 1);
    // Counts without loading rows agree with the listings.
    EXPECT_EQ(store_->count_outbox(OutboxStatus::Pending), 2);
    EXPECT_EQ(store_->count_outbox(OutboxStatus::Delivered), 1);
    EXPECT_EQ(store_->count_outbox(OutboxStatus::Failed), 1);
}

TEST_P(OutboxClaimTest, ConcurrentClaimersDeliverEveryRowOnce) {
    for (int k = 0; k < 12; ++k) {
        ASSERT_TRUE(go(deal("D" + std::to_string(k)), "Submit").ok());
    }
    const std::size_t total = store_->outbox(OutboxStatus::Pending).size();
    ASSERT_EQ(total, 24u);
    std::mutex mu;
    std::map<std::int64_t, int> seen;
    std::vector<std::string> errors;
    const auto claimer = [&](engine::Store& s) {
        while (true) {
            const auto rows = s.claim_outbox(1'000, 2, 600'000);
            if (rows.empty()) {
                return;
            }
            for (const engine::OutboxRow& r : rows) {
                auto st = s.record_outbox_attempt(r.id, OutboxStatus::Delivered, "", 0);
                std::lock_guard lock(mu);
                ++seen[r.id];
                if (!st.ok()) {
                    errors.push_back(st.error().to_string());
                }
            }
        }
    };
    engine::Store& second = other();
    std::thread t1([&] { claimer(*store_); });
    std::thread t2([&] { claimer(second); });
    std::thread t3([&] { claimer(*store_); });
    t1.join();
    t2.join();
    t3.join();
    EXPECT_TRUE(errors.empty()) << errors.front();
    EXPECT_EQ(seen.size(), total);
    for (const auto& [id, n] : seen) {
        EXPECT_EQ(n, 1) << "outbox row " << id << " was claimed " << n << " times";
    }
    EXPECT_EQ(store_->count_outbox(OutboxStatus::Delivered), static_cast<std::int64_t>(total));
    EXPECT_EQ(store_->count_outbox(OutboxStatus::Pending), 0);
}

TEST_P(OutboxClaimTest, BackOffSurvivesReopen) {
    if (!GetParam().durable) {
        GTEST_SKIP() << "the memory store does not survive closing";
    }
    four_rows();
    const auto rows = store_->claim_outbox(1'000, 1, 60'000);
    ASSERT_EQ(rows.size(), 1u);
    ASSERT_TRUE(
        store_->record_outbox_attempt(rows[0].id, OutboxStatus::Pending, "timed out", 100'000).ok());
    const auto claimed = store_->claim_outbox(1'000, 10, 60'000); // the three others, leased
    ASSERT_EQ(claimed.size(), 3u);
    reopen();
    // The lease and the back-off are in the store, not in the process that set them.
    EXPECT_TRUE(store_->claim_outbox(2'000, 10, 1'000).empty());
    EXPECT_EQ(ids_of(store_->claim_outbox(61'000, 10, 1'000)), ids_of(claimed));
    const auto due = store_->claim_outbox(200'000, 10, 1'000);
    EXPECT_EQ(due.size(), 4u);
}

TEST_P(OutboxClaimTest, CountsAndLatestVersion) {
    const auto id = deal("Slow");
    ASSERT_TRUE(go(id, "Submit").ok());
    const std::int64_t now = clock_.now();
    EXPECT_EQ(store_->count_due_timers(now), 0);
    const std::int64_t later = now + 3 * engine::seconds_per_day;
    EXPECT_EQ(store_->count_due_timers(later),
              static_cast<std::int64_t>(store_->due_timers(later, 1000).size()));
    EXPECT_EQ(store_->count_due_timers(later), 2);
    EXPECT_EQ(store_->count_outbox(OutboxStatus::Pending), 2);
    const auto latest = store_->latest_definitions();
    EXPECT_EQ(store_->latest_definitions_version(), latest ? latest->version : 0);
}

std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info) {
    return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Stores, OutboxClaimTest, ::testing::ValuesIn(store_factories()),
                         factory_name);

} // namespace
