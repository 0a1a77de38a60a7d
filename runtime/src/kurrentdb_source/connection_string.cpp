#include "sinkhost/runtime/kurrentdb_source/connection_string.hpp"

#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

#include "sinkhost/connector/settings.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

connector::Error invalid(const std::string& what) {
  return make_error(ErrorCode::invalid_argument, "the KurrentDB connection string is not valid: " + what);
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || ptr != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

connector::Result<KurrentDbConnection::Endpoint> parse_endpoint(std::string_view text) {
  KurrentDbConnection::Endpoint endpoint;
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {  // [IPv6]:port
    auto close = text.find(']');
    if (close == std::string_view::npos) return invalid("the host '" + std::string(text) + "' misses its ']'");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return invalid("the host '" + std::string(text) + "' is not host:port");
      port = text.substr(close + 2);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return invalid("a host is empty");
  endpoint.host = std::string(host);
  if (!port.empty() || text.ends_with(':')) {
    auto value = parse_int(port);
    if (!value || *value < 1 || *value > 65535) {
      return invalid("the port of '" + std::string(text) + "' is not a number from 1 to 65535");
    }
    endpoint.port = static_cast<std::uint16_t>(*value);
  }
  return endpoint;
}

connector::Result<bool> parse_bool(const std::string& name, std::string_view value) {
  if (connector::iequals(value, "true")) return true;
  if (connector::iequals(value, "false")) return false;
  return invalid("option " + name + " must be true or false, not '" + std::string(value) + "'");
}

connector::Result<std::int64_t> parse_ms(const std::string& name, std::string_view value, std::int64_t min) {
  auto v = parse_int(value);
  if (!v || *v < min) {
    return invalid("option " + name + " must be a whole number of milliseconds >= " + std::to_string(min) + ", not '" +
                   std::string(value) + "'");
  }
  return *v;
}

// Options of the official clients that change nothing for a reader of $all.
constexpr std::string_view kIgnored[] = {"defaultDeadline", "throwOnAppendFailure", "batchAppendSize"};

using Connection = KurrentDbConnection;
using NodePreference = Connection::NodePreference;

constexpr std::pair<std::string_view, std::string Connection::*> kTextOptions[] = {
    {"tlsCaFile", &Connection::tls_ca_file},
    {"userCertFile", &Connection::user_cert_file},
    {"userKeyFile", &Connection::user_key_file},
    {"connectionName", &Connection::connection_name},
};
constexpr std::pair<std::string_view, bool Connection::*> kBoolOptions[] = {
    {"tls", &Connection::tls},
    {"tlsVerifyCert", &Connection::tls_verify_cert},
};
struct MsOption {
  std::string_view name;
  std::int64_t Connection::*field;
  std::int64_t min;
};
constexpr MsOption kMsOptions[] = {
    {"keepAliveInterval", &Connection::keep_alive_interval_ms, -1},
    {"keepAliveTimeout", &Connection::keep_alive_timeout_ms, -1},
    {"discoveryInterval", &Connection::discovery_interval_ms, 0},
    {"gossipTimeout", &Connection::gossip_timeout_ms, 1},
};
constexpr std::pair<std::string_view, NodePreference> kNodePreferences[] = {
    {"leader", NodePreference::leader},
    {"follower", NodePreference::follower},
    {"random", NodePreference::random},
    {"readOnlyReplica", NodePreference::read_only_replica},
};

connector::Result<void> apply_option(Connection& c, const std::string& key, const std::string& value) {
  using connector::iequals;
  for (const auto& [name, field] : kTextOptions) {
    if (iequals(key, name)) {
      c.*field = value;
      return {};
    }
  }
  for (const auto& [name, field] : kBoolOptions) {
    if (!iequals(key, name)) continue;
    auto v = parse_bool(key, value);
    if (!v.ok()) return v.error();
    c.*field = *v;
    return {};
  }
  for (const auto& option : kMsOptions) {
    if (!iequals(key, option.name)) continue;
    auto v = parse_ms(key, value, option.min);
    if (!v.ok()) return v.error();
    c.*option.field = *v;
    return {};
  }
  if (iequals(key, "maxDiscoverAttempts")) {
    auto v = parse_int(value);
    if (!v || *v < 1 || *v > 1000) return invalid("option maxDiscoverAttempts must be from 1 to 1000");
    c.max_discover_attempts = static_cast<int>(*v);
    return {};
  }
  if (iequals(key, "nodePreference")) {
    for (const auto& [name, preference] : kNodePreferences) {
      if (iequals(value, name)) {
        c.node_preference = preference;
        return {};
      }
    }
    return invalid("option nodePreference must be leader, follower, random or readOnlyReplica");
  }
  for (const auto& name : kIgnored) {
    if (iequals(key, name)) {
      c.ignored.push_back(key);
      return {};
    }
  }
  return invalid("unknown option '" + key +
                 "' (known: tls, tlsVerifyCert, tlsCaFile, userCertFile, userKeyFile, keepAliveInterval, "
                 "keepAliveTimeout, nodePreference, connectionName, discoveryInterval, gossipTimeout, "
                 "maxDiscoverAttempts, defaultDeadline, throwOnAppendFailure)");
}

connector::Result<void> parse_options(KurrentDbConnection& c, std::string_view query) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) return invalid("option '" + std::string(pair) + "' has no value");
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(pair.substr(eq + 1));
    if (!key || !value) return invalid("option '" + std::string(pair) + "' has a bad %-escape");
    if (auto applied = apply_option(c, *key, *value); !applied.ok()) return applied;
  }
  return {};
}

