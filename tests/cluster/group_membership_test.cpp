// GroupMembership against the real test broker: how slots spread over the hosts of a cluster
// and move when a host joins or leaves, as the connectors of those slots would.
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kafka.hpp"
#include "process.hpp"
#include "sinkhost/runtime/cluster/group_membership.hpp"
#include "sinkhost/runtime/cluster/slots.hpp"

namespace sinkhost::runtime::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kSlots = 16;

// What one host's listener heard, in order, with when each call returned.
class Recorder {
 public:
  struct Event {
    bool assigned;
    SlotChange change;
    Clock::time_point returned;
  };

  // `revoke_pause`: how long the revoked call takes, as stopping connectors would.
  MembershipListener listener(std::chrono::milliseconds revoke_pause = 0ms) {
    return {[this](const SlotChange& change) { record(true, change); },
            [this, revoke_pause](const SlotChange& change) {
              std::this_thread::sleep_for(revoke_pause);
              record(false, change);
            }};
  }

  std::vector<Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  void record(bool assigned, const SlotChange& change) {
    std::lock_guard lock(mutex_);
    events_.push_back({assigned, change, Clock::now()});
  }
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

std::set<int> all_slots() {
  std::set<int> slots;
  for (int i = 0; i < kSlots; ++i) slots.insert(i);
  return slots;
}

std::set<int> slots_in(const std::vector<Recorder::Event>& events, bool assigned, std::size_t from = 0) {
  std::set<int> slots;
  for (std::size_t i = from; i < events.size(); ++i) {
    if (events[i].assigned == assigned) slots.insert(events[i].change.slots.begin(), events[i].change.slots.end());
  }
  return slots;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

class KafkaGroupMembership : public ::testing::Test {
 protected:
  GroupMembershipOptions options_for(const std::string& host, int slots = kSlots) const {
    GroupMembershipOptions options;
    options.client.bootstrap_servers = test::kafka_bootstrap();
    options.group_id = group_;
    options.topic = topic_;
    options.slots = slots;
    options.host_id = host;
    // The broker's smallest session timeout; heartbeats often, so rebalances start quickly.
    options.session_timeout = 6000ms;
    options.heartbeat_interval = 500ms;
    return options;
  }

  std::unique_ptr<GroupMembership> join(const std::string& host, Recorder& recorder,
                                        std::chrono::milliseconds revoke_pause = 0ms) {
    auto membership = GroupMembership::join(options_for(host), recorder.listener(revoke_pause));
    EXPECT_TRUE(membership.ok()) << membership.error().message;
    return membership.ok() ? std::move(*membership) : nullptr;
  }

  // Joins host-a and waits until it holds every slot.
  std::unique_ptr<GroupMembership> join_alone(Recorder& recorder, std::chrono::milliseconds revoke_pause = 0ms) {
    auto a = join("host-a", recorder, revoke_pause);
    if (!a) return nullptr;
    EXPECT_TRUE(wait_until([&] { return a->slots().size() == kSlots; }, 20s))
        << "host-a holds " << a->slots().size() << " slots";
    return a;
  }

  std::string topic_ = test::unique_topic("cluster-slots");
  std::string group_ = test::unique_topic("cluster-group");
};

TEST_F(KafkaGroupMembership, TheOnlyHostGetsEverySlot) {
  Recorder recorder;
  auto a = join_alone(recorder);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->slots(), all_slots());
  EXPECT_GE(a->generation(), 1);
  EXPECT_FALSE(a->member_id().empty());
  const auto events = recorder.events();
  EXPECT_EQ(slots_in(events, true), all_slots());
  EXPECT_TRUE(slots_in(events, false).empty());
  for (const auto& event : events) EXPECT_EQ(event.change.generation, a->generation());
}

TEST_F(KafkaGroupMembership, AJoiningHostTakesHalfTheSlotsAndOnlyThoseTheFirstGaveUp) {
  Recorder recorder_a;
  Recorder recorder_b;
  // host-a takes a second to give slots up, as stopping their connectors would.
  auto a = join_alone(recorder_a, 1000ms);
  ASSERT_TRUE(a);
  const auto generation_alone = a->generation();
  const auto events_alone = recorder_a.events().size();

  auto b = join("host-b", recorder_b);
  ASSERT_TRUE(b);
  const auto split = [&] {
    const auto slots_a = a->slots();
    const auto slots_b = b->slots();
    return slots_a.size() + slots_b.size() == kSlots && slots_a.size() == kSlots / 2 && slots_b.size() == kSlots / 2 &&
           a->generation() == b->generation();
  };
  ASSERT_TRUE(wait_until(split, 30s)) << "host-a holds " << a->slots().size() << ", host-b " << b->slots().size();

  // Cooperative: host-a gave up exactly what host-b got, and kept the rest without giving it up
  // and taking it back.
  const auto events_a = recorder_a.events();
  const auto revoked_from_a = slots_in(events_a, false, events_alone);
  EXPECT_EQ(revoked_from_a, b->slots());
  EXPECT_TRUE(slots_in(events_a, true, events_alone).empty()) << "host-a was assigned slots again";
  std::set<int> kept = all_slots();
  for (int slot : revoked_from_a) kept.erase(slot);
  EXPECT_EQ(a->slots(), kept);
  EXPECT_EQ(slots_in(recorder_b.events(), true), b->slots());
  EXPECT_GT(a->generation(), generation_alone);

  // host-b got the slots only after host-a's revoked call returned.
  Clock::time_point a_gave_up{};
  for (std::size_t i = events_alone; i < events_a.size(); ++i) a_gave_up = std::max(a_gave_up, events_a[i].returned);
  for (const auto& event : recorder_b.events()) EXPECT_GE(event.returned, a_gave_up);
}

TEST_F(KafkaGroupMembership, ALeavingHostHandsItsSlotsBackAtOnce) {
  Recorder recorder_a;
  Recorder recorder_b;
  auto a = join_alone(recorder_a);
  ASSERT_TRUE(a);
  auto b = join("host-b", recorder_b);
  ASSERT_TRUE(b);
  ASSERT_TRUE(wait_until([&] { return b->slots().size() == kSlots / 2 && a->slots().size() == kSlots / 2; }, 30s));
  const auto slots_of_b = b->slots();
  const auto generation_split = a->generation();
  const auto events_before = recorder_a.events().size();

  const auto leaving = Clock::now();
  b->close();
  // Well inside the 6 s session timeout: the coordinator heard host-b leave.
  ASSERT_TRUE(wait_until([&] { return a->slots().size() == kSlots; }, 5s))
      << "host-a holds " << a->slots().size() << " slots "
      << std::chrono::duration<double>(Clock::now() - leaving).count() << " s after host-b left";
  std::printf("CLUSTER-RESULT handover after a clean leave: %.2f s\n",
              std::chrono::duration<double>(Clock::now() - leaving).count());
  EXPECT_EQ(slots_in(recorder_a.events(), true, events_before), slots_of_b);
  EXPECT_GT(a->generation(), generation_split);
  // host-b gave up every slot when it left, and none was lost.
  const auto events_b = recorder_b.events();
  EXPECT_EQ(slots_in(events_b, false), slots_of_b);
  for (const auto& event : events_b) EXPECT_FALSE(event.change.lost);
  EXPECT_TRUE(b->slots().empty());
  b->close();  // again: nothing happens
}

// host-b in a child process, so that it can be paused (SIGSTOP) as a host cut off from the
// broker would be: it joins, then writes one line per listener call to `fd`
// ("assigned 0 3 5" / "revoked lost 0 3 5" / "revoked kept 0 3 5") until it is killed.
[[noreturn]] void run_paused_host(const GroupMembershipOptions& options, int fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const auto report = [fd](const std::string& what, const SlotChange& change) {
    std::string line = what;
    for (int slot : change.slots) line += " " + std::to_string(slot);
    line += "\n";
    if (::write(fd, line.data(), line.size()) < 0) ::_exit(3);
  };
  MembershipListener listener{
      [&](const SlotChange& change) { report("assigned", change); },
      [&](const SlotChange& change) { report(change.lost ? "revoked lost" : "revoked kept", change); }};
  auto membership = GroupMembership::join(options, listener);
  if (!membership.ok()) ::_exit(2);
  for (;;) std::this_thread::sleep_for(1s);
}

// The lines the paused host wrote, read until `done` says enough or `timeout` passed.
std::vector<std::string> read_lines(int fd, std::string& buffer, const std::function<bool(const std::string&)>& done,
                                    std::chrono::milliseconds timeout) {
  std::vector<std::string> lines;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n')) {
      lines.push_back(buffer.substr(0, end));
      buffer.erase(0, end + 1);
      if (done(lines.back())) return lines;
    }
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    char chunk[512];
    const auto got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(got));
  }
  return lines;
}

