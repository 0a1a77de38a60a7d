#include "connection_check.hpp"

#include "delivery_rules.hpp"
#include "http_client.hpp"
#include "http_settings.hpp"
#include "url_template.hpp"

namespace sinkhost::http_sink {

connector::ConnectionCheck check_connection(const connector::Settings& map, std::chrono::milliseconds timeout) {
  connector::ConnectionCheck check;
  const auto settings = HttpSinkSettings::from(map);
  auto url = UrlTemplate::parse(settings.url);
  if (!url.ok()) {
    check.steps.push_back({"configure", false, url.error().message});
    return check;
  }
  std::shared_ptr<TlsContext> tls;
  if (url->tls()) {
    auto made = make_tls_context(settings);
    if (!made.ok()) {
      check.steps.push_back({"configure", false, made.error().message});
      return check;
    }
    tls = std::move(made).value();
  }
  check.steps.push_back({"configure", true, "requests go to " + url->origin()});
  Connection connection(*url, tls, timeout, std::chrono::hours(1));
  Request request;
  request.method = "HEAD";
  request.target = url->fixed_target();
  connector::Record probe;
  for (auto& h : request_headers(probe, settings)) {
    if (h.name != "Content-Type") request.headers.push_back(std::move(h));
  }
  auto response = connection.send(request);
  if (response.status == 0) {
    const bool connected = response.tls_error || response.transport_error.find("TLS") == 0 ||
                           response.transport_error.find("request to") == 0 ||
                           response.transport_error.find("no answer") == 0;
    if (!connected) {
      check.steps.push_back({"connect", false, response.transport_error});
      return check;
    }
    check.steps.push_back({"connect", true, "reached " + url->host() + ":" + url->port()});
    const bool handshake = response.transport_error.find("TLS") == 0;
    check.steps.push_back({handshake ? "tls" : "request", false, response.transport_error});
    return check;
  }
  check.steps.push_back({"connect", true, "reached " + url->host() + ":" + url->port()});
  if (url->tls()) check.steps.push_back({"tls", true, "the server's certificate was accepted"});
  const auto status = std::to_string(response.status) + " " + response.reason;
  if (response.status == 401 || response.status == 403 || response.status == 407) {
    check.steps.push_back({"authenticate", false, "HEAD " + request.target + " answered " + status});
    return check;
  }
  if (response.status >= 500) {
    check.steps.push_back({"request", false, "HEAD " + request.target + " answered " + status});
    return check;
  }
  check.steps.push_back({"request", true, "HEAD " + request.target + " answered " + status});
  check.destinations.push_back(url->origin() + url->fixed_target());
  return check;
}

}  // namespace sinkhost::http_sink
