// `teamflow check PATH… [--format text|json] [--color auto|always|never]`

#include "commands.hpp"

#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/server/json.hpp"

#include <fmt/format.h>

#include <iostream>

namespace teamflow::tools {

namespace {

struct CheckOptions {
    std::vector<std::string> paths;
    std::string format = "text";
    std::string color = "auto";
};

std::string plural(std::size_t n, const char* word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

int run_check(const CheckOptions& o) {
    int code = exit_ok;
    auto set = load_set(o.paths, code);
    if (!set) {
        return code;
    }
    if (o.format == "json") {
        std::cout << server::to_string(server::check_result_to_json(*set)) << '\n';
    } else {
        std::cout << dsl::render_diagnostics(set->sources, set->diagnostics.diagnostics(),
                                             use_color(o.color));
        if (set->ok()) {
            std::cout << fmt::format("ok: {}, {}, {}, {}\n", plural(set->sources.size(), "file"),
                                     plural(set->ast.modules.size(), "module"),
                                     plural(set->ast.blueprints.size(), "blueprint"),
                                     plural(set->ast.tests.size(), "test"));
        }
    }
    std::cout.flush();
    return set->ok() ? exit_ok : exit_failed;
}

} // namespace

void register_check(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CheckOptions>();
    CLI::App* cmd = app.add_subcommand("check", "Parse and check a definition set");
    cmd->add_option("PATH", opts->paths, "Folders (searched for .flow files) or files")->required();
    cmd->add_option("--format", opts->format, "Output format: text or json")
        ->check(CLI::IsMember({"text", "json"}));
    cmd->add_option("--color", opts->color, "Colour diagnostics: auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->callback([opts, &exit_code] { exit_code = run_check(*opts); });
}

} // namespace teamflow::tools
