#pragma once
// Data protection tokens for tests that start sinkhost with secret settings (a host without a
// token refuses them with a 400). Use:
//   SinkhostProcess host{data, {"--data-protection-token-file", test::write_token_file(dir.path())}};

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace sinkhost::test {

// A fixed, well-formed generated token (32 bytes 0x00..0x1f in base64url): failures reproduce.
inline const std::string kTestToken = "sinkhost-dpt1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

// Writes `token` (default kTestToken) with a line end to DIRECTORY/NAME, mode 0600, as an
// operator would; returns the path.
inline std::string write_token_file(const std::string& directory, const std::string& token = kTestToken,
                                    const std::string& name = "token") {
  const auto path = directory + "/" + name;
  {
    std::ofstream out(path, std::ios::trunc);
    out << token << "\n";
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  ::chmod(path.c_str(), 0600);
  return path;
}

}  // namespace sinkhost::test
