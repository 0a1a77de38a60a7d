#include "pipeline/commit_policy.hpp"

#include <gtest/gtest.h>

#include "../fakes.hpp"

namespace sinkhost::runtime {
namespace {

using Clock = CommitPolicy::Clock;
using namespace std::chrono_literals;
SourcePosition P(std::uint64_t v) { return SourcePosition{v, v}; }

struct PolicyTest : ::testing::Test {
  CommitPolicy make(CommitPolicy::Options options, SourcePosition committed = {}) {
    return CommitPolicy(
        options, "c", store, committed,
        [this](std::optional<connector::Error> e) { conditions.push_back(e.has_value()); },
        [this](SourcePosition p) { published.push_back(p); }, t0);
  }
  test::FakeCheckpointStore store;
  std::vector<bool> conditions;
  std::vector<SourcePosition> published;
  Clock::time_point t0 = Clock::now();
};

TEST_F(PolicyTest, SavesOnceTheThresholdOfAcknowledgedRecordsIsReached) {
  auto policy = make({.enabled = true, .interval = 1h, .records_threshold = 3});
  policy.acknowledged(2);
  EXPECT_FALSE(policy.maybe_save(P(2), t0 + 1ms));
  EXPECT_FALSE(store.last());
  policy.acknowledged(1);
  EXPECT_FALSE(policy.maybe_save(P(3), t0 + 2ms));
  EXPECT_EQ(store.last(), P(3));
  EXPECT_EQ(policy.committed(), P(3));
  EXPECT_EQ(published, std::vector<SourcePosition>{P(3)});
}

TEST_F(PolicyTest, SavesWhenTheIntervalPassedAndWakesTheThreadThen) {
  auto policy = make({.enabled = true, .interval = 100ms, .records_threshold = 1000});
  EXPECT_FALSE(policy.deadline(P(0))) << "nothing to save: no need to wake";
  ASSERT_TRUE(policy.deadline(P(1)));
  EXPECT_EQ(*policy.deadline(P(1)), t0 + 100ms);
  policy.acknowledged(1);
  EXPECT_FALSE(policy.maybe_save(P(1), t0 + 99ms));
  EXPECT_FALSE(store.last());
  EXPECT_FALSE(policy.maybe_save(P(1), t0 + 100ms));
  EXPECT_EQ(store.last(), P(1));
}

TEST_F(PolicyTest, DisabledAutocommitSavesOnlyWhenAsked) {
  auto policy = make({.enabled = false, .interval = 1ms, .records_threshold = 1});
  policy.acknowledged(10);
  EXPECT_FALSE(policy.deadline(P(10)));
  EXPECT_FALSE(policy.maybe_save(P(10), t0 + 1h));
  EXPECT_FALSE(store.last());
  EXPECT_FALSE(policy.save(P(10)));
  EXPECT_EQ(store.last(), P(10));
}

TEST_F(PolicyTest, ASaveOfTheSamePositionIsNotRepeated) {
  auto policy = make({}, P(5));
  EXPECT_FALSE(policy.save(P(5)));
  EXPECT_TRUE(store.saved().empty());
}

TEST_F(PolicyTest, AFullDiskDelaysTheSaveAndReportsTheConditionOnce) {
  auto policy = make({.enabled = true, .interval = 1h, .records_threshold = 1});
  store.fail_with(connector::make_error(connector::ErrorCode::unavailable, "disk full"));
  policy.acknowledged(1);
  EXPECT_FALSE(policy.maybe_save(P(1), t0)) << "not an error: delivery goes on";
  policy.acknowledged(1);
  EXPECT_FALSE(policy.maybe_save(P(2), t0));
  EXPECT_TRUE(policy.failing());
  EXPECT_EQ(policy.committed(), P(0)) << "the stored checkpoint only lags";
  EXPECT_EQ(conditions, std::vector<bool>{true}) << "reported once";
  store.fail_with(std::nullopt);
  policy.acknowledged(1);
  EXPECT_FALSE(policy.maybe_save(P(3), t0));
  EXPECT_EQ(store.last(), P(3));
  EXPECT_EQ(conditions, (std::vector<bool>{true, false})) << "and cleared";
}

TEST_F(PolicyTest, OtherStoreErrorsStopTheConnector) {
  auto policy = make({});
  store.fail_with(connector::make_error(connector::ErrorCode::internal, "corrupt"));
  auto error = policy.save(P(1));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message, "corrupt");
}

TEST(CommitPolicyOptions, ComeFromKurrentDbsAutocommitSettings) {
  auto o = CommitPolicy::Options::from_settings(
      {{"autocommit:enabled", "false"}, {"autocommit:interval", "250"}, {"autocommit:recordsThreshold", "7"}});
  EXPECT_FALSE(o.enabled);
  EXPECT_EQ(o.interval, 250ms);
  EXPECT_EQ(o.records_threshold, 7u);
}

}  // namespace
}  // namespace sinkhost::runtime
