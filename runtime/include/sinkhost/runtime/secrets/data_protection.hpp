#pragma once
// Data protection of a data directory: set-up at start and token rotation, the part of the
// secrets module that touches storage.
#include <cstddef>
#include <memory>
#include <string_view>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/secrets/secret_box.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::runtime {

using connector::Result;

// At start-up, before any connector is restored: with a token, opens the data directory's key
// (setting it up on first use) and refuses a wrong token; without one, refuses a state store
// that holds encrypted settings. Returns the key, or nullptr when there is no token (secret
// settings are then refused with a 400).
Result<std::shared_ptr<const SecretBox>> open_data_protection(StateStore& store, const SecretBytes* token);

// `sinkhost token rotate`: checks the old token, then re-encrypts every stored secret value
// under a key from the new token (new salt) in one transaction, and compacts state.db so the
// old ciphertexts are gone from its files. Returns how many values were re-encrypted.
Result<std::size_t> rotate_token(StateStore& store, std::string_view old_token, std::string_view new_token);

}  // namespace sinkhost::runtime
