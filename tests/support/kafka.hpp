#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sinkhost::test {

// The test broker's addresses and credentials, read from the env file that
// deploy/kafka/kafka.sh writes (its path in $SINKHOST_TEST_KAFKA_ENV). A test that needs Kafka
// fails, not skips, when the file is missing: the broker fixture must have started.
std::map<std::string, std::string> kafka_env();
std::string kafka_bootstrap();  // the PLAINTEXT listener

struct ConsumedMessage {
  int partition = -1;
  long long offset = -1;
  long long timestamp_ms = -1;
  std::string key;
  bool has_key = false;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(const std::string& name) const;
};

// Reads `topic` from the beginning with kcat (an independent client) until `count` messages
// arrived or `timeout` passed; returns what it read.
std::vector<ConsumedMessage> consume(const std::string& topic, std::size_t count,
                                     std::chrono::seconds timeout = std::chrono::seconds(30));
// The same from the brokers at `bootstrap`.
std::vector<ConsumedMessage> consume_from(const std::string& bootstrap, const std::string& topic, std::size_t count,
                                          std::chrono::seconds timeout = std::chrono::seconds(30));

// A broker of the test's own (deploy/kafka/kafka.sh with its own state directory and ports),
// for tests that kill, pause or restart it without disturbing the shared one. Its ports are the
// shared broker's + 50; tests using it must not run concurrently (ctest RESOURCE_LOCK).
// Stopped by the destructor.
class OwnKafkaBroker {
 public:
  explicit OwnKafkaBroker(std::string state_dir);
  ~OwnKafkaBroker();
  // Starts it (fails the test if it cannot); `keep_data`: restart on the data it had.
  void start(bool keep_data = false);
  void stop();
  void kill_hard();  // SIGKILL: no flush, no clean shutdown
  void pause();      // SIGSTOP: connections stay open, nothing answers
  void resume();     // SIGCONT
  std::string bootstrap() const;
  void create_topic(const std::string& name, int partitions) const;

 private:
  std::string command(const std::string& args) const;
  int pid() const;
  std::string state_dir_;
  int port_base_ = 0;
};

// A topic name no other test uses.
std::string unique_topic(const std::string& prefix);

// Creates a topic with `partitions` partitions on the test broker (deploy/kafka/kafka.sh), with
// topic configs such as "max.message.bytes=1024".
void create_topic(const std::string& name, int partitions, const std::vector<std::string>& configs = {});

// Kafka's own description of a topic on the test broker (deploy/kafka/kafka.sh describe-topic:
// "PartitionCount: 3 ... Configs: cleanup.policy=compact,..."); fails the test if it cannot.
std::string describe_topic(const std::string& name);

// The text of a file named in the Kafka env file (certificates and keys: KAFKA_CA_PEM, ...).
std::string kafka_file(const std::string& env_key);

}  // namespace sinkhost::test
