#include "sinkhost/runtime/state_store.hpp"

#include <nlohmann/json.hpp>

#include "sqlite.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

// Bumped when the schema changes; another version is refused with a clear error, older ones are
// upgraded in place. Version 2 added encrypted secret settings (an older sinkhost refuses it
// instead of handing ciphertext to a sink as a password); version 3 the checkpoint's prepare
// position (KurrentDB's $all positions have two parts).
constexpr int kSchemaVersion = 3;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS connectors (
  id                   TEXT PRIMARY KEY,
  name                 TEXT    NOT NULL,
  instance_type_name   TEXT    NOT NULL,
  settings             TEXT    NOT NULL,  -- JSON object of canonical key -> value (secrets masked)
  run_requested        INTEGER NOT NULL,
  checkpoint           INTEGER,           -- commit position; NULL: never committed
  error_code           TEXT,
  error_message        TEXT,
  create_time_ms       INTEGER NOT NULL,
  update_time_ms       INTEGER NOT NULL,
  settings_update_time_ms INTEGER NOT NULL,
  delete_time_ms       INTEGER,           -- set: soft-deleted
  secret_settings      TEXT    NOT NULL DEFAULT '{}', -- JSON object of secret key -> ciphertext
  checkpoint_prepare   INTEGER            -- prepare position; NULL: the commit position
);
CREATE TABLE IF NOT EXISTS data_protection (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  format    INTEGER NOT NULL,
  kdf       TEXT    NOT NULL,
  salt      BLOB    NOT NULL,
  opslimit  INTEGER NOT NULL,
  memlimit  INTEGER NOT NULL,
  verifier  TEXT    NOT NULL
);
)sql";

constexpr const char* kUpgradeFrom1 = R"sql(
ALTER TABLE connectors ADD COLUMN secret_settings TEXT NOT NULL DEFAULT '{}';
)sql";
constexpr const char* kUpgradeFrom2 = R"sql(
ALTER TABLE connectors ADD COLUMN checkpoint_prepare INTEGER;
)sql";

constexpr const char* kColumns =
    "id, name, instance_type_name, settings, run_requested, checkpoint, error_code, error_message, "
    "create_time_ms, update_time_ms, settings_update_time_ms, delete_time_ms, secret_settings, checkpoint_prepare";

connector::Error storage_error(const sqlite::Error& e) {
  return make_error(ErrorCode::unavailable, std::string("the state store failed: ") + e.what());
}

}  // namespace

struct StateStore::Impl {
  explicit Impl(const std::string& path) : db(sqlite::Database::open(path)) {
    // Deleted and replaced content (an old ciphertext after a token rotation, a clear-text
    // secret of an older version) is overwritten with zeros instead of lingering in free space.
    db.exec("PRAGMA secure_delete = ON");
    sqlite::Transaction transaction(db);
    sqlite::Statement version(db, "PRAGMA user_version");
    version.step();
    auto found = version.column_int(0);
    sqlite::Statement tables(db, "SELECT count(*) FROM sqlite_master WHERE name = 'connectors'");
    tables.step();
    const bool fresh = tables.column_int(0) == 0;
    if (!fresh && found != kSchemaVersion && found != 1 && found != 2) {
      throw sqlite::Error(path + " holds connector state of schema version " + std::to_string(found) +
                          ", this sinkhost reads version " + std::to_string(kSchemaVersion));
    }
    if (!fresh && found == 1) db.exec(kUpgradeFrom1);
    if (!fresh && found <= 2) db.exec(kUpgradeFrom2);
    db.exec(kSchema);
    db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    transaction.commit();
  }
  sqlite::Database db;
};

