// What a record transform costs per record, without Kafka: builds the kafka bench's record
// (~250 bytes of JSON, 12 headers) and runs transforms on it, splitting the fixed cost of the
// JavaScript round trip into headers and value. Prints numbers; not a test.
//
//   sinkhost_bench_transform [--records N]
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "sinkhost/runtime/record_builder.hpp"
#include "sinkhost/runtime/transform.hpp"

using namespace sinkhost;

namespace {

constexpr const char* kTypical = R"(
function transform(record) {
  record.value.totalCents = Math.round(record.value.total * 100);
  record.headers['x-tenant'] = record.headers['esdb-record-headers-tenant'];
  record.key = record.value.customer;
}
)";

runtime::StoredEvent bench_event() {
  runtime::StoredEvent e{};
  e.event_id = "cccccccc-0000-4000-8000-000000000001";
  e.stream = "order-1";
  e.event_type = "OrderPlaced";
  e.is_json = true;
  e.data = R"({"orderId":"order-1","customer":"customer-42","total":125.5,"note":")";
  e.data.append(248 - e.data.size(), 'x');
  e.data += "\"}";
  e.metadata = R"({"tenant":"acme","source":"bench"})";
  return e;
}

// Microseconds of CPU per record for make_record plus the transform (none when source is empty).
double cpu_us_per_record(const std::string& source, bool headers, bool value, int records) {
  std::unique_ptr<runtime::RecordTransform> transform;
  if (!source.empty()) {
    auto compiled = runtime::RecordTransform::compile(source, std::chrono::milliseconds(1000));
    if (!compiled.ok()) {
      std::fprintf(stderr, "does not compile: %s\n", compiled.error().field_violations.at(0).description.c_str());
      std::exit(1);
    }
    transform = std::move(compiled).value();
  }
  const auto event = bench_event();
  const auto start = std::clock();
  for (int i = 0; i < records; ++i) {
    auto record = runtime::make_record(event, "bench", true);
    if (!headers) record.headers.clear();
    if (!value) record.data = "{}";
    if (transform && !transform->apply(record).ok()) std::exit(2);
  }
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC / records * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 200000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--records") records = std::stoi(argv[++i]);
  }
  std::printf("CPU time per record (make_record included), %d records\n", records);
  const std::string empty = "function transform(record) {}";
  std::printf("%-52s %6.2f us\n", "no transform", cpu_us_per_record("", true, true, records));
  std::printf("%-52s %6.2f us\n", "typical transform (the kafka bench's)",
              cpu_us_per_record(kTypical, true, true, records));
  std::printf("%-52s %6.2f us\n", "empty transform", cpu_us_per_record(empty, true, true, records));
  std::printf("%-52s %6.2f us\n", "empty transform, no headers", cpu_us_per_record(empty, false, true, records));
  std::printf("%-52s %6.2f us\n", "empty transform, no headers, value {}",
              cpu_us_per_record(empty, false, false, records));
  return 0;
}
