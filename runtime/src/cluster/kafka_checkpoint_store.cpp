#include "sinkhost/runtime/cluster/kafka_checkpoint_store.hpp"

#include <utility>

#include <spdlog/spdlog.h>

namespace sinkhost::runtime::cluster {

namespace {

// Folds one record, and says why a record was left out when the reason matters to an operator.
void fold_logged(CheckpointTable& table, const TableRecord& record, const std::string& topic) {
  switch (fold_checkpoint(table, record)) {
    case CheckpointFold::stale:
      spdlog::warn(
          "[cluster] checkpoints topic '{}' offset {}: connector {}'s checkpoint written by host {} with "
          "generation {} is ignored: a newer generation owns the connector",
          topic, record.offset, record.key, record.stamp ? record.stamp->host_id : "?",
          record.stamp ? record.stamp->generation : -1);
      break;
    case CheckpointFold::unreadable:
      spdlog::warn("[cluster] checkpoints topic '{}' offset {}: connector {}'s record is not a checkpoint, ignored",
                   topic, record.offset, record.key);
      break;
    case CheckpointFold::applied:
    case CheckpointFold::already_folded: break;
  }
}

}  // namespace

Result<std::unique_ptr<KafkaCheckpointStore>> KafkaCheckpointStore::open(KafkaTableOptions options) {
  auto table = KafkaTable::open(std::move(options));
  if (!table.ok()) return table.error();
  std::unique_ptr<KafkaCheckpointStore> store(new KafkaCheckpointStore(std::move(*table)));
  const std::string& topic = store->table_->topic();
  auto loaded = store->table_->load([&](TableRecord record) { fold_logged(store->checkpoints_, record, topic); });
  if (!loaded.ok()) return loaded.error();
  return store;
}

KafkaCheckpointStore::KafkaCheckpointStore(std::unique_ptr<KafkaTable> table)
    : table_(std::move(table)), generation_(table_->writer().generation), host_id_(table_->writer().host_id) {}

KafkaCheckpointStore::~KafkaCheckpointStore() = default;

void KafkaCheckpointStore::set_generation(std::int32_t generation) {
  std::int32_t held = generation_.load();
  while (generation > held && !generation_.compare_exchange_weak(held, generation)) {
  }
  table_->set_generation(generation_.load());
}

std::int32_t KafkaCheckpointStore::generation() const { return generation_.load(); }

Result<void> KafkaCheckpointStore::save_checkpoint(const std::string& connector_id, SourcePosition position) {
  return write(connector_id, position);
}

Result<void> KafkaCheckpointStore::reset_checkpoint(const std::string& connector_id) {
  return write(connector_id, std::nullopt);
}

Result<void> KafkaCheckpointStore::write(const std::string& connector_id,
                                         const std::optional<SourcePosition>& position) {
  const std::int32_t generation = generation_.load();
  {
    std::lock_guard lock(mutex_);
    if (auto read = read_to_end(); !read.ok()) return read.error();
    if (auto owner = check_checkpoint_owner(checkpoints_, connector_id, generation); !owner.ok()) return owner.error();
  }
  // The table stamps the generation it was last given, never older than the one checked.
  auto written = position ? table_->put(connector_id, encode_checkpoint(*position)) : table_->erase(connector_id);
  if (!written.ok()) return written.error();
  std::lock_guard lock(mutex_);
  TableRecord own{connector_id, position ? std::optional(encode_checkpoint(*position)) : std::nullopt,
                  WriterStamp{host_id_, generation}, written->partition, written->offset};
  fold_logged(checkpoints_, own, table_->topic());
  return {};
}

Result<std::optional<SourcePosition>> KafkaCheckpointStore::load_checkpoint(const std::string& connector_id) {
  std::lock_guard lock(mutex_);
  if (auto read = read_to_end(); !read.ok()) return read.error();
  auto found = checkpoints_.find(connector_id);
  if (found == checkpoints_.end()) return std::optional<SourcePosition>();
  return found->second.position;
}

Result<std::map<std::string, SourcePosition>> KafkaCheckpointStore::load_checkpoints() {
  std::lock_guard lock(mutex_);
  if (auto read = read_to_end(); !read.ok()) return read.error();
  std::map<std::string, SourcePosition> checkpoints;
  for (const auto& [id, entry] : checkpoints_) {
    if (entry.position) checkpoints.emplace(id, *entry.position);
  }
  return checkpoints;
}

Result<void> KafkaCheckpointStore::read_to_end() {
  const std::string& topic = table_->topic();
  return table_->read_to_end([&](TableRecord record) { fold_logged(checkpoints_, record, topic); });
}

}  // namespace sinkhost::runtime::cluster
