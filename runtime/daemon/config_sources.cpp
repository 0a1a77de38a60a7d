#include "config_sources.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "sinkhost/runtime/secrets/secret_box.hpp"

extern char** environ;

namespace sinkhost::daemon {

namespace {

using connector::ErrorCode;
using connector::make_error;

// Options that are no setting: they print something and exit, or name the file itself.
const std::set<std::string, std::less<>> kNotConfigurable = {"help", "config", "version", "settings-reference"};

// KurrentDB's configuration names for the same things (keys compared case-insensitively; nested
// maps joined with ':'). NodeIp and HttpPort make up --listen together.
struct Alias {
  std::string_view kurrentdb;
  std::string_view option;
};
constexpr Alias kAliases[] = {
    {"db", "data-dir"},
    {"certificatefile", "tls-cert"},
    {"certificateprivatekeyfile", "tls-key"},
    {"connectors:dataprotection:tokenfile", "data-protection-token-file"},
};
constexpr std::string_view kNodeIp = "nodeip";
constexpr std::string_view kHttpPort = "httpport";
constexpr std::string_view kInlineToken = "connectors:dataprotection:token";

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string environment_name(std::string_view option) {
  std::string name = "SINKHOST_";
  for (char c : option) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

bool is_flag(const CLI::Option& option) { return option.get_type_size() == 0; }

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// A value where a file name belongs that is the secret itself.
std::optional<std::string> secret_instead_of_file(std::string_view option, std::string_view value) {
  if (option == "data-protection-token-file" && value.starts_with("sinkhost-dpt")) {
    return "this is a data protection token, not a file name: write it to a file only sinkhost can read "
           "(`sinkhost token generate --output FILE`) and give that file's path";
  }
  if (option == "source-file" && value.find("://") != std::string_view::npos) {
    return "this is a connection string, not a file name: write it to a file only sinkhost can read and give "
           "that file's path";
  }
  if ((option == "tls-key" || option == "tls-cert") && value.find("-----BEGIN") != std::string_view::npos) {
    return "this is PEM content, not a file name: give the path of the PEM file";
  }
  return std::nullopt;
}

struct FlatEntry {
  std::string key;  // nested keys joined with ':'
  YAML::Node value;
  int line = 0;  // 1-based
};

connector::Result<void> flatten(const YAML::Node& map, const std::string& prefix, const std::string& path,
                                std::vector<FlatEntry>& out) {
  for (const auto& pair : map) {
    const int line = pair.first.Mark().line + 1;
    if (!pair.first.IsScalar()) {
      return make_error(ErrorCode::invalid_argument, path + " line " + std::to_string(line) + ": a key must be a name");
    }
    const std::string key = prefix + pair.first.Scalar();
    if (pair.second.IsMap()) {
      if (auto nested = flatten(pair.second, key + ":", path, out); !nested.ok()) return nested;
      continue;
    }
    out.push_back({key, pair.second, line});
  }
  return {};
}

}  // namespace

std::vector<std::string> configurable_options(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& name : option->get_lnames()) {
      if (!kNotConfigurable.contains(name)) names.push_back(name);
    }
  }
  return names;
}

std::string config_path(const std::vector<std::string>& command_line,
                        const std::map<std::string, std::string>& environment) {
  for (std::size_t i = 0; i < command_line.size(); ++i) {
    const auto& arg = command_line[i];
    if (arg == "--config" && i + 1 < command_line.size()) return command_line[i + 1];
    if (arg.starts_with("--config=")) return arg.substr(9);
  }
  auto it = environment.find("SINKHOST_CONFIG");
  return it == environment.end() ? std::string() : it->second;
}

