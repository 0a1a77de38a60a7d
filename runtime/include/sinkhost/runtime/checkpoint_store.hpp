#pragma once

#include <string>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

// Where a connector's delivery thread saves its checkpoint: the position up to which every
// record was acknowledged by the sink. The state store implements it.
// Thread-safety: save() may be called from any connector's thread.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // An `unavailable` error means "not now" (a full disk): the caller keeps delivering and tries
  // again later; any other error stops the connector.
  virtual connector::Result<void> save_checkpoint(const std::string& connector_id, SourcePosition position) = 0;
};

}  // namespace sinkhost::runtime
