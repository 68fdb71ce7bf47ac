// Loading definition sets: bad paths, bad encodings, huge files, and the diagnostics' rendering.

#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/dsl/frontend.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace teamflow::dsl;

namespace {

class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("teamflow-frontend-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                 "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    fs::path write(const std::string& name, const std::string& text) const {
        const fs::path p = path_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

bool has_code(const DefinitionSet& set, const std::string& code) {
    for (const Diagnostic& d : set.diagnostics.diagnostics()) {
        if (d.code == code) {
            return true;
        }
    }
    return false;
}

TEST(Frontend, MissingPathIsAUsageError) {
    LoadError error;
    EXPECT_EQ(load_definition_set({"/no/such/place"}, error), nullptr);
    EXPECT_NE(error.message.find("/no/such/place"), std::string::npos);
}

TEST(Frontend, FolderWithoutFlowFilesIsAUsageError) {
    TempDir dir;
    dir.write("notes.txt", "hello");
    LoadError error;
    EXPECT_EQ(load_definition_set({dir.path().string()}, error), nullptr);
    EXPECT_NE(error.message.find("no .flow files"), std::string::npos);
}

TEST(Frontend, NoPathsIsAUsageError) {
    LoadError error;
    EXPECT_EQ(load_definition_set({}, error), nullptr);
    EXPECT_FALSE(error.message.empty());
}

TEST(Frontend, ReadsFoldersRecursivelyInSortedOrderAndEachFileOnce) {
    TempDir dir;
    dir.write("b.flow", "role B\n");
    dir.write("sub/a.flow", "role A\n");
    const fs::path c = dir.write("c.flow", "role C\n");
    LoadError error;
    auto set = load_definition_set({dir.path().string(), c.string()}, error);
    ASSERT_NE(set, nullptr) << error.message;
    ASSERT_EQ(set->sources.size(), 3u);
    EXPECT_NE(set->sources.file(0).path().find("b.flow"), std::string::npos);
    EXPECT_NE(set->sources.file(1).path().find("c.flow"), std::string::npos);
    EXPECT_NE(set->sources.file(2).path().find("sub/a.flow"), std::string::npos);
    EXPECT_TRUE(set->ok());
    EXPECT_EQ(set->ast.roles.size(), 3u);
}

TEST(Frontend, InvalidUtf8IsADiagnosticAtTheBadByte) {
    TempDir dir;
    const fs::path p = dir.write("bad.flow", "role A\nrole B\xff\xfe\n");
    LoadError error;
    auto set = load_definition_set({p.string()}, error);
    ASSERT_NE(set, nullptr);
    ASSERT_TRUE(has_code(*set, "invalid-utf8"));
    const Diagnostic& d = set->diagnostics.diagnostics().front();
    const LineColumn lc = set->sources.file(d.range.file).line_column(d.range.begin);
    EXPECT_EQ(lc.line, 2u);
    EXPECT_EQ(lc.column, 7u);
    // The rendering never echoes the invalid bytes.
    const std::string text = render_diagnostics(set->sources, set->diagnostics.diagnostics(), false);
    EXPECT_EQ(text.find('\xff'), std::string::npos);
}

TEST(Frontend, OversizeFileIsADiagnosticNotACrash) {
    std::string huge(max_file_bytes + 1, ' ');
    auto set = compile_sources({{"huge.flow", std::move(huge)}, {"ok.flow", "role A\n"}});
    EXPECT_TRUE(has_code(*set, "file-too-large"));
    EXPECT_EQ(set->ast.roles.size(), 1u);
}

TEST(Frontend, EmptyFileIsFine) {
    auto set = compile_sources({{"empty.flow", ""}});
    EXPECT_TRUE(set->ok());
}

TEST(Frontend, DeepNestingIsAnErrorNotAStackOverflow) {
    std::string expr(100000, '(');
    auto set = compile_sources({{"deep.flow", "module M { field a: number default " + expr + "1\n}\n"}});
    EXPECT_FALSE(set->ok());
    std::string nots;
    for (int i = 0; i < 50000; ++i) {
        nots += "not ";
    }
    auto set2 = compile_sources(
        {{"nots.flow", "module M { field a: boolean default " + nots + "true\n}\n"}});
    EXPECT_FALSE(set2->ok());
    std::string minus(100000, '-');
    auto set3 = compile_sources({{"minus.flow", "module M { field a: number default " + minus + "1\n}\n"}});
    EXPECT_FALSE(set3->ok());
}

TEST(Frontend, GarbageNeverCrashes) {
    const char* inputs[] = {"\0\0\0", "}}}}", "module", "module {", "blueprint X on", "test \"",
                            "\"unterminated", "user u { roles }", "role ,,,", "# only a comment"};
    for (const char* in : inputs) {
        auto set = compile_sources({{"g.flow", std::string(in)}});
        SUCCEED();
    }
}

TEST(Diagnostics, RendersCaretUnderTheRangeCountingCharacters) {
    SourceManager sources;
    const FileId f = sources.add("x.flow", "  name \"Léa\" bad\n");
    Diagnostic d{Severity::Error, "demo", "unknown thing \"bad\"", SourceRange{f, 14, 17}, {}};
    const std::string out = render_diagnostic(sources, d, false);
    EXPECT_EQ(out, "x.flow:1:14: error: unknown thing \"bad\"\n"
                   "  name \"Léa\" bad\n"
                   "             ^~~\n");
}

TEST(Diagnostics, ClosestNameFindsNearNamesOnly) {
    EXPECT_EQ(closest_name("Negociation", {"Qualification", "Negotiation"}), "Negotiation");
    EXPECT_EQ(closest_name("xyz", {"Qualification", "Negotiation"}), "");
    EXPECT_EQ(closest_name("amout", {"amount", "account"}), "amount");
}

} // namespace
