// Blueprint diagrams. Golden DOT: each tests/engine/diagrams/NAME.flow beside NAME.dot, the DOT of
// every blueprint of the file in order; TEAMFLOW_UPDATE_GOLDEN=1 rewrites the .dot files on
// purpose. SVG output is checked as well-formed XML holding every name, PNG by its signature.

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/diagram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace teamflow;
using engine::DiagramFormat;

// Fontconfig (loaded by Graphviz's pango plugin) keeps its font caches for the life of the
// process, and LeakSanitizer reports them at exit; renderings themselves do not leak.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libfontconfig.so\n";
}

namespace {

// ---------------------------------------------------------------------------------------------
// A small XML well-formedness checker (enough for SVG): one root element, tags that match,
// quoted attributes without `<`, known entities only, comments without `--`, valid UTF-8. It
// collects the decoded character data, one string per run of text.
// ---------------------------------------------------------------------------------------------

struct XmlResult {
    bool ok = false;
    std::string error;
    std::vector<std::string> texts;
};

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':' || c == '-' ||
           c == '.' || static_cast<unsigned char>(c) >= 0x80;
}

void append_code_point(std::string& out, unsigned long c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

class XmlChecker {
public:
    explicit XmlChecker(std::string_view s) : s_(s) {}

    XmlResult run() {
        if (!dsl::is_valid_utf8(s_)) {
            return fail("not valid UTF-8");
        }
        std::vector<std::string> open;
        int roots = 0;
        std::string text;
        while (i_ < s_.size()) {
            if (s_[i_] != '<') {
                if (!character_data(text)) {
                    return result_;
                }
                if (open.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) {
                    return fail("text outside the root element");
                }
                continue;
            }
            flush(text);
            if (starts("<?")) {
                if (!skip_past("?>")) {
                    return result_;
                }
            } else if (starts("<!--")) {
                const std::size_t end = s_.find("-->", i_ + 4);
                if (end == std::string_view::npos) {
                    return fail("unterminated comment");
                }
                if (s_.substr(i_ + 4, end - i_ - 4).find("--") != std::string_view::npos) {
                    return fail("`--` inside a comment");
                }
                i_ = end + 3;
            } else if (starts("<![CDATA[")) {
                const std::size_t end = s_.find("]]>", i_);
                if (end == std::string_view::npos) {
                    return fail("unterminated CDATA");
                }
                i_ = end + 3;
            } else if (starts("<!DOCTYPE")) {
                if (roots > 0 || !skip_past(">")) {
                    return fail("misplaced DOCTYPE");
                }
            } else if (starts("</")) {
                i_ += 2;
                const std::string name = read_name();
                skip_space();
                if (name.empty() || open.empty() || open.back() != name || !expect('>')) {
                    return fail("mismatched end tag </" + name + ">");
                }
                open.pop_back();
            } else {
                ++i_;
                const std::string name = read_name();
                if (name.empty()) {
                    return fail("a stray `<`");
                }
                if (open.empty() && ++roots > 1) {
                    return fail("more than one root element");
                }
                bool empty = false;
                if (!attributes(empty)) {
                    return result_;
                }
                if (!empty) {
                    open.push_back(name);
                }
            }
        }
        flush(text);
        if (!open.empty()) {
            return fail("unclosed element <" + open.back() + ">");
        }
        if (roots != 1) {
            return fail("no root element");
        }
        result_.ok = true;
        return result_;
    }

private:
    XmlResult fail(std::string why) {
        result_.ok = false;
        result_.error = why + " at offset " + std::to_string(i_);
        return result_;
    }

    bool starts(std::string_view p) const { return s_.substr(i_, p.size()) == p; }

    bool skip_past(std::string_view end) {
        const std::size_t at = s_.find(end, i_);
        if (at == std::string_view::npos) {
            fail("unterminated markup");
            return false;
        }
        i_ = at + end.size();
        return true;
    }

    void skip_space() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])) != 0) {
            ++i_;
        }
    }

    bool expect(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }

    std::string read_name() {
        const std::size_t start = i_;
        while (i_ < s_.size() && is_name_char(s_[i_])) {
            ++i_;
        }
        return std::string(s_.substr(start, i_ - start));
    }

    /// Decodes `&…;` at i_ into `out`.
    bool entity(std::string& out) {
        const std::size_t end = s_.find(';', i_);
        if (end == std::string_view::npos || end - i_ > 10) {
            fail("a stray `&`");
            return false;
        }
        const std::string_view e = s_.substr(i_ + 1, end - i_ - 1);
        i_ = end + 1;
        if (e == "amp") {
            out += '&';
        } else if (e == "lt") {
            out += '<';
        } else if (e == "gt") {
            out += '>';
        } else if (e == "quot") {
            out += '"';
        } else if (e == "apos") {
            out += '\'';
        } else if (e.size() > 1 && e[0] == '#') {
            const bool hex = e[1] == 'x';
            const std::string digits(e.substr(hex ? 2 : 1));
            char* stop = nullptr;
            const unsigned long c = std::strtoul(digits.c_str(), &stop, hex ? 16 : 10);
            if (digits.empty() || *stop != '\0' || c == 0 || c > 0x10FFFF) {
                fail("a bad character reference");
                return false;
            }
            append_code_point(out, c);
        } else {
            fail("an unknown entity &" + std::string(e) + ";");
            return false;
        }
        return true;
    }

    bool character_data(std::string& text) {
        while (i_ < s_.size() && s_[i_] != '<') {
            if (s_[i_] == '&') {
                if (!entity(text)) {
                    return false;
                }
            } else {
                text += s_[i_++];
            }
        }
        return true;
    }

    void flush(std::string& text) {
        if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
            result_.texts.push_back(text);
        }
        text.clear();
    }

    bool attributes(bool& empty) {
        std::vector<std::string> seen;
        while (true) {
            skip_space();
            if (starts("/>")) {
                i_ += 2;
                empty = true;
                return true;
            }
            if (expect('>')) {
                return true;
            }
            const std::string name = read_name();
            if (name.empty()) {
                fail("a bad attribute");
                return false;
            }
            if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                fail("a duplicate attribute " + name);
                return false;
            }
            seen.push_back(name);
            skip_space();
            if (!expect('=')) {
                fail("an attribute without a value");
                return false;
            }
            skip_space();
            if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) {
                fail("an unquoted attribute value");
                return false;
            }
            const char quote = s_[i_++];
            std::string value;
            while (i_ < s_.size() && s_[i_] != quote) {
                if (s_[i_] == '<') {
                    fail("`<` in an attribute value");
                    return false;
                }
                if (s_[i_] == '&') {
                    if (!entity(value)) {
                        return false;
                    }
                } else {
                    ++i_;
                }
            }
            if (!expect(quote)) {
                fail("an unterminated attribute value");
                return false;
            }
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
    XmlResult result_;
};

