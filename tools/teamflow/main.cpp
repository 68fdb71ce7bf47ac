// The `teamflow` command line: check, test, render, serve.

#include "commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace teamflow::tools {

bool use_color(const std::string& mode) {
    if (mode == "always") {
        return true;
    }
    if (mode == "never") {
        return false;
    }
    const char* no_color = std::getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) != 0 && (no_color == nullptr || *no_color == '\0');
}

std::unique_ptr<dsl::DefinitionSet> load_set(const std::vector<std::string>& paths, int& code) {
    dsl::LoadError error;
    auto set = dsl::load_definition_set(paths, error);
    if (!set) {
        fmt::print(stderr, "teamflow: error: {}\n", error.message);
        code = exit_usage;
    }
    return set;
}

} // namespace teamflow::tools

int main(int argc, char** argv) {
    using namespace teamflow::tools;
    CLI::App app{"teamflow: process definitions for teams, checked, tested, drawn and served"};
    app.set_version_flag("--version", std::string("teamflow ") + TEAMFLOW_VERSION);
    app.require_subcommand(1);

    int exit_code = exit_ok;
    register_check(app, exit_code);
    register_test(app, exit_code);
    register_render(app, exit_code);
    register_serve(app, exit_code);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        // --help and --version exit 0; every other parse problem is bad usage.
        return rc == 0 ? exit_ok : exit_usage;
    }
    return exit_code;
}
