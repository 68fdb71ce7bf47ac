// `teamflow-bench check`: parse + check throughput on a generated definition set of N modules, each
// with a blueprint, beside a baseline that only scans the same bytes (UTF-8 validation and line
// count), measured in the same run.

#include "bench.hpp"

#include "teamflow/dsl/frontend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string generate_module(int i) {
    const std::string m = fmt::format("Module{}", i);
    std::string s;
    s += fmt::format("# generated module {}\nmodule {} {{\n  label \"Module number {}\"\n", i, m, i);
    s += "  field name: text required unique\n";
    s += "  field amount: currency required\n";
    s += "  field discount: percent\n";
    s += "  field close_date: date\n";
    s += "  field reviewed_at: datetime\n";
    s += "  field contact: email\n";
    s += "  field reviewer: user\n";
    s += "  field priority: number default 3\n";
    s += "  field notes: text\n";
    if (i > 0) {
        s += fmt::format("  field parent: lookup Module{}\n", i - 1);
    }
    s += "  field stage: picklist [\"New\", \"Review\", \"Approval\", \"Done\", \"Dropped\"] default "
         "\"New\"\n}\n\n";
    s += fmt::format("blueprint Flow{} on {}.stage when amount > 0 {{\n", i, m);
    s += "  transition Start from \"New\" to \"Review\" {\n"
         "    by owner, role Manager\n"
         "    when close_date is not empty and priority >= 1\n"
         "    require amount, close_date\n"
         "    validate close_date >= today() else \"close date {close_date} is in the past\"\n"
         "    validate len(name) > 2 else \"name {name} is too short\"\n"
         "    then set priority = priority + 1\n"
         "  }\n";
    s += "  transition Decide from \"Review\" {\n"
         "    by owner\n"
         "    require discount\n"
         "    to \"Approval\" when discount > 10\n"
         "    to \"Done\" otherwise\n"
         "  }\n";
    s += "  parallel Approve from \"Approval\" to \"Done\" {\n"
         "    transition \"Finance approves\" { by role Manager }\n"
         "    transition \"Counsel approves\" { by user ann  checklist \"Terms\", \"Liability\" }\n"
         "  }\n";
    s += "  transition Drop from any to \"Dropped\" {\n"
         "    by owner, role Manager\n"
         "    require notes\n"
         "    then notify owner \"{name} was dropped: {notes}\"\n"
         "  }\n";
    s += "  transition Expire from \"Review\" to \"Dropped\" after 30d {\n"
         "    when discount is empty or lower(name) == \"test\"\n"
         "    then set notes = \"expired on \" + today()\n"
         "  }\n";
    s += "  sla \"Approval\" within 5d {\n"
         "    then notify role Manager \"approval of {name} is late\"\n"
         "  }\n}\n\n";
    return s;
}

struct Figures {
    double seconds = 0;
    bool ok = false;
    std::size_t diagnostics = 0;
};

} // namespace

int run_check_bench(int argc, char** argv) {
    int modules = 1000;
    int repeat = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--modules") == 0) {
            modules = std::atoi(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--repeat") == 0) {
            repeat = std::atoi(argv[i + 1]);
        }
    }
    if (modules < 1 || repeat < 1) {
        fmt::print(stderr, "teamflow-bench check: --modules and --repeat must be positive\n");
        return 2;
    }

    // 50 modules per file, like a real set split by area.
    std::vector<std::pair<std::string, std::string>> files;
    files.emplace_back("org.flow", "role Manager\nuser ann { name \"Ann\" roles Manager }\n"
                                   "user bob { name \"Bob\" email \"bob@example.test\" }\n");
    for (int i = 0; i < modules; ++i) {
        if (i % 50 == 0) {
            files.emplace_back(fmt::format("area{}.flow", i / 50), std::string());
        }
        files.back().second += generate_module(i);
    }
    std::size_t bytes = 0;
    std::size_t lines = 0;
    for (const auto& [path, text] : files) {
        bytes += text.size();
        lines += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    }

    // Baseline: touch every byte once (UTF-8 validation and line starts), the floor of any front end.
    double baseline = 1e300;
    for (int r = 0; r < repeat; ++r) {
        const auto t0 = Clock::now();
        std::size_t n = 0;
        for (const auto& [path, text] : files) {
            n += teamflow::dsl::is_valid_utf8(text) ? 1 : 0;
            teamflow::dsl::SourceFile sf(path, text);
            n += sf.line_count();
        }
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        baseline = std::min(baseline, s);
        if (n == 0) {
            return 1;
        }
    }

    Figures best;
    best.seconds = 1e300;
    for (int r = 0; r < repeat; ++r) {
        auto copy = files;
        const auto t0 = Clock::now();
        auto set = teamflow::dsl::compile_sources(std::move(copy));
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (s < best.seconds) {
            best = {s, set->ok(), set->diagnostics.diagnostics().size()};
        }
    }
    const double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
    fmt::print("{{\"bench\": \"check\", \"modules\": {}, \"blueprints\": {}, \"files\": {}, "
               "\"bytes\": {}, \"lines\": {}, \"ok\": {}, \"diagnostics\": {}, \"seconds\": {:.4f}, "
               "\"mb_per_s\": {:.1f}, \"lines_per_s\": {:.0f}, \"baseline_scan_mb_per_s\": {:.1f}}}\n",
               modules, modules, files.size(), bytes, lines, best.ok ? "true" : "false",
               best.diagnostics, best.seconds, mb / best.seconds,
               static_cast<double>(lines) / best.seconds, mb / baseline);
    return best.ok ? 0 : 1;
}
