#include "store_connection.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>
#include <spdlog/spdlog.h>

#include "kurrentdb/protocols/v1/gossip.grpc.pb.h"
#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using Endpoint = KurrentDbConnection::Endpoint;
namespace gossip = event_store::client::gossip;

namespace {

connector::Result<std::string> read_file(const std::string& path, const char* option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::invalid_argument, std::string(option) + " '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

connector::Result<std::shared_ptr<grpc::ChannelCredentials>> make_credentials(const KurrentDbConnection& c) {
  if (!c.tls) return grpc::InsecureChannelCredentials();
  std::string key;
  std::string chain;
  if (!c.user_cert_file.empty()) {
    auto cert = read_file(c.user_cert_file, "userCertFile");
    if (!cert.ok()) return cert.error();
    auto private_key = read_file(c.user_key_file, "userKeyFile");
    if (!private_key.ok()) return private_key.error();
    chain = std::move(cert).value();
    key = std::move(private_key).value();
  }
  if (!c.tls_verify_cert) {
    // As the clients' tlsVerifyCert=false: encrypted, but any certificate is accepted.
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!chain.empty()) {
      options.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
          std::vector<grpc::experimental::IdentityKeyCertPair>{{key, chain}}));
      options.watch_identity_key_cert_pairs();
    }
    return grpc::experimental::TlsCredentials(options);
  }
  grpc::SslCredentialsOptions options;
  if (!c.tls_ca_file.empty()) {
    auto roots = read_file(c.tls_ca_file, "tlsCaFile");
    if (!roots.ok()) return roots.error();
    options.pem_root_certs = std::move(roots).value();
  }
  options.pem_private_key = std::move(key);
  options.pem_cert_chain = std::move(chain);
  return grpc::SslCredentials(options);
}

bool contains(std::string text, std::string_view needle) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return text.find(needle) != std::string::npos;
}

std::string trailer(const grpc::ClientContext& context, const char* name) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(name);
  return it == trailers.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

bool preferred(gossip::MemberInfo::VNodeState state, KurrentDbConnection::NodePreference preference) {
  using P = KurrentDbConnection::NodePreference;
  switch (preference) {
    case P::leader: return state == gossip::MemberInfo::Leader;
    case P::follower: return state == gossip::MemberInfo::Follower;
    case P::read_only_replica: return state == gossip::MemberInfo::ReadOnlyReplica;
    case P::random: return false;
  }
  return false;
}

bool usable(gossip::MemberInfo::VNodeState state) {
  return state == gossip::MemberInfo::Leader || state == gossip::MemberInfo::Follower ||
         state == gossip::MemberInfo::ReadOnlyReplica;
}

// The member the preference picks among the alive ones, else any usable one.
std::optional<Endpoint> pick(const gossip::ClusterInfo& info, KurrentDbConnection::NodePreference preference) {
  std::vector<const gossip::MemberInfo*> first;
  std::vector<const gossip::MemberInfo*> others;
  for (const auto& member : info.members()) {
    if (!member.is_alive() || !usable(member.state())) continue;
    (preferred(member.state(), preference) ? first : others).push_back(&member);
  }
  auto& from = first.empty() ? others : first;
  if (from.empty()) return std::nullopt;
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto* member = from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
  return Endpoint{member->http_end_point().address(), static_cast<std::uint16_t>(member->http_end_point().port())};
}

}  // namespace

connector::Result<std::shared_ptr<StoreConnection>> StoreConnection::create(KurrentDbConnection settings) {
  auto credentials = make_credentials(settings);
  if (!credentials.ok()) return credentials.error();
  std::shared_ptr<StoreConnection> connection(new StoreConnection(std::move(settings)));
  connection->credentials_ = std::move(credentials).value();
  const auto& c = connection->settings_;
  if (!c.username.empty())
    connection->authorization_ = "Basic " + connector::base64_encode(c.username + ":" + c.password);
  if (!c.discover) connection->endpoint_ = c.hosts.front();
  return connection;
}

std::shared_ptr<grpc::Channel> StoreConnection::open_channel(const Endpoint& endpoint) const {
  grpc::ChannelArguments args;
  if (settings_.keep_alive_interval_ms >= 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(settings_.keep_alive_interval_ms));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(std::max<std::int64_t>(1, settings_.keep_alive_timeout_ms)));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  // Reconnect soon after the store comes back (gRPC's own default backs off up to two minutes),
  // and give up a connection attempt to a store that does not answer (paused) after a few seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  args.SetMaxReceiveMessageSize(64 << 20);  // an event may be large; KurrentDB's own limit is 16 MiB by default
  args.SetUserAgentPrefix("sinkhost");
  return grpc::CreateCustomChannel(endpoint.text(), credentials_, args);
}