XmlResult check_xml(std::string_view s) {
    return XmlChecker(s).run();
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fs::path cases_dir() {
    return fs::path(TEAMFLOW_SOURCE_DIR) / "tests/engine/diagrams";
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::unique_ptr<dsl::DefinitionSet> compile_case(const std::string& name) {
    const fs::path p = cases_dir() / (name + ".flow");
    std::vector<std::pair<std::string, std::string>> files;
    files.emplace_back("tests/engine/diagrams/" + name + ".flow", read_file(p));
    return dsl::compile_sources(std::move(files));
}

std::string diagnostics_of(const dsl::DefinitionSet& set) {
    return dsl::render_diagnostics(set.sources, set.diagnostics.diagnostics(), false);
}

const dsl::Module& module_of(const dsl::Ast& ast, const dsl::Blueprint& bp) {
    for (const auto& m : ast.modules) {
        if (m.name.text == bp.module.text) {
            return m;
        }
    }
    throw std::runtime_error("no module " + bp.module.text);
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    if (!fs::exists(cases_dir())) {
        return names;
    }
    for (const auto& e : fs::directory_iterator(cases_dir())) {
        if (e.path().extension() == ".flow") {
            names.push_back(e.path().stem().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// Whether some text run of the SVG holds `name`.
bool svg_shows(const XmlResult& xml, const std::string& name) {
    return std::any_of(xml.texts.begin(), xml.texts.end(),
                       [&](const std::string& t) { return t.find(name) != std::string::npos; });
}

// Hand-built ASTs, for what the language cannot say (or before the parser exists).
dsl::Name name(std::string text) {
    dsl::Name n;
    n.text = std::move(text);
    return n;
}

struct Built {
    dsl::Module module;
    dsl::Blueprint blueprint;
};

/// A blueprint on a picklist of `states`: a chain of transitions `T0`, `T1`, ….
Built chain(const std::vector<std::string>& states, const std::string& bp_name = "Chain") {
    Built b;
    b.module.name = name("Things");
    dsl::Field f;
    f.name = name("status");
    f.type.kind = dsl::FieldKind::Picklist;
    for (const auto& s : states) {
        f.type.values.push_back({s, {}});
    }
    b.module.fields.push_back(std::move(f));
    b.blueprint.name = name(bp_name);
    b.blueprint.module = name("Things");
    b.blueprint.field = name("status");
    for (std::size_t i = 0; i + 1 < states.size(); ++i) {
        dsl::Transition t;
        // Built in two steps: `"T" + std::to_string(i)` trips g++ 12's -Wrestrict at -O3.
        std::string tname = std::to_string(i);
        tname.insert(0, 1, 'T');
        t.name = name(tname);
        t.from.states.push_back(name(states[i]));
        dsl::Target target;
        target.state = name(states[i + 1]);
        t.targets.push_back(std::move(target));
        b.blueprint.transitions.push_back(std::move(t));
    }
    return b;
}

std::vector<std::string> numbered_states(std::size_t n) {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back("State " + std::to_string(i));
    }
    return v;
}

// ---------------------------------------------------------------------------------------------
// Golden DOT files
// ---------------------------------------------------------------------------------------------

class DiagramGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(DiagramGolden, MatchesDotFile) {
    const std::string name = GetParam();
    auto set = compile_case(name);
    ASSERT_TRUE(set->ok()) << diagnostics_of(*set);
    ASSERT_FALSE(set->ast.blueprints.empty()) << name << ".flow has no blueprint";
    std::string dot;
    for (const auto& bp : set->ast.blueprints) {
        const auto r = engine::render_blueprint(set->ast, bp.name.text, DiagramFormat::Dot);
        ASSERT_TRUE(r.ok) << r.error;
        dot += r.data;
    }
    const fs::path expected = cases_dir() / (name + ".dot");
    const char* update = std::getenv("TEAMFLOW_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(expected, std::ios::binary) << dot;
        GTEST_SKIP() << "rewrote " << expected;
    }
    ASSERT_TRUE(fs::exists(expected))
        << "missing " << expected << " (TEAMFLOW_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(dot, read_file(expected)) << "TEAMFLOW_UPDATE_GOLDEN=1 rewrites " << expected;
}

TEST_P(DiagramGolden, SvgIsWellFormedAndShowsEveryName) {
    auto set = compile_case(GetParam());
    ASSERT_TRUE(set->ok()) << diagnostics_of(*set);
    for (const auto& bp : set->ast.blueprints) {
        const auto r = engine::render_blueprint(set->ast, bp.name.text, DiagramFormat::Svg);
        ASSERT_TRUE(r.ok) << r.error;
        const XmlResult xml = check_xml(r.data);
        ASSERT_TRUE(xml.ok) << bp.name.text << ": " << xml.error;
        // Names up to a label line (40 code points, no newline) appear whole in one text run.
        auto fits = [](const std::string& s) {
            std::size_t cps = 0;
            for (char c : s) {
                cps += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
            }
            return cps <= 40 && s.find('\n') == std::string::npos;
        };
        for (const auto& v : module_of(set->ast, bp).fields) {
            if (v.name.text != bp.field.text) {
                continue;
            }
            for (const auto& state : v.type.values) {
                if (fits(state.value)) {
                    EXPECT_TRUE(svg_shows(xml, state.value)) << "state " << state.value;
                }
            }
        }
        for (const auto& t : bp.transitions) {
            if (fits(t.name.text)) {
                EXPECT_TRUE(svg_shows(xml, t.name.text)) << "transition " << t.name.text;
            }
        }
        for (const auto& p : bp.parallels) {
            EXPECT_TRUE(svg_shows(xml, p.name.text)) << "parallel " << p.name.text;
            for (const auto& t : p.transitions) {
                EXPECT_TRUE(svg_shows(xml, t.name.text)) << "transition " << t.name.text;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, DiagramGolden, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return param.param;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DiagramGolden);

// ---------------------------------------------------------------------------------------------
// Formats, determinism, limits
// ---------------------------------------------------------------------------------------------

TEST(Diagram, FormatsParseAndName) {
    EXPECT_EQ(engine::parse_diagram_format("svg"), DiagramFormat::Svg);
    EXPECT_EQ(engine::parse_diagram_format("png"), DiagramFormat::Png);
    EXPECT_EQ(engine::parse_diagram_format("dot"), DiagramFormat::Dot);
    EXPECT_FALSE(engine::parse_diagram_format("pdf"));
    EXPECT_STREQ(engine::diagram_extension(DiagramFormat::Png), "png");
}

TEST(Diagram, GraphvizPluginsLoad) {
    const std::string status = engine::graphviz_status();
    EXPECT_NE(status.find("core"), std::string::npos) << status;
    EXPECT_NE(status.find("dot_layout"), std::string::npos) << status;
}

TEST(Diagram, PngHasTheSignature) {
    const Built b = chain({"Open", "Done"});
    const auto r = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Png);
    ASSERT_TRUE(r.ok) << r.error << " (" << engine::graphviz_status() << ")";
    ASSERT_GT(r.data.size(), 8u);
    EXPECT_EQ(r.data.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(Diagram, SameInputSameBytes) {
    const Built b = chain(numbered_states(12));
    for (DiagramFormat f : {DiagramFormat::Dot, DiagramFormat::Svg, DiagramFormat::Png}) {
        const auto r1 = engine::render_blueprint(b.blueprint, b.module, f);
        const auto r2 = engine::render_blueprint(b.blueprint, b.module, f);
        ASSERT_TRUE(r1.ok && r2.ok) << r1.error << r2.error;
        EXPECT_EQ(r1.data, r2.data) << engine::diagram_extension(f);
    }
}

TEST(Diagram, TooBigToDraw) {
    const Built b = chain(numbered_states(1100)); // 1100 states + 1099 edges + 3 other nodes
    const auto svg = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Svg);
    EXPECT_FALSE(svg.ok);
    EXPECT_NE(svg.error.find("too big to draw"), std::string::npos) << svg.error;
    EXPECT_NE(svg.error.find("2000"), std::string::npos) << svg.error;
    const auto dot = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Dot);
    EXPECT_TRUE(dot.ok) << "DOT text has no limit";
    const auto direct = engine::layout_dot(dot.data, DiagramFormat::Svg);
    EXPECT_FALSE(direct.ok);
    EXPECT_NE(direct.error.find("too big to draw"), std::string::npos) << direct.error;
}

TEST(Diagram, BadDotIsAnErrorAndGraphvizStaysUsable) {
    const auto bad = engine::layout_dot("digraph { a -> ", DiagramFormat::Svg);
    EXPECT_FALSE(bad.ok);
    EXPECT_FALSE(bad.error.empty());
    const Built b = chain({"Open", "Done"});
    const auto good = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Svg);
    EXPECT_TRUE(good.ok) << good.error;
}

TEST(Diagram, UnknownBlueprintIsAnError) {
    dsl::Ast ast;
    const auto r = engine::render_blueprint(ast, "Nope", DiagramFormat::Dot);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "no blueprint \"Nope\"");
}

TEST(Diagram, ConcurrentRenderingsAgree) {
    const Built b = chain(numbered_states(8));
    const auto expected = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Svg);
    ASSERT_TRUE(expected.ok) << expected.error;
    std::vector<std::string> got(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([&, i] {
            for (int k = 0; k < 3; ++k) {
                const auto r = engine::render_blueprint(
                    b.blueprint, b.module, k == 1 ? DiagramFormat::Png : DiagramFormat::Svg);
                if (k != 1) {
                    got[i] = r.ok ? r.data : r.error;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& g : got) {
        EXPECT_EQ(g, expected.data);
    }
}

// ---------------------------------------------------------------------------------------------
// Escaping, on names the language cannot write (or only with escapes)
// ---------------------------------------------------------------------------------------------

TEST(Diagram, EscapesHtmlAndQuotedStrings) {
    Built b = chain({"a<b>&\"c\"", "back\\slash\\", "é\x01tab\there"}, "Blue \"print\" -- <x> &\\");
    const auto dot = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Dot);
    ASSERT_TRUE(dot.ok);
    // Quoted strings: `"` and `\` escaped, and `&` as `&amp;` (Graphviz decodes entities).
    EXPECT_NE(dot.data.find(R"(label="a<b>&amp;\"c\"", tooltip="a<b>&amp;\"c\"")"),
              std::string::npos)
        << dot.data;
    EXPECT_NE(dot.data.find(R"(label="back\\slash\\", tooltip="back\\slash\\")"), std::string::npos)
        << dot.data;
    EXPECT_NE(dot.data.find(R"(label="é tab here")"), std::string::npos) << dot.data;
    EXPECT_NE(dot.data.find(R"(digraph "Blue \"print\" -- <x> &amp;\\" {)"), std::string::npos)
        << dot.data;
    const auto svg = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Svg);
    ASSERT_TRUE(svg.ok) << svg.error;
    const XmlResult xml = check_xml(svg.data);
    ASSERT_TRUE(xml.ok) << xml.error;
    EXPECT_TRUE(svg_shows(xml, "a<b>&\"c\""));
    EXPECT_TRUE(svg_shows(xml, "back\\slash\\"));
    EXPECT_TRUE(svg_shows(xml, "Blue \"print\" -- <x> &\\"));
}

TEST(Diagram, InvalidUtf8AndEmptyNamesStillDraw) {
    Built b = chain({"bad\xff\xfe", "", "\xc3"});
    const auto dot = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Dot);
    ASSERT_TRUE(dot.ok);
    EXPECT_NE(dot.data.find("label=\"bad\xef\xbf\xbd\xef\xbf\xbd\""), std::string::npos)
        << dot.data;
    EXPECT_NE(dot.data.find("label=\"\""), std::string::npos) << dot.data;
    const auto svg = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Svg);
    ASSERT_TRUE(svg.ok) << svg.error;
    EXPECT_TRUE(check_xml(svg.data).ok);
}

TEST(Diagram, LongNamesWrapAndEllipsize) {
    const std::string word(130, 'w');
    const std::string sentence =
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three";
    Built b = chain({word, sentence});
    const auto dot = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Dot);
    ASSERT_TRUE(dot.ok);
    // A 130-letter word is cut into lines of 40; the third and last ends in an ellipsis.
    const std::string w40(40, 'w');
    EXPECT_NE(dot.data.find("label=\"" + w40 + "\\n" + w40 + "\\n" + std::string(39, 'w') +
                            "\xe2\x80\xa6\""),
              std::string::npos)
        << dot.data;
    EXPECT_NE(dot.data.find("one two three four five six seven eight\\nnine ten eleven twelve "
                            "thirteen fourteen\\nfifteen sixteen seventeen eighteen\xe2\x80\xa6\""),
              std::string::npos)
        << dot.data;
    // The tooltip keeps the whole name.
    EXPECT_NE(dot.data.find("tooltip=\"" + sentence + "\""), std::string::npos);
}

TEST(Diagram, TrickyBlueprintNameSvgIsWellFormed) {
    Built b = chain({"A", "B"}, "x --> y <!-- z ]]> &amp; \"q\"");
    const auto svg = engine::render_blueprint(b.blueprint, b.module, DiagramFormat::Svg);
    ASSERT_TRUE(svg.ok) << svg.error;
    const XmlResult xml = check_xml(svg.data);
    EXPECT_TRUE(xml.ok) << xml.error;
    EXPECT_TRUE(svg_shows(xml, "x --> y <!-- z ]]> &amp; \"q\""));
}

TEST(XmlCheck, RejectsBrokenXml) {
    EXPECT_TRUE(check_xml("<?xml version=\"1.0\"?><a x=\"1\"><b/>t &amp; &#233;</a>").ok);
    EXPECT_FALSE(check_xml("<a><b></a></b>").ok);
    EXPECT_FALSE(check_xml("<a>x & y</a>").ok);
    EXPECT_FALSE(check_xml("<a>x < y</a>").ok);
    EXPECT_FALSE(check_xml("<a x=1></a>").ok);
    EXPECT_FALSE(check_xml("<a x=\"<\"></a>").ok);
    EXPECT_FALSE(check_xml("<a><!-- a -- b --></a>").ok);
    EXPECT_FALSE(check_xml("<a></a><b></b>").ok);
    EXPECT_FALSE(check_xml("<a>").ok);
    EXPECT_FALSE(check_xml("<a>&nbsp;</a>").ok);
}

} // namespace
