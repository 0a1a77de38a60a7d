#pragma once
// The fault suite's checker: reads what landed in a topic and compares it with the events the
// test appended. Events are numbered n = 0..expected-1, appended in order with data
// {"n": n, "k": "<n % keys>"} and keyed by "k", so key k carries k, k+keys, k+2*keys, ...
#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kafka.hpp"

namespace sinkhost::test {

struct DeliveryCheck {
  std::size_t expected = 0;
  std::size_t received = 0;      // messages in the topic
  std::size_t distinct = 0;      // different events among them
  std::size_t duplicates = 0;    // received - distinct
  std::size_t missing = 0;       // expected events never received
  std::size_t out_of_order = 0;  // new events that came before an earlier event of their key
  std::string first_problem;

  bool lossless_and_ordered() const { return missing == 0 && out_of_order == 0 && first_problem.empty(); }
  std::string summary() const {
    return "expected=" + std::to_string(expected) + " received=" + std::to_string(received) +
           " distinct=" + std::to_string(distinct) + " duplicates=" + std::to_string(duplicates) +
           " missing=" + std::to_string(missing) + " out_of_order=" + std::to_string(out_of_order) +
           (first_problem.empty() ? "" : " first_problem=" + first_problem);
  }
};

// At-least-once with order per key: in each partition (read in offset order) an event of key k
// is either one seen before (a duplicate from a resend) or exactly the next one of its key.
inline DeliveryCheck check_delivery(std::vector<ConsumedMessage> messages, std::size_t expected, int keys) {
  DeliveryCheck check;
  check.expected = expected;
  check.received = messages.size();
  std::sort(messages.begin(), messages.end(), [](const auto& a, const auto& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  std::vector<bool> seen(expected, false);
  std::vector<std::size_t> next(static_cast<std::size_t>(keys));
  for (int k = 0; k < keys; ++k) next[static_cast<std::size_t>(k)] = static_cast<std::size_t>(k);
  auto problem = [&check](std::string text) {
    if (check.first_problem.empty()) check.first_problem = std::move(text);
  };
  for (const auto& m : messages) {
    auto value = nlohmann::json::parse(m.value, nullptr, false);
    if (!value.is_object() || !value.contains("n") || !value["n"].is_number_unsigned() ||
        value["n"].get<std::size_t>() >= expected) {
      problem("unexpected value '" + m.value.substr(0, 80) + "'");
      continue;
    }
    const auto n = value["n"].get<std::size_t>();
    const auto k = n % static_cast<std::size_t>(keys);
    if (!m.has_key || m.key != std::to_string(k)) problem("event " + std::to_string(n) + " has key '" + m.key + "'");
    if (seen[n]) {
      ++check.duplicates;
      continue;
    }
    seen[n] = true;
    ++check.distinct;
    if (n == next[k]) {
      next[k] += static_cast<std::size_t>(keys);
    } else {
      ++check.out_of_order;
      problem("event " + std::to_string(n) + " arrived while key " + std::to_string(k) + " waited for " +
              std::to_string(next[k]));
      next[k] = std::max(next[k], n + static_cast<std::size_t>(keys));
    }
  }
  check.missing = expected - check.distinct;
  return check;
}

}  // namespace sinkhost::test