namespace {
void bind_definition(sqlite::Statement& s, const ConnectorDefinition& d) {
  s.bind(1, d.id)
      .bind(2, d.name)
      .bind(3, d.instance_type_name)
      .bind(4, nlohmann::json(d.settings).dump())
      .bind(5, std::int64_t{d.run_requested ? 1 : 0})
      .bind(6, d.create_time_ms)
      .bind(7, d.update_time_ms)
      .bind(8, d.settings_update_time_ms);
  if (d.delete_time_ms)
    s.bind(9, *d.delete_time_ms);
  else
    s.bind_null(9);
  s.bind(13, nlohmann::json(d.sealed_settings).dump());
}
}  // namespace

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& path) {
  try {
    return std::unique_ptr<StateStore>(new StateStore(std::make_unique<Impl>(path)));
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<std::vector<ConnectorDefinition>> StateStore::load_all() {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement select(
        impl_->db, (std::string("SELECT ") + kColumns + " FROM connectors ORDER BY create_time_ms, id").c_str());
    std::vector<ConnectorDefinition> out;
    while (select.step()) {
      ConnectorDefinition d;
      d.id = select.column_text(0);
      d.name = select.column_text(1);
      d.instance_type_name = select.column_text(2);
      d.settings = nlohmann::json::parse(select.column_text(3)).get<Settings>();
      d.run_requested = select.column_int(4) != 0;
      if (!select.column_is_null(5)) {
        const auto commit = static_cast<std::uint64_t>(select.column_int(5));
        const auto prepare = select.column_is_null(13) ? commit : static_cast<std::uint64_t>(select.column_int(13));
        d.checkpoint = SourcePosition{commit, prepare};
      }
      if (!select.column_is_null(6)) d.error = ErrorDetails{select.column_text(6), select.column_text(7)};
      d.create_time_ms = select.column_int(8);
      d.update_time_ms = select.column_int(9);
      d.settings_update_time_ms = select.column_int(10);
      if (!select.column_is_null(11)) d.delete_time_ms = select.column_int(11);
      d.sealed_settings = nlohmann::json::parse(select.column_text(12)).get<SealedSettings>();
      out.push_back(std::move(d));
    }
    return out;
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::internal, std::string("the state store holds unreadable settings: ") + e.what());
  }
}

