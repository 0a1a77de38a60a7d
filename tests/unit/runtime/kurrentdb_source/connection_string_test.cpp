#include "sinkhost/runtime/kurrentdb_source/connection_string.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

TEST(ConnectionString, ASingleNodeWithCredentialsAndOptions) {
  auto c = parse_connection_string(
      "kurrentdb://admin:chan%40geit@db.example:2113?tls=true&tlsCaFile=/etc/ca.pem&KeepAliveInterval=1000"
      "&keepAliveTimeout=500&connectionName=sinkhost");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->discover);
  ASSERT_EQ(c->hosts.size(), 1u);
  EXPECT_EQ(c->hosts[0].host, "db.example");
  EXPECT_EQ(c->hosts[0].port, 2113);
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->password, "chan@geit") << "percent-escapes are decoded";
  EXPECT_TRUE(c->tls);
  EXPECT_EQ(c->tls_ca_file, "/etc/ca.pem");
  EXPECT_EQ(c->keep_alive_interval_ms, 1000) << "option names are case-insensitive";
  EXPECT_EQ(c->keep_alive_timeout_ms, 500);
  EXPECT_EQ(c->connection_name, "sinkhost");
  EXPECT_EQ(c->describe(), "KurrentDB at db.example:2113") << "no credentials in descriptions";
}

TEST(ConnectionString, DefaultsAreTheClientsDefaults) {
  auto c = parse_connection_string("esdb://localhost");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->hosts[0].port, 2113);
  EXPECT_TRUE(c->tls);
  EXPECT_TRUE(c->tls_verify_cert);
  EXPECT_TRUE(c->username.empty());
  EXPECT_EQ(c->keep_alive_interval_ms, 10000);
  EXPECT_EQ(c->node_preference, KurrentDbConnection::NodePreference::leader);
}

TEST(ConnectionString, GossipSeedsAndSeveralHostsDiscover) {
  auto c = parse_connection_string("kurrentdb+discover://node1:2113,node2:2114,[::1]:2115?nodePreference=follower");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->discover);
  ASSERT_EQ(c->hosts.size(), 3u);
  EXPECT_EQ(c->hosts[2].host, "::1");
  EXPECT_EQ(c->hosts[2].port, 2115);
  EXPECT_EQ(c->node_preference, KurrentDbConnection::NodePreference::follower);
  auto several = parse_connection_string("kurrentdb://a:1,b:2?tls=false");
  ASSERT_TRUE(several.ok());
  EXPECT_TRUE(several->discover) << "as the clients do, several hosts are gossip seeds";
}

TEST(ConnectionString, ClientOptionsWithoutEffectAreAcceptedAndListed) {
  auto c = parse_connection_string("kurrentdb://h?defaultDeadline=10000&throwOnAppendFailure=false");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->ignored, (std::vector<std::string>{"defaultDeadline", "throwOnAppendFailure"}));
}

TEST(ConnectionString, BadStringsAreRefusedWithWhatIsWrong) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const auto& [text, says] : {
           Case{"http://h:2113", "unknown scheme 'http'"},
           Case{"h:2113", "must start with kurrentdb://"},
           Case{"kurrentdb://", "names no host"},
           Case{"kurrentdb://h:99999", "port of 'h:99999'"},
           Case{"kurrentdb://h?tls=maybe", "tls must be true or false"},
           Case{"kurrentdb://h?keepAliveInterval=soon", "keepAliveInterval must be a whole number"},
           Case{"kurrentdb://h?frobnicate=1", "unknown option 'frobnicate'"},
           Case{"kurrentdb://user@h", "must be user:password"},
           Case{"kurrentdb://h?tls=false&tlsCaFile=/x", "need tls=true"},
           Case{"kurrentdb://h?userCertFile=/c", "go together"},
           Case{"kurrentdb://h?nodePreference=fastest", "nodePreference must be"},
       }) {
    auto c = parse_connection_string(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().code, connector::ErrorCode::invalid_argument) << text;
    EXPECT_NE(c.error().message.find(says), std::string::npos) << text << ": " << c.error().message;
  }
}

}  // namespace
}  // namespace sinkhost::runtime