connector::Result<std::vector<ConfigValue>> read_config_file(const std::string& path, const CLI::App& app) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return make_error(ErrorCode::not_found, "cannot read the config file " + path);
  } catch (const YAML::ParserException& e) {
    return make_error(ErrorCode::invalid_argument,
                      path + " line " + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  if (root.IsNull()) return std::vector<ConfigValue>{};
  if (!root.IsMap()) {
    return make_error(ErrorCode::invalid_argument, path + ": a config file is a map of `name: value` lines");
  }
  std::vector<FlatEntry> entries;
  if (auto flat = flatten(root, "", path, entries); !flat.ok()) return flat.error();

  const auto names = configurable_options(app);
  std::vector<ConfigValue> values;
  std::map<std::string, int> seen;  // option name -> line
  std::optional<FlatEntry> node_ip, http_port;
  for (const auto& entry : entries) {
    const std::string where = path + " line " + std::to_string(entry.line);
    const std::string key = lower(entry.key);
    auto refuse = [&](const std::string& why) { return make_error(ErrorCode::invalid_argument, where + ": " + why); };
    if (!entry.value.IsScalar()) {
      return refuse("'" + entry.key + "' needs one value (a text, number or true/false), not " +
                    (entry.value.IsNull() ? std::string("nothing") : std::string("a list")));
    }
    if (key == kInlineToken) {
      return refuse(
          "sinkhost does not take the data protection token itself from a config file: write it to a file only "
          "sinkhost can read and give Connectors:DataProtection:TokenFile (or data-protection-token-file)");
    }
    if (key == kNodeIp || key == kHttpPort) {
      (key == kNodeIp ? node_ip : http_port) = entry;
      continue;
    }
    std::string name;
    for (const auto& alias : kAliases) {
      if (key == alias.kurrentdb) name = alias.option;
    }
    for (const auto& known : names) {
      if (key == known) name = known;
    }
    if (name.empty()) {
      if (key == "config") return refuse("a config file cannot name another config file");
      return refuse("unknown key '" + entry.key + "'; the keys are the long flag names: " + joined(names));
    }
    if (auto [it, fresh] = seen.emplace(name, entry.line); !fresh) {
      return refuse("'" + name + "' is given twice (also line " + std::to_string(it->second) + ")");
    }
    const std::string& value = entry.value.Scalar();
    if (auto why = secret_instead_of_file(name, value)) return refuse(name + ": " + *why);
    values.push_back({name, value, where});
  }
  if (node_ip || http_port) {
    const auto& first = node_ip ? *node_ip : *http_port;
    const std::string where = path + " line " + std::to_string(first.line);
    if (seen.contains("listen")) {
      return make_error(ErrorCode::invalid_argument,
                        where + ": give either listen or KurrentDB's NodeIp/HttpPort, not both");
    }
    const std::string host = node_ip ? node_ip->value.Scalar() : "127.0.0.1";
    const std::string port = http_port ? http_port->value.Scalar() : "2113";
    values.push_back({"listen", (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port, where});
  }
  return values;
}

std::vector<ConfigValue> read_environment(const CLI::App& app, const std::map<std::string, std::string>& environment) {
  std::vector<ConfigValue> values;
  for (const auto& name : configurable_options(app)) {
    const auto variable = environment_name(name);
    if (auto it = environment.find(variable); it != environment.end()) values.push_back({name, it->second, variable});
  }
  return values;
}

connector::Result<GatheredArguments> gather_arguments(const CLI::App& app, const std::vector<std::string>& command_line,
                                                      const std::map<std::string, std::string>& environment,
                                                      const ParserFactory& parser) {
  std::set<std::string, std::less<>> given;  // long names on the command line
  for (const auto& arg : command_line) {
    if (arg.starts_with("--")) given.insert(arg.substr(2, arg.find('=') - 2));
  }
  std::vector<ConfigValue> values;
  if (auto path = config_path(command_line, environment); !path.empty()) {
    auto file = read_config_file(path, app);
    if (!file.ok()) return file.error();
    values = std::move(file).value();
  }
  auto from_environment = read_environment(app, environment);
  values.insert(values.end(), from_environment.begin(), from_environment.end());

  GatheredArguments gathered;
  for (const auto& v : values) {
    if (given.contains(v.name)) continue;  // the flag wins
    std::string arg = "--" + v.name + "=" + v.value;
    try {
      auto check = parser();
      check->parse(std::vector<std::string>{arg});
    } catch (const CLI::ParseError& e) {
      return make_error(ErrorCode::invalid_argument,
                        v.origin + ": " + v.name + " '" + v.value + "' is not allowed: " + e.what());
    }
    gathered.arguments.push_back(std::move(arg));
    gathered.origins[v.name] = v.origin;
  }
  gathered.arguments.insert(gathered.arguments.end(), command_line.begin(), command_line.end());
  return gathered;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    out.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return out;
}

namespace {

// kurrentdb://user:password@host -> kurrentdb://user:******@host
std::string mask_password(std::string value) {
  const auto scheme = value.find("://");
  if (scheme == std::string::npos) return value;
  const auto at = value.find('@', scheme + 3);
  if (at == std::string::npos) return value;
  const auto colon = value.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return value;
  return value.replace(colon + 1, at - colon - 1, runtime::kSecretMask);
}

// --cluster-kafka-option KEY=VALUE, repeated: all of them, the value of a *password* key masked.
std::string masked_kafka_options(const std::vector<std::string>& options) {
  std::string out;
  for (const auto& option : options) {
    if (!out.empty()) out += ", ";
    const auto equals = option.find('=');
    const bool secret = equals != std::string::npos && option.substr(0, equals).find("password") != std::string::npos;
    out += secret ? option.substr(0, equals + 1) + std::string(runtime::kSecretMask) : option;
  }
  return out;
}

std::string yaml_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::string effective_configuration(const CLI::App& app, const std::map<std::string, std::string>& origins) {
  std::string out = "# the effective configuration of sinkhost (flag > environment > file > default)\n";
  for (const auto& name : configurable_options(app)) {
    const CLI::Option* option = app.get_option("--" + name);
    std::string value;
    if (option->count() > 0) {
      value = option->results().empty() ? "true" : option->results().back();
    } else {
      value = is_flag(*option) ? "false" : option->get_default_str();
    }
    if (name == "source") value = mask_password(value);
    if (name == "cluster-kafka-option") value = masked_kafka_options(option->results());
    std::string origin = "default";
    if (auto it = origins.find(name); it != origins.end())
      origin = it->second;
    else if (option->count() > 0)
      origin = "command line";
    out += name + ": " + yaml_quoted(value) + "  # " + origin + "\n";
  }
  return out;
}

}  // namespace sinkhost::daemon
