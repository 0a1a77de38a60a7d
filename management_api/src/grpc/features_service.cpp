// ServerFeatures (every client asks it when it connects) and Gossip (clients with a discovery
// connection string ask it for the leader): a single node that is always the leader.
#include <chrono>

#include "grpc/services.hpp"
#include "kurrentdb/protocols/v1/gossip.grpc.pb.h"
#include "kurrentdb/protocols/v1/serverfeatures.grpc.pb.h"

namespace sinkhost::management_api::grpc_face {
namespace {

namespace features = ::event_store::client::server_features;
namespace gossip = ::event_store::client::gossip;

// Service and method names as KurrentDB lists them: lower case. Only what sinkhost answers is
// listed, so a client falls back where it can or reports the method unsupported.
void add_method(features::SupportedMethods* out, const char* service, const char* method) {
  auto* m = out->add_methods();
  m->set_service_name(service);
  m->set_method_name(method);
}

class ServerFeaturesService final : public features::ServerFeatures::CallbackService {
 public:
  explicit ServerFeaturesService(FaceContext& face) : face_(face) {}

  grpc::ServerUnaryReactor* GetSupportedMethods(grpc::CallbackServerContext* context, const pb::Empty*,
                                                features::SupportedMethods* out) override {
    out->set_event_store_server_version(face_.version);
    add_method(out, "event_store.client.streams.streams", "read");
    add_method(out, "event_store.client.streams.streams", "append");
    add_method(out, "event_store.client.streams.streams", "batchappend");
    add_method(out, "event_store.client.server_features.serverfeatures", "getsupportedmethods");
    add_method(out, "event_store.client.gossip.gossip", "read");
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  FaceContext& face_;
};

// The host part of the call's :authority (what the client dialled), or the advertised host.
std::string dialled_host(const grpc::CallbackServerContext& context, const std::string& fallback) {
  const auto ref = context.ExperimentalGetAuthority();
  std::string authority(ref.data(), ref.size());
  if (authority.empty()) return fallback;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    return close == std::string::npos ? fallback : authority.substr(1, close - 1);
  }
  auto colon = authority.rfind(':');
  return colon == std::string::npos ? authority : authority.substr(0, colon);
}

class GossipService final : public gossip::Gossip::CallbackService {
 public:
  explicit GossipService(FaceContext& face) : face_(face) {}

  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context, const pb::Empty*,
                                 gossip::ClusterInfo* out) override {
    auto* member = out->add_members();
    set_uuid(instance_id_, false, member->mutable_instance_id());
    member->set_time_stamp(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() *
        10);
    member->set_state(gossip::MemberInfo::Leader);
    member->set_is_alive(true);
    member->mutable_http_end_point()->set_address(dialled_host(*context, face_.advertised_host));
    member->mutable_http_end_point()->set_port(face_.port);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  FaceContext& face_;
  const std::string instance_id_ = "00000000-0000-4000-8000-000000000001";
};

}  // namespace

std::unique_ptr<grpc::Service> make_server_features_service(FaceContext& face) {
  return std::make_unique<ServerFeaturesService>(face);
}

std::unique_ptr<grpc::Service> make_gossip_service(FaceContext& face) { return std::make_unique<GossipService>(face); }

}  // namespace sinkhost::management_api::grpc_face
