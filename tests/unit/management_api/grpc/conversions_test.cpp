// The KurrentDB protocol's messages to and from the log's types: what a client sends is checked
// (a refusal names the problem and changes nothing) and what it reads back is complete.
#include <gtest/gtest.h>

#include "grpc/conversions.hpp"

namespace sinkhost::management_api::grpc_face {
namespace {

streams::AppendReq options_for(const std::string& stream) {
  streams::AppendReq req;
  req.mutable_options()->mutable_stream_identifier()->set_stream_name(stream);
  return req;
}

streams::AppendReq::ProposedMessage proposed(const std::string& id, const std::string& type,
                                             const std::string& content_type, const std::string& data) {
  streams::AppendReq::ProposedMessage m;
  m.mutable_id()->set_string(id);
  if (!type.empty()) (*m.mutable_metadata())["type"] = type;
  if (!content_type.empty()) (*m.mutable_metadata())["content-type"] = content_type;
  m.set_data(data);
  return m;
}

const std::string kId = "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

TEST(GrpcConversions, UuidsInBothWireFormsBecomeCanonicalText) {
  pb::UUID text;
  text.set_string("0F9A1F2C-5A6B-4C7D-8E9F-0A1B2C3D4E5F");
  EXPECT_EQ(uuid_text(text), kId);

  pb::UUID structured;
  set_uuid(kId, /*structured=*/true, &structured);
  ASSERT_TRUE(structured.has_structured());
  EXPECT_EQ(static_cast<std::uint64_t>(structured.structured().most_significant_bits()), 0x0f9a1f2c5a6b4c7dULL);
  EXPECT_EQ(static_cast<std::uint64_t>(structured.structured().least_significant_bits()), 0x8e9f0a1b2c3d4e5fULL);
  EXPECT_EQ(uuid_text(structured), kId);

  pb::UUID bad;
  bad.set_string("not-a-uuid");
  EXPECT_FALSE(uuid_text(bad));
  EXPECT_FALSE(uuid_text(pb::UUID()));
}

TEST(GrpcConversions, AppendOptionsCarryTheExpectedRevision) {
  auto req = options_for("orders-1");
  req.mutable_options()->set_revision(7);
  auto parsed = std::get<runtime::AppendRequest>(append_options_of(req));
  EXPECT_EQ(parsed.stream, "orders-1");
  EXPECT_EQ(parsed.expected_version, 7);

  req.mutable_options()->mutable_no_stream();
  EXPECT_EQ(std::get<runtime::AppendRequest>(append_options_of(req)).expected_version,
            runtime::expected_version::no_stream);
  req.mutable_options()->mutable_stream_exists();
  EXPECT_EQ(std::get<runtime::AppendRequest>(append_options_of(req)).expected_version,
            runtime::expected_version::stream_exists);
  req.mutable_options()->mutable_any();
  EXPECT_EQ(std::get<runtime::AppendRequest>(append_options_of(req)).expected_version, runtime::expected_version::any);
}

TEST(GrpcConversions, AppendOptionsRefuseBadStreamsAndSystemStreams) {
  auto error = std::get<CallError>(append_options_of(options_for("")));
  EXPECT_EQ(error.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(error.message.find("stream name"), std::string::npos);
  EXPECT_EQ(std::get<CallError>(append_options_of(options_for(std::string("a\x01", 2)))).code,
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(std::get<CallError>(append_options_of(options_for("\xff\xfe"))).code, grpc::StatusCode::INVALID_ARGUMENT);
  auto system = std::get<CallError>(append_options_of(options_for("$settings")));
  EXPECT_EQ(system.code, grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_EQ(system.trailers.size(), 1u);
  EXPECT_EQ(system.trailers[0], (std::pair<std::string, std::string>{"exception", "access-denied"}));
  EXPECT_EQ(std::get<CallError>(append_options_of(streams::AppendReq())).code, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(GrpcConversions, ProposedEventsNeedAnIdATypeAndAContentType) {
  AppendLimits limits;
  auto ok = proposed(kId, "OrderPlaced", "application/json", R"({"a":1})");
  ok.set_custom_metadata("\x01\x02 raw");
  auto event = std::get<runtime::NewEvent>(new_event_of(ok, limits));
  EXPECT_EQ(event.event_id, kId);
  EXPECT_EQ(event.event_type, "OrderPlaced");
  EXPECT_TRUE(event.is_json);
  EXPECT_EQ(event.data, R"({"a":1})");
  EXPECT_EQ(event.metadata, "\x01\x02 raw") << "custom metadata is kept as sent";

  auto binary = proposed(kId, "Blob", "application/octet-stream", std::string("\0\xff", 2));
  EXPECT_FALSE(std::get<runtime::NewEvent>(new_event_of(binary, limits)).is_json);

  auto no_id = proposed("x", "T", "application/json", "{}");
  EXPECT_NE(std::get<CallError>(new_event_of(no_id, limits)).message.find("UUID"), std::string::npos);
  auto no_type = proposed(kId, "", "application/json", "{}");
  EXPECT_NE(std::get<CallError>(new_event_of(no_type, limits)).message.find("\"type\""), std::string::npos);
  auto odd_type = proposed(kId, "T", "text/plain", "x");
  EXPECT_NE(std::get<CallError>(new_event_of(odd_type, limits)).message.find("content-type"), std::string::npos);
  auto not_json = proposed(kId, "T", "application/json", "{nope");
  EXPECT_EQ(std::get<CallError>(new_event_of(not_json, limits)).code, grpc::StatusCode::INVALID_ARGUMENT);
  auto empty_json = proposed(kId, "T", "application/json", "");
  EXPECT_TRUE(std::holds_alternative<runtime::NewEvent>(new_event_of(empty_json, limits)));
}

TEST(GrpcConversions, AnEventOverTheLimitIsResourceExhausted) {
  auto big = proposed(kId, "T", "application/octet-stream", std::string(600, 'x'));
  auto error = std::get<CallError>(new_event_of(big, AppendLimits{.max_event_bytes = 512}));
  EXPECT_EQ(error.code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(error.message.find("512"), std::string::npos);
}

TEST(GrpcConversions, WrongExpectedVersionCarriesExpectedAndActualInBothForms) {
  runtime::AppendResult result{.status = runtime::AppendResult::Status::wrong_expected_version, .current_version = 3};
  streams::AppendResp resp;
  fill_append_response(1, 1, result, &resp);
  ASSERT_TRUE(resp.has_wrong_expected_version());
  EXPECT_EQ(resp.wrong_expected_version().current_revision(), 3u);
  EXPECT_EQ(resp.wrong_expected_version().expected_revision(), 1u);
  EXPECT_EQ(resp.wrong_expected_version().current_revision_20_6_0(), 3u);

  runtime::AppendResult missing{.status = runtime::AppendResult::Status::wrong_expected_version, .current_version = -1};
  streams::AppendResp none;
  fill_append_response(runtime::expected_version::stream_exists, 1, missing, &none);
  EXPECT_TRUE(none.wrong_expected_version().has_current_no_stream());
  EXPECT_TRUE(none.wrong_expected_version().has_expected_stream_exists());
}

TEST(GrpcConversions, AnAppendOfNoEventsOnlyChecksTheExpectedVersion) {
  using runtime::AppendResult;
  namespace ev = runtime::expected_version;
  EXPECT_EQ(check_empty_append(ev::any, std::nullopt).status, AppendResult::Status::appended);
  EXPECT_EQ(check_empty_append(ev::no_stream, std::nullopt).status, AppendResult::Status::appended);
  EXPECT_EQ(check_empty_append(ev::no_stream, 2).status, AppendResult::Status::wrong_expected_version);
  EXPECT_EQ(check_empty_append(ev::stream_exists, std::nullopt).status, AppendResult::Status::wrong_expected_version);
  EXPECT_EQ(check_empty_append(2, 2).status, AppendResult::Status::appended);
  auto wrong = check_empty_append(1, 2);
  EXPECT_EQ(wrong.status, AppendResult::Status::wrong_expected_version);
  EXPECT_EQ(wrong.current_version, 2);
  streams::AppendResp resp;
  fill_append_response(ev::any, 0, check_empty_append(ev::any, 4), &resp);
  EXPECT_EQ(resp.success().current_revision(), 4u);
  EXPECT_TRUE(resp.success().has_no_position());
}

TEST(GrpcConversions, SuccessCarriesTheRevisionAndThePosition) {
  runtime::AppendResult result{.last_position = connector::LogPosition(42), .current_version = 5};
  streams::AppendResp resp;
  fill_append_response(runtime::expected_version::any, 2, result, &resp);
  ASSERT_TRUE(resp.has_success());
  EXPECT_EQ(resp.success().current_revision(), 5u);
  EXPECT_EQ(resp.success().position().commit_position(), 42u);
  EXPECT_EQ(resp.success().position().prepare_position(), 42u);
}

streams::ReadReq::Options::FilterOptions filter_on_stream(std::vector<std::string> prefixes, std::string regex = {}) {
  streams::ReadReq::Options::FilterOptions f;
  for (auto& p : prefixes) f.mutable_stream_identifier()->add_prefix(p);
  if (!regex.empty()) f.mutable_stream_identifier()->set_regex(regex);
  if (prefixes.empty() && regex.empty()) f.mutable_stream_identifier();
  f.mutable_count();
  f.set_checkpointintervalmultiplier(3);
  return f;
}

TEST(GrpcConversions, FiltersMatchPrefixesOrARegexAsASearch) {
  auto prefixes = std::get<std::shared_ptr<const EventFilter>>(EventFilter::of(filter_on_stream({"order-", "cart-"})));
  EXPECT_TRUE(prefixes->matches("order-1", "T"));
  EXPECT_TRUE(prefixes->matches("cart-9", "T"));
  EXPECT_FALSE(prefixes->matches("my-order-1", "T"));
  EXPECT_EQ(prefixes->checkpoint_interval(), 32u * 3);

  auto regex = std::get<std::shared_ptr<const EventFilter>>(EventFilter::of(filter_on_stream({}, "der-[0-9]")));
  EXPECT_TRUE(regex->matches("order-1", "T")) << "a search, not a whole-name match";
  EXPECT_FALSE(regex->matches("order-x", "T"));

  streams::ReadReq::Options::FilterOptions on_type;
  on_type.mutable_event_type()->set_regex("^[^$]");
  on_type.set_max(10);
  auto types = std::get<std::shared_ptr<const EventFilter>>(EventFilter::of(on_type));
  EXPECT_TRUE(types->matches("$anything", "OrderPlaced"));
  EXPECT_FALSE(types->matches("order-1", "$metadata"));
  EXPECT_EQ(types->checkpoint_interval(), 10u);
}

TEST(GrpcConversions, BadFiltersAreRefused) {
  EXPECT_EQ(std::get<CallError>(EventFilter::of(filter_on_stream({}))).code, grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_regex = std::get<CallError>(EventFilter::of(filter_on_stream({}, "(")));
  EXPECT_NE(bad_regex.message.find("regex"), std::string::npos);
  EXPECT_EQ(std::get<CallError>(EventFilter::of(streams::ReadReq::Options::FilterOptions())).code,
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(GrpcConversions, ReadPlansTellTargetDirectionStartAndCount) {
  streams::ReadReq req;
  auto* options = req.mutable_options();
  options->mutable_stream()->mutable_stream_identifier()->set_stream_name("orders-1");
  options->mutable_stream()->set_revision(4);
  options->set_read_direction(streams::ReadReq::Options::Backwards);
  options->set_count(10);
  options->mutable_uuid_option()->mutable_structured();
  auto plan = std::get<ReadPlan>(plan_read(req));
  EXPECT_EQ(plan.stream, "orders-1");
  EXPECT_FALSE(plan.forward);
  EXPECT_EQ(plan.from, ReadPlan::From::at);
  EXPECT_EQ(plan.at, 4u);
  EXPECT_EQ(plan.count, 10u);
  EXPECT_TRUE(plan.structured_uuids);
  EXPECT_FALSE(plan.subscription);

  options->mutable_subscription();
  EXPECT_EQ(std::get<CallError>(plan_read(req)).code, grpc::StatusCode::INVALID_ARGUMENT) << "backwards subscription";
  options->set_read_direction(streams::ReadReq::Options::Forwards);
  *options->mutable_filter() = filter_on_stream({"x"});
  EXPECT_NE(std::get<CallError>(plan_read(req)).message.find("$all"), std::string::npos);

  streams::ReadReq all;
  all.mutable_options()->mutable_all()->mutable_position()->set_commit_position(9);
  all.mutable_options()->mutable_subscription();
  *all.mutable_options()->mutable_filter() = filter_on_stream({"x"});
  auto all_plan = std::get<ReadPlan>(plan_read(all));
  EXPECT_FALSE(all_plan.stream);
  EXPECT_TRUE(all_plan.subscription);
  EXPECT_EQ(all_plan.at, 9u);
  EXPECT_TRUE(all_plan.filter);
  EXPECT_EQ(std::get<CallError>(plan_read(streams::ReadReq())).code, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(GrpcConversions, ReadEventsCarryTheMetadataClientsNeed) {
  runtime::StoredEvent stored{.position = connector::LogPosition(12),
                              .event_id = kId,
                              .stream = "orders-1",
                              .revision = 3,
                              .event_type = "OrderPlaced",
                              .is_json = false,
                              .data = "bytes",
                              .metadata = "meta",
                              .created_ms = 1700000000123};
  streams::ReadResp resp;
  fill_read_event(view_of(stored), false, &resp);
  const auto& e = resp.event().event();
  EXPECT_EQ(e.id().string(), kId);
  EXPECT_EQ(e.stream_identifier().stream_name(), "orders-1");
  EXPECT_EQ(e.stream_revision(), 3u);
  EXPECT_EQ(e.commit_position(), 12u);
  EXPECT_EQ(e.prepare_position(), 12u);
  EXPECT_EQ(e.metadata().at("type"), "OrderPlaced");
  EXPECT_EQ(e.metadata().at("content-type"), "application/octet-stream");
  EXPECT_EQ(e.metadata().at("created"), "17000000001230000") << "100 ns ticks since the Unix epoch";
  EXPECT_EQ(e.data(), "bytes");
  EXPECT_EQ(e.custom_metadata(), "meta");
  EXPECT_EQ(resp.event().commit_position(), 12u);
}

}  // namespace
}  // namespace sinkhost::management_api::grpc_face
