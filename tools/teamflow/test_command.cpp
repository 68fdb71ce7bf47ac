// `teamflow test PATH… [--filter TEXT] [--verbose]`

#include "commands.hpp"

#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/engine/test_runner.hpp"

#include <iostream>

namespace teamflow::tools {

namespace {

struct TestCommandOptions {
    std::vector<std::string> paths;
    engine::TestOptions run;
    std::string color = "auto";
};

int run_test_command(const TestCommandOptions& o) {
    int code = exit_ok;
    auto set = load_set(o.paths, code);
    if (!set) {
        return code;
    }
    // Warnings are for `check`; a set that does not compile cannot run its tests.
    if (!set->ok()) {
        std::cout << dsl::render_diagnostics(set->sources, set->diagnostics.diagnostics(),
                                             use_color(o.color));
        std::cout << "the definitions do not compile: no test was run\n";
        std::cout.flush();
        return exit_failed;
    }
    const int rc = engine::run_tests(*set, std::cout, o.run);
    std::cout.flush();
    return rc == 0 ? exit_ok : exit_failed;
}

} // namespace

void register_test(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<TestCommandOptions>();
    CLI::App* cmd = app.add_subcommand("test", "Run the test blocks of a definition set");
    cmd->add_option("PATH", opts->paths, "Folders (searched for .flow files) or files")->required();
    cmd->add_option("--filter", opts->run.filter, "Only run tests whose name contains this text");
    cmd->add_flag("--verbose", opts->run.verbose, "Print each step as it runs");
    cmd->add_option("--color", opts->color, "Colour diagnostics: auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->callback([opts, &exit_code] { exit_code = run_test_command(*opts); });
}

} // namespace teamflow::tools
