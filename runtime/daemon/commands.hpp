#pragma once
// The daemon's one-shot commands: `sinkhost user add|remove`, `sinkhost token generate|rotate`,
// `sinkhost --version`. Each returns the process's exit code.

#include <optional>
#include <string>

#include "sinkhost/runtime/secrets/secret_bytes.hpp"

namespace sinkhost::daemon {

// The environment variable that may hold the data protection token.
inline constexpr const char* kTokenEnvironment = "SINKHOST_DATA_PROTECTION_TOKEN";

int run_user_add(const std::string& users_file, const std::string& name);
int run_user_remove(const std::string& users_file, const std::string& name);
int run_token_generate(const std::string& output);
int run_token_rotate(const std::string& data_dir, const std::string& old_file, const std::string& new_file);
int run_print_version(const std::string& plugins_dir);

// The token from the environment, if set. Its value is then wiped in the environment block
// itself (which is what /proc/PID/environ shows) and the variable removed, so it neither
// lingers in this process's memory nor passes to a child.
std::optional<runtime::SecretBytes> take_token_from_environment();

// An exclusive lock on DATA_DIR/sinkhost.lock, held until the process exits: two hosts on one
// data directory would overwrite each other's state, and `token rotate` must not re-encrypt
// the secrets under a running host, which would go on writing with the old key. Returns an
// error message, or "".
std::string lock_data_dir(const std::string& data_dir);

}  // namespace sinkhost::daemon