connector::Result<void> parse_user_info(KurrentDbConnection& c, std::string_view info) {
  auto colon = info.find(':');
  if (colon == std::string_view::npos) return invalid("the user info must be user:password");
  auto user = percent_decode(info.substr(0, colon));
  auto password = percent_decode(info.substr(colon + 1));
  if (!user || !password) return invalid("the user info has a bad %-escape");
  if (user->empty()) return invalid("the user name is empty");
  c.username = std::move(*user);
  c.password = std::move(*password);
  return {};
}

}  // namespace

std::string KurrentDbConnection::describe() const {
  std::string out = discover ? "KurrentDB cluster at " : "KurrentDB at ";
  for (std::size_t i = 0; i < hosts.size(); ++i) out += (i ? "," : "") + hosts[i].text();
  return out;
}

connector::Result<KurrentDbConnection> parse_connection_string(std::string_view text) {
  KurrentDbConnection c;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalid("it must start with kurrentdb://, kurrentdb+discover://, esdb:// or esdb+discover://");
  }
  std::string scheme(text.substr(0, scheme_end));
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (scheme == "kurrentdb+discover" || scheme == "esdb+discover" || scheme == "kdb+discover") {
    c.discover = true;
  } else if (scheme != "kurrentdb" && scheme != "esdb" && scheme != "kdb") {
    return invalid("unknown scheme '" + scheme +
                   "' (use kurrentdb://, kurrentdb+discover://, esdb:// or esdb+discover://)");
  }
  auto rest = text.substr(scheme_end + 3);
  auto query_start = rest.find('?');
  auto authority = rest.substr(0, query_start);
  if (query_start != std::string_view::npos) {
    if (auto parsed = parse_options(c, rest.substr(query_start + 1)); !parsed.ok()) return parsed.error();
  }
  if (authority.ends_with('/')) authority.remove_suffix(1);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (auto parsed = parse_user_info(c, authority.substr(0, at)); !parsed.ok()) return parsed.error();
    authority = authority.substr(at + 1);
  }
  if (authority.find('/') != std::string_view::npos) return invalid("a path after the hosts is not allowed");
  while (!authority.empty()) {
    auto comma = authority.find(',');
    auto endpoint = parse_endpoint(authority.substr(0, comma));
    if (!endpoint.ok()) return endpoint.error();
    c.hosts.push_back(std::move(endpoint).value());
    authority = comma == std::string_view::npos ? std::string_view() : authority.substr(comma + 1);
  }
  if (c.hosts.empty()) return invalid("it names no host");
  if (!c.discover && c.hosts.size() > 1) c.discover = true;  // as the clients do: several hosts are gossip seeds
  if (c.user_cert_file.empty() != c.user_key_file.empty()) {
    return invalid("userCertFile and userKeyFile go together");
  }
  if (!c.tls && (!c.tls_ca_file.empty() || !c.user_cert_file.empty())) {
    return invalid("tlsCaFile and userCertFile need tls=true");
  }
  return c;
}

}  // namespace sinkhost::runtime
