// logger-sink: writes each record as one JSON line to the sinkhost log or to a file, and
// acknowledges it once written. It shows the host is a host, and lets tests and demos run
// without Kafka. (KurrentDB's equivalent is serilog-sink.)
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sinkhost/connector/encoding.hpp"
#include "sinkhost/connector/plugin.hpp"
#include "sinkhost/connector/typed_settings.hpp"

namespace sinkhost::logger_sink {
namespace {

using connector::ErrorCode;
using connector::field;
using connector::info;
using connector::LogLevel;
using connector::make_error;
using connector::Result;
using nlohmann::json;

enum class Output { log, file };

// A logger-sink connector's settings; each field comes from a row of schema() (defaults, docs).
struct LoggerSettings {
  Output output = Output::log;
  std::string path;
  bool include_headers = false;
  bool include_record_data = false;
};

const connector::SettingsSchema<LoggerSettings>& schema() {
  using S = LoggerSettings;
  static const connector::SettingsSchema<LoggerSettings> table({
      connector::enumeration(&S::output,
                             {.name = "output",
                              .default_value = "log",
                              .doc = "Where the lines go: log = sinkhost's log (info level), file = the file named "
                                     "by path."},
                             {{"log", Output::log}, {"file", Output::file}}),
      field(&S::path,
            {.name = "path", .doc = "The file lines are appended to when output is file (created if missing)."}),
      field(&S::include_headers, {.name = "includeHeaders",
                                  .default_value = "false",
                                  .doc = "Add the record's headers (esdb-*) to each line."}),
      field(&S::include_record_data,
            {.name = "includeRecordData",
             .default_value = "true",
             .doc = "Add the record's data to each line (KurrentDB's serilog-sink setting); false: only the "
                    "record's identity (id, stream, revision, position, type, time)."}),
      info<S>({.name = "configuration",
               .doc = "KurrentDB's serilog-sink Serilog configuration (base64 JSON). Accepted, without effect: "
                      "this sink writes where output and path say.",
               .no_effect = "logger-sink writes where output and path say; it has no Serilog configuration"}),
  });
  return table;
}

// One record as one line of JSON: the same fields a Kafka consumer would see, spelled out.
std::string to_line(const connector::Record& r, bool include_headers, bool include_data) {
  json line = {{"recordId", r.record_id},        {"stream", r.stream_id},         {"revision", r.stream_revision},
               {"position", r.position.value()}, {"eventType", r.schema_subject}, {"timestamp", r.timestamp_ms}};
  if (!include_data) {
    // KurrentDB's includeRecordData=false: the record's identity only.
  } else if (r.schema_type == connector::SchemaType::json) {
    line["data"] = json::parse(r.data, nullptr, /*allow_exceptions=*/false);
  } else {
    line["dataBase64"] = connector::base64_encode(r.data);
  }
  if (include_headers) {
    json headers = json::object();
    for (const auto& h : r.headers) headers[h.name] = h.value;
    line["headers"] = std::move(headers);
  }
  return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

class LoggerSink final : public connector::Sink {
 public:
  explicit LoggerSink(connector::SinkContext context)
      : context_(std::move(context)),
        settings_(schema().parse_valid(context_.settings)),
        to_file_(settings_.output == Output::file),
        include_headers_(settings_.include_headers),
        include_data_(settings_.include_record_data) {}

  Result<void> open() override {
    if (!to_file_) return {};
    const auto& path = settings_.path;
    file_.reset(std::fopen(path.c_str(), "a"));
    if (!file_) {
      return make_error(ErrorCode::unavailable, "cannot open " + path + " for appending: " + std::strerror(errno));
    }
    return {};
  }

  // Writes synchronously, then acknowledges: an acknowledged record is in the file (or the
  // log) as far as the operating system is concerned.
  Result<void> write(const connector::Record& record) override {
    auto line = to_line(record, include_headers_, include_data_);
    if (to_file_) {
      line.push_back('\n');
      if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() || std::fflush(file_.get()) != 0) {
        return make_error(ErrorCode::unavailable, std::string("writing the record failed: ") + std::strerror(errno));
      }
    } else {
      context_.log(LogLevel::info, line);
    }
    context_.listener->delivered(record.position);
    return {};
  }

  void close(std::chrono::milliseconds) noexcept override { file_.reset(); }

 private:
  connector::SinkContext context_;
  const LoggerSettings settings_;
  bool to_file_;
  bool include_headers_;
  bool include_data_;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

Result<std::unique_ptr<connector::Sink>> create(connector::SinkContext context) {
  return std::unique_ptr<connector::Sink>(std::make_unique<LoggerSink>(std::move(context)));
}

std::vector<connector::FieldViolation> check(const connector::Settings& settings) {
  const auto parsed = schema().parse_valid(settings);
  if (parsed.output == Output::file && parsed.path.empty()) {
    return {{"path", "required when output is file"}};
  }
  return {};
}

const connector::SinkDescriptor& descriptor() {
  static const connector::SinkDescriptor d{
      .type_name = "logger-sink",
      // serilog-sink is KurrentDB's name for the same sink; EventStore.Connectors.Testing.LoggerSink
      // is the type name of EventStoreDB 24.10's preview documentation.
      .aliases = {"LoggerSink", "serilog-sink", "SerilogSink", "EventStore.Connectors.Testing.LoggerSink",
                  "Kurrent.Connectors.Testing.LoggerSink", "Kurrent.Connectors.Serilog.SerilogSink",
                  "EventStore.Connectors.Serilog.SerilogSink"},
      .description =
          "Writes each record as one JSON line to the sinkhost log or to a file, and acknowledges it "
          "once written. For demos, tests and debugging filters.",
      .settings = schema().specs(),
      .create = &create,
      .check = &check,
  };
  return d;
}

}  // namespace
}  // namespace sinkhost::logger_sink

SINKHOST_DECLARE_PLUGIN(sinkhost::logger_sink::descriptor)