std::set<int> slots_on_line(const std::string& line) {
  std::set<int> slots;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) slots.insert(std::stoi(word));
  }
  return slots;
}

TEST_F(KafkaGroupMembership, AHostPausedPastItsSessionLosesItsSlotsAndHearsSoWhenItResumes) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  // Forked before this process starts any librdkafka thread.
  const pid_t paused = ::fork();
  ASSERT_GE(paused, 0);
  if (paused == 0) {
    ::close(pipe_fds[0]);
    run_paused_host(options_for("host-b"), pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  const int from_b = pipe_fds[0];
  struct Reaper {
    pid_t pid;
    int fd;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(fd);
    }
  } reaper{paused, from_b};

  Recorder recorder_a;
  auto a = join("host-a", recorder_a);
  ASSERT_TRUE(a);
  std::string buffer;
  std::set<int> slots_of_b;
  // host-b may join before host-a (the child starts first): then it holds every slot and gives
  // half back, so its share is what it was assigned less what it gave up.
  const auto split = [&](const std::string& line) {
    const bool assigned = line.rfind("assigned", 0) == 0;
    for (int slot : slots_on_line(line)) {
      if (assigned) {
        slots_of_b.insert(slot);
      } else {
        slots_of_b.erase(slot);
      }
    }
    return slots_of_b.size() == kSlots / 2;
  };
  read_lines(from_b, buffer, split, 30s);
  ASSERT_EQ(slots_of_b.size(), static_cast<std::size_t>(kSlots / 2));
  ASSERT_TRUE(wait_until([&] { return a->slots().size() == kSlots / 2; }, 10s));
  const auto generation_split = a->generation();

  // host-b stops answering: after its session timeout (6 s) the group gives its slots to host-a.
  ASSERT_EQ(::kill(paused, SIGSTOP), 0);
  const auto paused_at = Clock::now();
  ASSERT_TRUE(wait_until([&] { return a->slots().size() == kSlots; }, 20s))
      << "host-a holds " << a->slots().size() << " slots";
  const double failover = std::chrono::duration<double>(Clock::now() - paused_at).count();
  std::printf("CLUSTER-RESULT slots back after a host stopped answering: %.2f s (session timeout 6 s)\n", failover);
  EXPECT_GE(failover, 4.0) << "the slots moved before the session could have expired";
  EXPECT_GT(a->generation(), generation_split);

  // When host-b runs again, the first thing its listener hears is that its slots are lost:
  // another host may run them already (the moment fencing must cover, docs/architecture.md).
  ASSERT_EQ(::kill(paused, SIGCONT), 0);
  const auto resumed_at = Clock::now();
  auto lines = read_lines(
      from_b, buffer, [](const std::string& line) { return line.rfind("revoked", 0) == 0; }, 20s);
  ASSERT_FALSE(lines.empty()) << "host-b reported nothing after it resumed";
  EXPECT_EQ(lines.front().rfind("revoked lost", 0), 0U) << lines.front();
  EXPECT_EQ(slots_on_line(lines.back()), slots_of_b);
  std::printf("CLUSTER-RESULT a resumed host heard its slots were lost after %.2f s\n",
              std::chrono::duration<double>(Clock::now() - resumed_at).count());
  EXPECT_EQ(a->slots().size(), static_cast<std::size_t>(kSlots)) << "host-a keeps what it took over";
}

