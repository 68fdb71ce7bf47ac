// Golden diagnostics: each tests/dsl/cases/NAME.flow (or folder NAME/) beside NAME.expected, the
// exact output of `teamflow check --color never tests/dsl/cases/NAME[.flow]` run from the source
// folder. TEAMFLOW_UPDATE_GOLDEN=1 rewrites the expected files on purpose.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Case {
    std::string name;     // test name
    std::string relative; // path passed to the CLI
    fs::path expected;
};

/// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.relative; }

std::vector<Case> collect_cases() {
    std::vector<Case> cases;
    const fs::path root = fs::path(TEAMFLOW_SOURCE_DIR) / "tests/dsl/cases";
    if (!fs::exists(root)) {
        return cases;
    }
    for (const auto& entry : fs::directory_iterator(root)) {
        const fs::path p = entry.path();
        const bool is_case = entry.is_directory() || p.extension() == ".flow";
        if (!is_case) {
            continue;
        }
        std::string stem = entry.is_directory() ? p.filename().string() : p.stem().string();
        std::string name = stem;
        std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(
            static_cast<unsigned char>(c)); }, '_');
        cases.push_back({name, "tests/dsl/cases/" + p.filename().string(),
                         root / (stem + ".expected")});
    }
    std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
    return cases;
}

std::string run_cli(const std::string& relative, int& status) {
    const std::string cmd = "cd '" + std::string(TEAMFLOW_SOURCE_DIR) + "' && '" +
                            std::string(TEAMFLOW_BINARY_DIR) +
                            "/tools/teamflow' check --color never '" + relative + "' 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        status = -1;
        return {};
    }
    std::string out;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) {
        out.append(buf.data(), n);
    }
    const int rc = pclose(pipe);
    status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

class Golden : public testing::TestWithParam<Case> {};

TEST_P(Golden, MatchesExpectedOutput) {
    const Case& c = GetParam();
    int status = 0;
    const std::string actual = run_cli(c.relative, status);
    const bool has_error = actual.find(": error: ") != std::string::npos;
    EXPECT_EQ(status, has_error ? 1 : 0) << "exit status of teamflow check " << c.relative;

    const char* update = std::getenv("TEAMFLOW_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(c.expected, std::ios::binary) << actual;
        GTEST_SKIP() << "rewrote " << c.expected;
    }
    std::ifstream in(c.expected, std::ios::binary);
    ASSERT_TRUE(in) << "missing " << c.expected << " (run with TEAMFLOW_UPDATE_GOLDEN=1)";
    std::stringstream expected;
    expected << in.rdbuf();
    EXPECT_EQ(actual, expected.str()) << "for " << c.relative;
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, testing::ValuesIn(collect_cases()),
                         [](const testing::TestParamInfo<Case>& param) { return param.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

} // namespace
