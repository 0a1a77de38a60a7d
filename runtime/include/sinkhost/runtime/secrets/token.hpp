#pragma once
// Data protection tokens: their forms, generation, and token files. See docs/security.md.
#include <string>
#include <string_view>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/secrets/secret_bytes.hpp"

namespace sinkhost::runtime {

using connector::Result;

// How to give sinkhost a token: the 400 for a secret setting without one, and the start-up
// refusals, say it.
inline constexpr std::string_view kTokenHelp =
    "start sinkhost with --data-protection-token-file PATH or the environment variable "
    "SINKHOST_DATA_PROTECTION_TOKEN (`sinkhost token generate` makes a token); see docs/security.md";

// Tokens. A generated token is "sinkhost-dpt1-" followed by 32 random bytes in unpadded
// base64url: it has 256 bits of entropy, so a fast KDF (keyed BLAKE2b) turns it into the key.
// Anything else is a passphrase (16 to 4096 bytes), stretched with Argon2id.
inline constexpr std::string_view kGeneratedTokenPrefix = "sinkhost-dpt1-";
SecretBytes generate_token();
// Checks a token's form (not whether it is the right one for a data directory). Errors never
// contain the token.
Result<void> check_token(std::string_view token);

// A token file: its content less trailing line ends. `warning` receives a note when the file
// can be read by other users. Errors never contain the content.
Result<SecretBytes> read_token_file(const std::string& path, std::string* warning = nullptr);

}  // namespace sinkhost::runtime
