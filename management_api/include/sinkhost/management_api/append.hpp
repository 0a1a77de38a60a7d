#pragma once

#include <string>
#include <variant>

#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/http.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"

namespace sinkhost::management_api {

// The parsing half of POST /streams/{stream}: the batch form (a JSON array of events) or the
// single-event form (ES-EventType and ES-EventId headers, the body is the event's data), with
// ES-ExpectedVersion. Returns the append to give the event log, or the error response the route
// answers with. Appends nothing: the route (and the fuzzer) call it on any request.
std::variant<runtime::AppendRequest, HttpResponse> parse_append(const HttpRequest& request, const std::string& stream,
                                                                const ApiOptions& options);

}  // namespace sinkhost::management_api
