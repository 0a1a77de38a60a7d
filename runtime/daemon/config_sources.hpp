#pragma once
// Where the daemon's settings come from besides its flags: a YAML config file (--config FILE or
// SINKHOST_CONFIG; its keys are the long flag names, KurrentDB's names for the same things are
// accepted too) and SINKHOST_* environment variables (SINKHOST_DATA_DIR for --data-dir). Both
// become command-line arguments placed before the real ones; the daemon's options keep the last
// value given, so one precedence holds: flag > environment > file > default
// (docs/operations.md, "Configuration").

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::daemon {

// One setting from the file or the environment.
struct ConfigValue {
  std::string name;    // the option's long name, without dashes ("data-dir")
  std::string value;   // as text, as it would follow --name=
  std::string origin;  // for messages and `config check`: "FILE line N" or "SINKHOST_DATA_DIR"
};

// Builds a fresh parser of the daemon's flags; used to check one value at a time, so that a bad
// value is reported with the line or variable it came from.
using ParserFactory = std::function<std::unique_ptr<CLI::App>()>;

// The daemon's arguments for CLI11, in command-line order, with where each setting came from.
struct GatheredArguments {
  std::vector<std::string> arguments;
  std::map<std::string, std::string> origins;  // option name -> origin, for the file and environment
};

// Long names of the options a config file or the environment may set: every flag of `app`
// except --help, --config and the print-and-exit ones.
std::vector<std::string> configurable_options(const CLI::App& app);

// The config file's path: --config on the command line, else SINKHOST_CONFIG, else empty.
std::string config_path(const std::vector<std::string>& command_line,
                        const std::map<std::string, std::string>& environment);

// Reads a YAML config file. Refuses (naming the line) unknown keys, nested values that are not
// KurrentDB's names, lists, and a token or connection string where a file name is expected.
connector::Result<std::vector<ConfigValue>> read_config_file(const std::string& path, const CLI::App& app);

// The SINKHOST_<NAME> variables of the configurable options (others are ignored).
std::vector<ConfigValue> read_environment(const CLI::App& app, const std::map<std::string, std::string>& environment);

// File values, then environment values, then the command line; each file and environment value
// checked with the option's own rules first.
connector::Result<GatheredArguments> gather_arguments(const CLI::App& app, const std::vector<std::string>& command_line,
                                                      const std::map<std::string, std::string>& environment,
                                                      const ParserFactory& parser);

// The process environment as a map.
std::map<std::string, std::string> process_environment();

// `sinkhost config check`: the effective configuration as YAML (usable as a config file), each
// value with where it came from; the password of a --source connection string is masked.
std::string effective_configuration(const CLI::App& app, const std::map<std::string, std::string>& origins);

}  // namespace sinkhost::daemon
