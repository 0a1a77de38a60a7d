#pragma once
// Looks for a string in every byte of every file under a directory: the tests that prove a
// secret never reaches the disk in clear use it on the whole data directory (databases, WAL,
// journals, anything else sinkhost writes there).

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sinkhost::test {

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every regular file under `directory` (recursively).
inline std::vector<std::string> files_under(const std::string& directory) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) out.push_back(entry.path().string());
  }
  return out;
}

// The files under `directory` whose bytes contain `needle`.
inline std::vector<std::string> files_containing(const std::string& directory, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& path : files_under(directory)) {
    if (read_whole_file(path).find(needle) != std::string::npos) out.push_back(path);
  }
  return out;
}

}  // namespace sinkhost::test
