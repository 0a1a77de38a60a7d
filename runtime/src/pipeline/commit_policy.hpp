#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/checkpoint_store.hpp"

namespace sinkhost::runtime {

// When a connector saves its checkpoint: KurrentDB's autocommit settings (every `interval`, or
// once `recordsThreshold` records were acknowledged since the last save, whichever comes
// first; always when the connector stops). A save the store cannot do now (a full disk) is
// retried at the next one while delivery goes on: the stored checkpoint only lags, so a crash
// meanwhile means records sent twice, never records lost.
//
// Not thread-safe: owned by one connector's delivery thread.
class CommitPolicy {
 public:
  using Clock = std::chrono::steady_clock;

  // autocommit:*; the defaults are the settings table's.
  struct Options {
    bool enabled = CommonSettings::defaults().autocommit.enabled;
    std::chrono::milliseconds interval = CommonSettings::defaults().autocommit.interval;
    std::size_t records_threshold = static_cast<std::size_t>(CommonSettings::defaults().autocommit.records_threshold);
    static Options from(const AutocommitSettings& settings);
    static Options from_settings(const connector::Settings& settings);
  };

  // Calls back when a save starts failing (with the error) and when it works again (nullopt).
  using ConditionCallback = std::function<void(std::optional<connector::Error>)>;
  // Called after every successful save, with the saved position.
  using SavedCallback = std::function<void(SourcePosition)>;

  CommitPolicy(Options options, std::string connector_id, CheckpointStore& store, SourcePosition committed,
               ConditionCallback on_condition, SavedCallback on_saved, Clock::time_point now = Clock::now());

  // `count` more records were acknowledged or skipped.
  void acknowledged(std::size_t count) { since_save_ += count; }

  // When the delivery thread must wake to save `committable` even if nothing else happens.
  std::optional<Clock::time_point> deadline(SourcePosition committable) const;

  // Saves `committable` if autocommit says it is time. An error stops the connector.
  std::optional<connector::Error> maybe_save(SourcePosition committable, Clock::time_point now = Clock::now());

  // Saves `committable` now (a stop, a restart), unless it is saved already.
  std::optional<connector::Error> save(SourcePosition committable, Clock::time_point now = Clock::now());

  SourcePosition committed() const { return committed_; }
  bool failing() const { return failing_; }

 private:
  Options options_;
  std::string connector_id_;
  CheckpointStore& store_;
  SourcePosition committed_;
  ConditionCallback on_condition_;
  SavedCallback on_saved_;
  Clock::time_point last_save_;
  std::size_t since_save_ = 0;
  bool failing_ = false;
};

}  // namespace sinkhost::runtime