TEST_F(KafkaGroupMembership, WorksOverSaslWithTheClustersCredentials) {
  auto env = test::kafka_env();
  auto options = options_for("host-a");
  options.client = KafkaClientConfig{env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"],
                                     {{"security.protocol", "SASL_PLAINTEXT"},
                                      {"sasl.mechanism", "SCRAM-SHA-256"},
                                      {"sasl.username", env["KAFKA_SASL_USERNAME"]},
                                      {"sasl.password", env["KAFKA_SASL_PASSWORD"]}}};
  Recorder recorder;
  auto a = GroupMembership::join(options, recorder.listener());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(wait_until([&] { return (*a)->slots().size() == kSlots; }, 20s));
}

TEST_F(KafkaGroupMembership, RefusesASlotCountOtherThanTheClustersAtOnce) {
  Recorder recorder;
  auto a = join("host-a", recorder);
  ASSERT_TRUE(a);
  const auto started = Clock::now();
  auto other = GroupMembership::join(options_for("host-b", 8), recorder.listener());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, connector::ErrorCode::failed_precondition);
  EXPECT_NE(other.error().message.find("has 16 partitions, but 8 slots"), std::string::npos) << other.error().message;
  EXPECT_LT(Clock::now() - started, 10s);
}

TEST_F(KafkaGroupMembership, RefusesOptionsWithoutAGroupOrSlots) {
  Recorder recorder;
  auto options = options_for("host-a");
  options.group_id.clear();
  auto no_group = GroupMembership::join(options, recorder.listener());
  ASSERT_FALSE(no_group.ok());
  EXPECT_EQ(no_group.error().code, connector::ErrorCode::invalid_argument);
  options = options_for("host-a", 0);
  auto no_slots = GroupMembership::join(options, recorder.listener());
  ASSERT_FALSE(no_slots.ok());
  EXPECT_NE(no_slots.error().message.find("at least 1"), std::string::npos) << no_slots.error().message;
}

