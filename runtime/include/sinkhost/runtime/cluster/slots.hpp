#pragma once

#include <cstdint>
#include <string_view>

// Which slot a connector belongs to in cluster mode (docs/architecture.md, "Cluster mode").
namespace sinkhost::runtime::cluster {

// Kafka's murmur2: the hash of the Java client's default partitioner and of librdkafka's
// "murmur2" partitioners (MurmurHash2, 32 bits, seed 0x9747b28c, bytes read little-endian).
std::uint32_t murmur2(std::string_view bytes);

// The slot of a connector: the partition of the assignment topic whose owner runs it. It is the
// partition Kafka's default partitioner picks for a record keyed by the connector id
// (murmur2 & 0x7fffffff, modulo `slots`), so the mapping is stable across hosts, restarts and
// client languages, and a topic keyed by connector id with `slots` partitions is co-partitioned
// with the assignment topic.
//
// Two connectors may share a slot: they then always run on the same host, which is correct
// (one owner per slot) but balances less evenly when connectors are few next to the slots.
// `slots` must be at least 1 (0 is returned otherwise). Changing the slot count of a running
// cluster moves connectors between slots, so it is fixed when the assignment topic is created.
int slot_of(std::string_view connector_id, int slots);

}  // namespace sinkhost::runtime::cluster
