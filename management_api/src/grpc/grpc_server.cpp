#include "sinkhost/management_api/grpc_server.hpp"

#include <fstream>
#include <mutex>
#include <sstream>

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <spdlog/spdlog.h>

#include "grpc/services.hpp"
#include "sinkhost/management_api/auth.hpp"

namespace sinkhost::management_api {
namespace {

using connector::ErrorCode;
using connector::make_error;

constexpr std::size_t kReadThreads = 2;                       // reads and subscriptions: chunks of SQLite reads
constexpr std::size_t kAppendThreads = 8;                     // appends waiting for a group commit
constexpr std::size_t kMemoryQuotaBytes = 512 * 1024 * 1024;  // gRPC's own buffers, all calls

connector::Result<std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    return make_error(ErrorCode::invalid_argument, std::string("cannot read the gRPC ") + what + " file " + path);
  }
  return text.str();
}

std::string address_of(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// The version a client can parse: the leading X.Y.Z of `version`, or 0.0.0.
std::string protocol_version(const std::string& version) {
  std::size_t end = 0;
  int dots = 0;
  while (end < version.size() && (std::isdigit(static_cast<unsigned char>(version[end])) || version[end] == '.')) {
    if (version[end] == '.') ++dots;
    ++end;
  }
  return dots == 2 ? version.substr(0, end) : "0.0.0";
}

// protobuf logs what it refuses to parse (invalid UTF-8 in a string field, ...) to stderr; a
// hostile client could flood it. Such a call already ends with an error status: debug level.
void route_protobuf_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
          if (level >= google::protobuf::LOGLEVEL_FATAL) {
            spdlog::critical("protobuf {}:{}: {}", file, line, message);
          } else {
            spdlog::debug("protobuf {}:{}: {}", file, line, message);
          }
        });
  });
}

}  // namespace

struct GrpcServer::Impl {
  Impl(runtime::EventLog& log, Options o) : options(std::move(o)), face(log, kReadThreads, kAppendThreads) {
    face.authenticator = options.authenticator.get();
    face.limits = {.max_event_bytes = options.max_event_bytes,
                   .max_append_bytes = options.max_append_bytes,
                   .max_append_events = options.max_append_events};
    face.version = protocol_version(options.version);
    const bool unspecified = options.host == "0.0.0.0" || options.host == "::" || options.host.empty();
    face.advertised_host = unspecified ? "localhost" : options.host;
  }

  connector::Result<std::shared_ptr<grpc::ServerCredentials>> credentials() const {
    if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
    auto cert = read_file(options.tls_cert_file, "certificate");
    if (!cert.ok()) return cert.error();
    auto key = read_file(options.tls_key_file, "key");
    if (!key.ok()) return key.error();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({std::move(key).value(), std::move(cert).value()});
    return grpc::SslServerCredentials(ssl);
  }

  Options options;
  grpc_face::FaceContext face;
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  bool stopped = false;
};

GrpcServer::GrpcServer(runtime::EventLog& log, Options options)
    : impl_(std::make_unique<Impl>(log, std::move(options))) {}

GrpcServer::~GrpcServer() { stop(); }

connector::Result<void> GrpcServer::start() {
  auto& impl = *impl_;
  route_protobuf_logs();
  auto credentials = impl.credentials();
  if (!credentials.ok()) return credentials.error();

  grpc::ServerBuilder builder;
  const auto address = address_of(impl.options.host, impl.options.port);
  builder.AddListeningPort(address, credentials.value(), &impl.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(impl.options.max_message_bytes));
  // The official clients ping every 10 s on open calls, idle subscriptions included: allow it
  // (gRPC's default answers such pings with GOAWAY too_many_pings).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  grpc::ResourceQuota quota("sinkhost-grpc");
  quota.Resize(kMemoryQuotaBytes);
  builder.SetResourceQuota(quota);

  impl.services.push_back(grpc_face::make_streams_service(impl.face));
  impl.services.push_back(grpc_face::make_server_features_service(impl.face));
  impl.services.push_back(grpc_face::make_gossip_service(impl.face));
  for (auto& service : impl.services) builder.RegisterService(service.get());

  impl.server = builder.BuildAndStart();
  if (!impl.server || impl.port == 0) {
    impl.server.reset();
    return make_error(ErrorCode::unavailable, "cannot serve gRPC on " + address + " (is the address taken?)");
  }
  impl.face.port = static_cast<std::uint16_t>(impl.port);
  return {};
}

bool GrpcServer::tls() const { return !impl_->options.tls_cert_file.empty(); }

std::uint16_t GrpcServer::port() const { return static_cast<std::uint16_t>(impl_->port); }

void GrpcServer::stop() {
  auto& impl = *impl_;
  if (impl.stopped || !impl.server) return;
  impl.stopped = true;
  impl.face.reads.shut_down();
  impl.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl.server->Wait();
}

}  // namespace sinkhost::management_api
