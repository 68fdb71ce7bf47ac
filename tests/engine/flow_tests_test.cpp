// The `test` blocks of the shipped definitions and of every example pass.

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/test_runner.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

namespace {

void run_set(const std::string& dir) {
    teamflow::dsl::LoadError error;
    auto set = teamflow::dsl::load_definition_set({dir}, error);
    ASSERT_NE(set, nullptr) << error.message;
    std::ostringstream out;
    const int rc = teamflow::engine::run_tests(*set, out);
    EXPECT_EQ(rc, 0) << out.str();
}

TEST(FlowTests, Definitions) { run_set(std::string(TEAMFLOW_SOURCE_DIR) + "/definitions"); }

TEST(FlowTests, Examples) {
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(TEAMFLOW_SOURCE_DIR) + "/examples")) {
        if (entry.is_directory()) {
            SCOPED_TRACE(entry.path().string());
            run_set(entry.path().string());
        }
    }
}

} // namespace
