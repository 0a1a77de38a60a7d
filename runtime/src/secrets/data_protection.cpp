#include "sinkhost/runtime/secrets/data_protection.hpp"

#include <spdlog/spdlog.h>

#include "sodium_support.hpp"

namespace sinkhost::runtime {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;
using namespace secrets_detail;

Result<std::shared_ptr<const SecretBox>> open_data_protection(StateStore& store, const SecretBytes* token) {
  if (!sodium_ready()) return sodium_unavailable();
  auto record = store.load_data_protection();
  if (!record.ok()) return record.error();
  auto sealed = store.count_sealed();
  if (!sealed.ok()) return sealed.error();
  if (token == nullptr) {
    if (*sealed > 0) {
      return make_error(ErrorCode::failed_precondition,
                        "state.db holds encrypted secret settings of " + std::to_string(*sealed) +
                            " connector(s) and no data protection token was given: " + std::string(kTokenHelp));
    }
    return std::shared_ptr<const SecretBox>();
  }
  if (*record) {
    auto box = SecretBox::open(token->view(), **record);
    if (!box.ok()) return box.error();
    return std::shared_ptr<const SecretBox>(std::move(box).value());
  }
  if (*sealed > 0) {
    return make_error(ErrorCode::internal,
                      "state.db holds encrypted secret settings but no data protection record: it was changed "
                      "outside sinkhost; restore it from a backup");
  }
  DataProtectionRecord created;
  auto box = SecretBox::create(token->view(), created);
  if (!box.ok()) return box.error();
  if (auto saved = store.create_data_protection(created); !saved.ok()) return saved.error();
  spdlog::info(
      "data protection set up for this data directory ({}): secret settings are encrypted with a key from "
      "this token from now on",
      created.kdf == kKdfArgon2id ? "passphrase, Argon2id" : "generated token");
  return std::shared_ptr<const SecretBox>(std::move(box).value());
}

Result<std::size_t> rotate_token(StateStore& store, std::string_view old_token, std::string_view new_token) {
  if (!sodium_ready()) return sodium_unavailable();
  if (auto valid = check_token(new_token); !valid.ok()) {
    return make_error(ErrorCode::invalid_argument, "the new token: " + valid.error().message);
  }
  auto record = store.load_data_protection();
  if (!record.ok()) return record.error();
  if (!*record) {
    return make_error(ErrorCode::failed_precondition,
                      "this state.db has no data protection set up, so there is nothing to re-encrypt: start "
                      "sinkhost with the new token instead");
  }
  auto old_box = SecretBox::open(old_token, **record);
  if (!old_box.ok()) {
    auto error = old_box.error();
    if (error.code == ErrorCode::permission_denied) {
      error.message = "the old token is not the one this data directory's secret settings were encrypted with";
    }
    return error;
  }
  DataProtectionRecord next;
  auto new_box = SecretBox::create(new_token, next);
  if (!new_box.ok()) return new_box.error();
  auto count = store.reseal_all(
      next, [&](const std::string& id, const std::string& setting, const std::string& sealed) -> Result<std::string> {
        auto plain = (*old_box)->unseal(id, setting, sealed);
        if (!plain.ok()) {
          return make_error(ErrorCode::failed_precondition,
                            "connector '" + id + "', setting '" + setting + "': " + plain.error().message);
        }
        return (*new_box)->seal(id, setting, plain->view());
      });
  if (!count.ok()) return count.error();
  if (auto compacted = store.compact(); !compacted.ok()) {
    return make_error(ErrorCode::unavailable,
                      "the secret settings were re-encrypted under the new token, but state.db could not be "
                      "compacted, so its free pages may still hold the old ciphertexts (" +
                          compacted.error().message + "); run `sqlite3 state.db VACUUM` with sinkhost stopped");
  }
  return count;
}

}  // namespace sinkhost::runtime
