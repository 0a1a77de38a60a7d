#pragma once
// Readiness for systemd's Type=notify services, without libsystemd: the sd_notify(3) datagram
// sent to $NOTIFY_SOCKET. Without that variable (not started by systemd) it does nothing.

#include <string_view>

namespace sinkhost::daemon {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") to the service manager. Returns false
// when there is no $NOTIFY_SOCKET or the datagram could not be sent.
bool notify_service_manager(std::string_view state);

}  // namespace sinkhost::daemon
