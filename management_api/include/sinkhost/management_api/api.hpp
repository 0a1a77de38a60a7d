#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sinkhost/management_api/http.hpp"

namespace sinkhost::runtime {
class ConnectorService;
class EventLog;
class EventLogReader;
}  // namespace sinkhost::runtime

namespace sinkhost::management_api {

struct ApiOptions {
  std::string version = "dev";
  std::size_t max_event_bytes = 1024 * 1024;  // data + metadata of one event
  std::size_t max_batch_events = 10000;       // events in one append
};

// Every HTTP route of sinkhost, as one function from request to response. Never throws:
// bad input becomes a google.rpc.Status error response, and changes nothing.
// Thread-safe: routes run on several threads at once.
class Api {
 public:
  Api(runtime::EventLog& log, runtime::ConnectorService& connectors, ApiOptions options = {});
  ~Api();

  HttpResponse handle(const HttpRequest& request) noexcept;

 private:
  HttpResponse route(const HttpRequest& request, const Target& target);

  // streams_routes.cpp
  HttpResponse append(const HttpRequest& request, const std::string& stream);
  HttpResponse read(const Target& target, const std::string& stream);
  std::optional<HttpResponse> refuse_if_external(const char* what) const;

  // connectors_routes.cpp
  HttpResponse connectors(const HttpRequest& request, const Target& target);
  HttpResponse create_connector(const HttpRequest& request, const std::string& id);
  HttpResponse reconfigure_connector(const HttpRequest& request, const std::string& id, bool nested);
  HttpResponse list_connectors(const HttpRequest& request, const Target& target);
  HttpResponse get_connector(const std::string& id);
  HttpResponse get_connector_settings(const std::string& id, bool nested);

  // plugins_routes.cpp
  HttpResponse connector_plugins(const HttpRequest& request, const Target& target);

  // metrics_routes.cpp
  HttpResponse metrics();

  // Readers are per connection and not thread-safe: routes borrow one from a small pool and
  // give it back when the BorrowedReader goes out of scope.
  class BorrowedReader {
   public:
    BorrowedReader(Api& api, std::unique_ptr<runtime::EventLogReader> reader);
    BorrowedReader(BorrowedReader&&) noexcept;
    ~BorrowedReader();
    runtime::EventLogReader* get() const { return reader_.get(); }

   private:
    Api& api_;
    std::unique_ptr<runtime::EventLogReader> reader_;
  };
  BorrowedReader borrow_reader();

  runtime::EventLog& log_;
  runtime::ConnectorService& connectors_;
  ApiOptions options_;
  std::string openapi_;  // GET /openapi.json
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<runtime::EventLogReader>> idle_readers_;
};

}  // namespace sinkhost::management_api
