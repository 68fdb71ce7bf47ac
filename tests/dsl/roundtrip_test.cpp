// Round trip of the canonical printer: for every `.flow` file under definitions/ and examples/
// (found at run time) and the in-test samples, print(parse(print(parse(x)))) == print(parse(x)),
// without syntax errors.

#include "parser_samples.hpp"
#include "teamflow/dsl/parser.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

namespace teamflow::dsl {
namespace {

namespace fs = std::filesystem;

struct Printed {
    std::string text;
    std::string errors;
};

Printed parse_and_print(const std::string& path, const std::string& source) {
    SourceManager sources;
    const FileId id = sources.add(path, source);
    Ast ast;
    DiagnosticSink sink;
    parse_file(sources, id, ast, sink);
    return Printed{print_ast(ast), render_diagnostics(sources, sink.diagnostics(), false)};
}

void expect_round_trip(const std::string& path, const std::string& source) {
    const Printed first = parse_and_print(path, source);
    ASSERT_EQ(first.errors, "") << path;
    const Printed second = parse_and_print(path + " (printed)", first.text);
    ASSERT_EQ(second.errors, "") << path << " printed as:\n" << first.text;
    EXPECT_EQ(second.text, first.text) << path;
}

std::vector<fs::path> flow_files() {
    std::vector<fs::path> files;
    for (const char* dir : {"definitions", "examples"}) {
        const fs::path root = fs::path(TEAMFLOW_SOURCE_DIR) / dir;
        std::error_code ec;
        if (!fs::is_directory(root, ec)) {
            continue;
        }
        for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end;
             it.increment(ec)) {
            if (it->is_regular_file(ec) && it->path().extension() == ".flow") {
                files.push_back(it->path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST(RoundTrip, Samples) {
    expect_round_trip("spec_example", samples::spec_example);
    expect_round_trip("every_construct", samples::every_construct);
}

TEST(RoundTrip, DefinitionsAndExamples) {
    for (const fs::path& file : flow_files()) {
        std::ifstream in(file, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        SCOPED_TRACE(file.string());
        expect_round_trip(file.string(), text.str());
    }
}

TEST(RoundTrip, PrintedSpecExampleIsStable) {
    // The printed form is canonical: comments and layout go, meaning stays.
    const Printed p = parse_and_print("spec", samples::spec_example);
    EXPECT_NE(p.text.find("transition \"Ask discount\" from \"Negotiation\" {\n"
                          "        by owner\n"
                          "        require discount\n"
                          "        to \"Discount approval\" when discount > 10\n"
                          "        to \"Legal review\" otherwise\n"
                          "    }\n"),
              std::string::npos)
        << p.text;
    EXPECT_NE(p.text.find("after 30d {"), std::string::npos);
    EXPECT_NE(p.text.find("validate close_date >= today() else \"The close date {close_date} is in "
                          "the past\""),
              std::string::npos);
}

TEST(RoundTrip, QuotesNamesThatNeedIt) {
    const Printed p = parse_and_print(
        "q", "role \"test\", \"a b\"\nmodule M { route requests { otherwise assign \"role\" } }\n"
             "blueprint B on M.s { transition T from \"any\" to \"x\" { } }\n");
    ASSERT_EQ(p.errors, "");
    EXPECT_NE(p.text.find("role \"test\", \"a b\""), std::string::npos) << p.text;
    EXPECT_NE(p.text.find("assign \"role\""), std::string::npos) << p.text;
    EXPECT_NE(p.text.find("from \"any\" to \"x\""), std::string::npos) << p.text;
    expect_round_trip("q", p.text);
}

} // namespace
} // namespace teamflow::dsl
