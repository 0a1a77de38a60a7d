#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

const char* to_string(SourceHealth::State state) {
  switch (state) {
    case SourceHealth::State::healthy: return "HEALTHY";
    case SourceHealth::State::reconnecting: return "RECONNECTING";
    case SourceHealth::State::failed: return "FAILED";
  }
  return "HEALTHY";
}

}  // namespace sinkhost::runtime