// The slot of a connector is the partition Kafka's partitioner picks for its id (here
// librdkafka's murmur2_random in kcat, the same as Java's default).
TEST(KafkaSlots, ASlotIsThePartitionKafkaPicksForTheConnectorId) {
  const auto topic = test::unique_topic("cluster-slot-map");
  test::create_topic(topic, 64);
  std::string lines;
  for (int i = 0; i < 50; ++i) lines += "connector-" + std::to_string(i) + ":v\n";
  lines += "orders-to-kafka:v\n";
  const auto input = std::filesystem::temp_directory_path() / (topic + ".txt");
  {
    std::ofstream file(input);
    file << lines;
  }
  int exit_code = -1;
  auto output = test::run_command(std::string(SINKHOST_KCAT) + " -b " + test::kafka_bootstrap() + " -P -t " + topic +
                                      " -K: -X topic.partitioner=murmur2_random -l " + input.string() + " 2>&1",
                                  &exit_code);
  std::filesystem::remove(input);
  ASSERT_EQ(exit_code, 0) << output;
  auto messages = test::consume(topic, 51, 30s);
  ASSERT_EQ(messages.size(), 51U);
  for (const auto& message : messages) {
    EXPECT_EQ(message.partition, slot_of(message.key, 64)) << message.key;
  }
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
