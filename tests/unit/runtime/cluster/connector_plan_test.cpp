#include "sinkhost/runtime/cluster/connector_plan.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "sinkhost/runtime/cluster/slots.hpp"

namespace sinkhost::runtime::cluster {
namespace {

constexpr int kSlots = 4;

// The first id "c<k>" (k = 0, 1, ...) whose slot is `slot`, skipping the first `skip` of them.
std::string id_in_slot(int slot, int skip = 0) {
  for (int k = 0;; ++k) {
    std::string id = "c" + std::to_string(k);
    if (slot_of(id, kSlots) == slot && skip-- == 0) return id;
  }
}

const std::string a0 = id_in_slot(0);
const std::string b0 = id_in_slot(0, 1);
const std::string a1 = id_in_slot(1);
const std::string a2 = id_in_slot(2);

TEST(PlanConnectors, StartsEveryConnectorOfTheOwnedSlotsAndNoOther) {
  const ConnectorConfigs configs{{a0, "{0}"}, {b0, "{0b}"}, {a1, "{1}"}, {a2, "{2}"}};
  const auto plan = plan_connectors({0, 2}, kSlots, configs, {});
  EXPECT_TRUE(plan.stop.empty());
  ConnectorPlan expected;
  for (const auto& [id, config] : configs) {
    if (id != a1) expected.start.emplace_back(id, config);
  }
  EXPECT_EQ(plan, expected);
}

TEST(PlanConnectors, WhatRunsAsConfiguredOnAnOwnedSlotIsLeftAlone) {
  const ConnectorConfigs configs{{a0, "{0}"}, {a1, "{1}"}};
  EXPECT_TRUE(plan_connectors({0, 1}, kSlots, configs, configs).empty());
}

TEST(PlanConnectors, StopsWhatRunsOnASlotNoLongerOwned) {
  const ConnectorConfigs configs{{a0, "{0}"}, {a1, "{1}"}};
  const auto plan = plan_connectors({1}, kSlots, configs, configs);
  EXPECT_EQ(plan, (ConnectorPlan{{a0}, {}}));
}

TEST(PlanConnectors, RestartsAConnectorWhoseConfigurationChanged) {
  const auto plan = plan_connectors({0}, kSlots, {{a0, "{new}"}}, {{a0, "{old}"}});
  EXPECT_EQ(plan, (ConnectorPlan{{a0}, {{a0, "{new}"}}}));
}

TEST(PlanConnectors, StopsAConnectorErasedFromTheTable) {
  const auto plan = plan_connectors({0, 1}, kSlots, {{a1, "{1}"}}, {{a0, "{0}"}, {a1, "{1}"}});
  EXPECT_EQ(plan, (ConnectorPlan{{a0}, {}}));
}

TEST(PlanConnectors, NoSlotsRunNothing) {
  const ConnectorConfigs configs{{a0, "{0}"}, {a1, "{1}"}};
  const auto plan = plan_connectors({}, kSlots, configs, configs);
  EXPECT_EQ(plan.stop, (std::vector<std::string>{std::min(a0, a1), std::max(a0, a1)}));
  EXPECT_TRUE(plan.start.empty());
}

TEST(Owns, IsTheSlotOfTheConnectorId) {
  EXPECT_TRUE(owns({0}, kSlots, a0));
  EXPECT_TRUE(owns({0}, kSlots, b0));
  EXPECT_FALSE(owns({0}, kSlots, a1));
  EXPECT_FALSE(owns({}, kSlots, a0));
}

TEST(ConnectorsInSlots, AreTheRunningConnectorsOfTheRevokedSlots) {
  const ConnectorConfigs running{{a0, "{0}"}, {b0, "{0b}"}, {a1, "{1}"}, {a2, "{2}"}};
  auto revoked = connectors_in_slots({0, 2}, kSlots, running);
  std::vector<std::string> expected{a0, b0, a2};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(revoked, expected);
  EXPECT_TRUE(connectors_in_slots({3}, kSlots, running).empty());
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