void StoreConnection::prepare(grpc::ClientContext& context) const {
  if (!authorization_.empty()) context.AddMetadata("authorization", authorization_);
  if (settings_.node_preference == KurrentDbConnection::NodePreference::leader) {
    context.AddMetadata("requires-leader", "true");
  }
  if (!settings_.connection_name.empty()) context.AddMetadata("connection-name", settings_.connection_name);
}

connector::Result<Endpoint> StoreConnection::discover() {
  std::string last_error = "no seed answered";
  for (int attempt = 0; attempt < settings_.max_discover_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(settings_.discovery_interval_ms));
    for (const auto& seed : settings_.hosts) {
      auto stub = gossip::Gossip::NewStub(open_channel(seed));
      grpc::ClientContext context;
      prepare(context);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(settings_.gossip_timeout_ms));
      gossip::ClusterInfo info;
      auto status = stub->Read(&context, event_store::client::Empty(), &info);
      if (!status.ok()) {
        last_error = seed.text() + ": " + status.error_message();
        continue;
      }
      if (auto member = pick(info, settings_.node_preference)) return *member;
      last_error = seed.text() + " knows no alive leader, follower or replica";
    }
  }
  return make_error(ErrorCode::unavailable, "no node of the " + describe() + " could be found through gossip (" +
                                                std::to_string(settings_.max_discover_attempts) +
                                                " attempts): " + last_error);
}

connector::Result<std::shared_ptr<grpc::Channel>> StoreConnection::channel() {
  std::lock_guard lock(mutex_);
  if (channel_) return channel_;
  if (!endpoint_) {
    auto found = discover();
    if (!found.ok()) return found.error();
    spdlog::info("{}: using the node at {}", describe(), found->text());
    endpoint_ = *found;
  }
  channel_ = open_channel(*endpoint_);
  return channel_;
}

void StoreConnection::failed(const grpc::Status& status, const grpc::ClientContext& context) {
  std::lock_guard lock(mutex_);
  if (trailer(context, "exception") == "not-leader") {
    auto host = trailer(context, "leader-endpoint-host");
    auto port = std::atoi(trailer(context, "leader-endpoint-port").c_str());
    if (!host.empty() && port > 0 && port < 65536) {
      spdlog::info("{}: the node is not the leader; using the leader at {}:{}", describe(), host, port);
      endpoint_ = Endpoint{host, static_cast<std::uint16_t>(port)};
      channel_.reset();
      return;
    }
  }
  if (settings_.discover && status.error_code() != grpc::StatusCode::CANCELLED) {
    endpoint_.reset();
    channel_.reset();
  }
}

connector::Error StoreConnection::describe_failure(const grpc::Status& status, const std::string& doing,
                                                   bool& permanent) const {
  const std::string where = describe();
  const std::string said = status.error_message().empty() ? "no message" : status.error_message();
  permanent = true;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return make_error(
          ErrorCode::permission_denied,
          where + " refused the credentials" +
              (settings_.username.empty() ? std::string(" (none given)") : " of user '" + settings_.username + "'") +
              " while " + doing + ": " + said);
    case grpc::StatusCode::PERMISSION_DENIED:
      return make_error(ErrorCode::permission_denied,
                        where + " does not allow user '" + settings_.username + "' " + doing + ": " + said);
    case grpc::StatusCode::UNIMPLEMENTED:
      return make_error(ErrorCode::failed_precondition,
                        where + " does not serve KurrentDB's client protocol (" + doing + "): " + said);
    default: break;
  }
  if (contains(said, "certificate verify failed") || contains(said, "certificate_verify_failed")) {
    return make_error(
        ErrorCode::failed_precondition,
        "the TLS certificate of " + where + " is not trusted (" +
            (settings_.tls_ca_file.empty() ? std::string("checked against the system's CAs; set tlsCaFile")
                                           : "checked against tlsCaFile " + settings_.tls_ca_file) +
            "): " + said);
  }
  permanent = false;
  return make_error(ErrorCode::unavailable, where + " is unreachable while " + doing + ": " + said);
}

}  // namespace sinkhost::runtime
