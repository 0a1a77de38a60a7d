#include "pipeline/commit_policy.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

CommitPolicy::Options CommitPolicy::Options::from(const AutocommitSettings& settings) {
  return {
      .enabled = settings.enabled,
      .interval = settings.interval,
      .records_threshold = static_cast<std::size_t>(settings.records_threshold),
  };
}

CommitPolicy::Options CommitPolicy::Options::from_settings(const connector::Settings& settings) {
  return from(CommonSettings::from(settings).autocommit);
}

CommitPolicy::CommitPolicy(Options options, std::string connector_id, CheckpointStore& store, SourcePosition committed,
                           ConditionCallback on_condition, SavedCallback on_saved, Clock::time_point now)
    : options_(options),
      connector_id_(std::move(connector_id)),
      store_(store),
      committed_(committed),
      on_condition_(std::move(on_condition)),
      on_saved_(std::move(on_saved)),
      last_save_(now) {}

std::optional<CommitPolicy::Clock::time_point> CommitPolicy::deadline(SourcePosition committable) const {
  if (!options_.enabled || committable == committed_) return std::nullopt;
  return last_save_ + options_.interval;
}

std::optional<connector::Error> CommitPolicy::maybe_save(SourcePosition committable, Clock::time_point now) {
  if (!options_.enabled) return std::nullopt;
  if (since_save_ < options_.records_threshold && now - last_save_ < options_.interval) return std::nullopt;
  return save(committable, now);
}

std::optional<connector::Error> CommitPolicy::save(SourcePosition committable, Clock::time_point now) {
  if (committable == committed_) return std::nullopt;
  since_save_ = 0;
  last_save_ = now;
  if (auto saved = store_.save_checkpoint(connector_id_, committable); !saved.ok()) {
    if (saved.error().code != ErrorCode::unavailable) return saved.error();
    if (!failing_ && on_condition_) {
      on_condition_(make_error(ErrorCode::unavailable, "cannot save the checkpoint: " + saved.error().message));
    }
    failing_ = true;
    return std::nullopt;
  }
  if (failing_ && on_condition_) on_condition_(std::nullopt);
  failing_ = false;
  committed_ = committable;
  if (on_saved_) on_saved_(committed_);
  return std::nullopt;
}

}  // namespace sinkhost::runtime
