#pragma once
/// The subcommands of `teamflow`. Each registers itself on the app; its callback stores the exit
/// status in `exit_code`.

#include "teamflow/dsl/frontend.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace teamflow::tools {

/// Exit codes of the contract: 0 fine, 1 the definitions are wrong (or a test failed), 2 bad usage.
enum Exit : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

/// Whether to colour output: "always", "never", or "auto" (a terminal, and NO_COLOR unset).
bool use_color(const std::string& mode);

/// Loads and checks a set; on a usage problem prints it and returns null with `code` = 2.
std::unique_ptr<dsl::DefinitionSet> load_set(const std::vector<std::string>& paths, int& code);

void register_check(CLI::App& app, int& exit_code);
void register_test(CLI::App& app, int& exit_code);
void register_render(CLI::App& app, int& exit_code);
void register_serve(CLI::App& app, int& exit_code);

} // namespace teamflow::tools
