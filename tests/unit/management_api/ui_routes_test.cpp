// The status page's files as the API serves them (the browser test, tests/ui, runs the page).
#include "api_fixture.hpp"

namespace sinkhost::management_api {
namespace {

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST_F(ApiTest, TheStatusPageIsServedWithItsOwnFilesOnly) {
  auto page = call("GET", "/ui/", "", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"app.js\"></script>"), std::string::npos);
  EXPECT_NE(header(page, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  // Nothing is loaded from elsewhere.
  for (const char* external : {"src=\"http", "href=\"http", "src=\"//", "href=\"//"}) {
    EXPECT_EQ(page.body.find(external), std::string::npos) << external;
  }

  auto script = call("GET", "/ui/app.js", "", "");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("/connectors?pageSize=100"), std::string::npos);
  EXPECT_EQ(call("GET", "/ui/style.css", "", "").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(call("GET", "/ui/index.html?x=1", "", "").body, page.body);
}

TEST_F(ApiTest, TheStatusPageRedirectsRefusesOtherMethodsAndUnknownFiles) {
  auto redirect = call("GET", "/ui", "", "");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(header(redirect, "Location"), "/ui/");
  auto missing = call("GET", "/ui/secrets.txt", "", "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body(missing)["code"], 5);
  EXPECT_EQ(call("GET", "/ui/a/app.js", "", "").status, 404);
  auto post = call("POST", "/ui/", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET, HEAD");
}

}  // namespace
}  // namespace sinkhost::management_api
