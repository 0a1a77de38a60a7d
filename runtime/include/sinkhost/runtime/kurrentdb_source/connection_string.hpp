#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::runtime {

// A KurrentDB connection string as the official clients read it (docs/kurrentdb-source.md):
//   kurrentdb://[user:password@]host[:port][,host[:port]...][?option=value&...]
//   kurrentdb+discover://... (the hosts are gossip seeds: the client asks them for the cluster's
//   members and connects to the node its preference picks); esdb:// and esdb+discover:// too.
// Option names are case-insensitive. Options of the clients that do not apply to a reader are
// accepted and listed in `ignored`; unknown options are refused.
struct KurrentDbConnection {
  struct Endpoint {
    std::string host;
    std::uint16_t port = 2113;
    std::string text() const { return host + ":" + std::to_string(port); }
  };
  enum class NodePreference { leader, follower, random, read_only_replica };

  bool discover = false;
  std::vector<Endpoint> hosts;
  std::string username;  // empty: no credentials
  std::string password;
  bool tls = true;
  bool tls_verify_cert = true;
  std::string tls_ca_file;     // empty: the system's CAs
  std::string user_cert_file;  // X.509 client certificate (with user_key_file)
  std::string user_key_file;
  std::int64_t keep_alive_interval_ms = 10000;  // -1: off
  std::int64_t keep_alive_timeout_ms = 10000;
  NodePreference node_preference = NodePreference::leader;
  std::string connection_name;
  std::int64_t discovery_interval_ms = 100;
  std::int64_t gossip_timeout_ms = 5000;
  int max_discover_attempts = 10;
  std::vector<std::string> ignored;  // accepted options without effect here

  // "KurrentDB at host:port" (the first host; "KurrentDB cluster at ..." when discovering).
  std::string describe() const;
};

connector::Result<KurrentDbConnection> parse_connection_string(std::string_view text);

}  // namespace sinkhost::runtime