Result<void> StateStore::save_definition(const ConnectorDefinition& d) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement upsert(
        impl_->db,
        "INSERT INTO connectors (id, name, instance_type_name, settings, run_requested, create_time_ms, "
        "update_time_ms, settings_update_time_ms, delete_time_ms, secret_settings) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?13) "
        "ON CONFLICT (id) DO UPDATE SET name = ?2, instance_type_name = ?3, settings = ?4, "
        "run_requested = ?5, create_time_ms = ?6, update_time_ms = ?7, settings_update_time_ms = ?8, "
        "delete_time_ms = ?9, secret_settings = ?13");
    bind_definition(upsert, d);
    upsert.step();
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<void> StateStore::replace(const ConnectorDefinition& d) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement insert(
        impl_->db,
        "INSERT OR REPLACE INTO connectors (id, name, instance_type_name, settings, run_requested, create_time_ms, "
        "update_time_ms, settings_update_time_ms, delete_time_ms, checkpoint, error_code, error_message, "
        "secret_settings, checkpoint_prepare) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    bind_definition(insert, d);
    if (d.checkpoint)
      insert.bind(10, static_cast<std::int64_t>(d.checkpoint->commit))
          .bind(14, static_cast<std::int64_t>(d.checkpoint->prepare));
    else
      insert.bind_null(10).bind_null(14);
    if (d.error)
      insert.bind(11, d.error->code).bind(12, d.error->message);
    else
      insert.bind_null(11).bind_null(12);
    insert.step();
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<void> StateStore::save_checkpoint(const std::string& id, std::optional<SourcePosition> position) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement update(impl_->db, "UPDATE connectors SET checkpoint = ?2, checkpoint_prepare = ?3 WHERE id = ?1");
    update.bind(1, id);
    if (position)
      update.bind(2, static_cast<std::int64_t>(position->commit)).bind(3, static_cast<std::int64_t>(position->prepare));
    else
      update.bind_null(2).bind_null(3);
    update.step();
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<void> StateStore::save_run_requested(const std::string& id, bool run_requested) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement update(impl_->db, "UPDATE connectors SET run_requested = ?2 WHERE id = ?1");
    update.bind(1, id).bind(2, std::int64_t{run_requested ? 1 : 0});
    update.step();
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<void> StateStore::save_error(const std::string& id, const std::optional<ErrorDetails>& error) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement update(impl_->db, "UPDATE connectors SET error_code = ?2, error_message = ?3 WHERE id = ?1");
    update.bind(1, id);
    if (error) {
      update.bind(2, error->code).bind(3, error->message);
    } else {
      update.bind_null(2).bind_null(3);
    }
    update.step();
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

namespace {
DataProtectionRecord read_record(sqlite::Statement& s) {
  return DataProtectionRecord{.format = static_cast<int>(s.column_int(0)),
                              .kdf = s.column_text(1),
                              .salt = s.column_text(2),
                              .opslimit = s.column_int(3),
                              .memlimit = s.column_int(4),
                              .verifier = s.column_text(5)};
}

void bind_record(sqlite::Statement& s, const DataProtectionRecord& r) {
  s.bind(1, std::int64_t{r.format})
      .bind(2, r.kdf)
      .bind_blob(3, r.salt)
      .bind(4, r.opslimit)
      .bind(5, r.memlimit)
      .bind(6, r.verifier);
}
}  // namespace

Result<std::optional<DataProtectionRecord>> StateStore::load_data_protection() {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement select(
        impl_->db, "SELECT format, kdf, salt, opslimit, memlimit, verifier FROM data_protection WHERE id = 1");
    if (!select.step()) return std::optional<DataProtectionRecord>();
    return std::optional<DataProtectionRecord>(read_record(select));
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<void> StateStore::create_data_protection(const DataProtectionRecord& record) {
  std::lock_guard lock(mutex_);
  try {
    // A plain INSERT: a record that exists (another process set one up) makes this fail
    // instead of silently replacing the key of the data directory.
    sqlite::Statement insert(impl_->db,
                             "INSERT INTO data_protection (id, format, kdf, salt, opslimit, memlimit, verifier) "
                             "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)");
    bind_record(insert, record);
    insert.step();
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<std::size_t> StateStore::count_sealed() {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Statement count(impl_->db, "SELECT count(*) FROM connectors WHERE secret_settings != '{}'");
    count.step();
    return static_cast<std::size_t>(count.column_int(0));
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

Result<std::size_t> StateStore::reseal_all(const DataProtectionRecord& record, const Resealer& reseal) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Transaction transaction(impl_->db);
    std::vector<std::pair<std::string, SealedSettings>> rows;
    {
      sqlite::Statement select(impl_->db, "SELECT id, secret_settings FROM connectors WHERE secret_settings != '{}'");
      while (select.step()) {
        rows.emplace_back(select.column_text(0), nlohmann::json::parse(select.column_text(1)).get<SealedSettings>());
      }
    }
    std::size_t count = 0;
    sqlite::Statement update(impl_->db, "UPDATE connectors SET secret_settings = ?2 WHERE id = ?1");
    for (auto& [id, sealed] : rows) {
      for (auto& [setting, value] : sealed) {
        auto resealed = reseal(id, setting, value);
        if (!resealed.ok()) return resealed.error();  // the transaction rolls back
        value = std::move(resealed).value();
        ++count;
      }
      update.reset();
      update.bind(1, id).bind(2, nlohmann::json(sealed).dump());
      update.step();
    }
    sqlite::Statement replace(impl_->db,
                              "INSERT OR REPLACE INTO data_protection (id, format, kdf, salt, opslimit, memlimit, "
                              "verifier) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)");
    bind_record(replace, record);
    replace.step();
    transaction.commit();
    return count;
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::internal,
                      std::string("the state store holds unreadable secret settings: ") + e.what());
  }
}

Result<void> StateStore::compact() {
  std::lock_guard lock(mutex_);
  try {
    impl_->db.exec("VACUUM");
    impl_->db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return {};
  } catch (const sqlite::Error& e) {
    return storage_error(e);
  }
}

}  // namespace sinkhost::runtime
