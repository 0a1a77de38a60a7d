#pragma once

#include <string>

#include "sinkhost/management_api/http.hpp"

namespace sinkhost::runtime {
class ConnectorService;
class EventLog;
}  // namespace sinkhost::runtime

namespace sinkhost::management_api {

// Every HTTP route of sinkhost, as one function from request to response. Never throws:
// bad input becomes a google.rpc.Status error response, and changes nothing.
class Api {
 public:
  Api(runtime::EventLog& log, runtime::ConnectorService& connectors, std::string version);

  HttpResponse handle(const HttpRequest& request) noexcept;

 private:
  HttpResponse route(const HttpRequest& request, const Target& target);
  HttpResponse append(const HttpRequest& request, const std::string& stream);
  HttpResponse create_connector(const HttpRequest& request, const std::string& id);
  HttpResponse list_connectors(const Target& target);
  HttpResponse get_connector(const std::string& id);

  runtime::EventLog& log_;
  runtime::ConnectorService& connectors_;
  std::string version_;
};

}  // namespace sinkhost::management_api
