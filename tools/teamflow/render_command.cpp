// `teamflow render PATH… --blueprint NAME [--format svg|png|dot] [-o FILE]`
// `teamflow render PATH… --all -o DIR [--format svg|png|dot]`

#include "commands.hpp"

#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/engine/diagram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <unistd.h>

namespace teamflow::tools {

namespace {

namespace fs = std::filesystem;

struct RenderOptions {
    std::vector<std::string> paths;
    std::string blueprint;
    bool all = false;
    std::string format = "svg";
    std::string output;
    std::string color = "auto";
};

template <typename... Args> void error(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(stderr, "teamflow: error: {}\n", fmt::format(f, std::forward<Args>(args)...));
}

bool stderr_color(const std::string& mode) {
    if (mode != "auto") {
        return mode == "always";
    }
    const char* no_color = std::getenv("NO_COLOR");
    return isatty(STDERR_FILENO) != 0 && (no_color == nullptr || *no_color == '\0');
}

/// A file name for any blueprint name: ASCII letters, digits, `_` and `-` kept, every other code
/// point one `_`, at most 100 bytes; `taken` (lower-cased) makes names unique with `-2`, `-3`, ….
std::string file_stem(const std::string& name, std::set<std::string>& taken) {
    std::string stem;
    for (std::size_t i = 0; i < name.size() && stem.size() < 100; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if ((c & 0xC0) == 0x80) {
            continue; // a UTF-8 continuation byte: its code point already gave one `_`
        }
        stem +=
            (std::isalnum(c) != 0 && c < 0x80) || c == '_' || c == '-' ? static_cast<char>(c) : '_';
    }
    if (stem.empty() || stem[0] == '-') {
        stem.insert(0, "_");
    }
    auto lower = [](std::string s) {
        for (char& c : s) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return s;
    };
    std::string unique = stem;
    for (int n = 2; taken.count(lower(unique)) != 0; ++n) {
        unique = fmt::format("{}-{}", stem, n);
    }
    taken.insert(lower(unique));
    return unique;
}

/// Writes `data` to `path`; on failure prints why and returns false.
bool write_file(const fs::path& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) {
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        out.close();
    }
    if (!out) {
        error("cannot write '{}': {}", path.string(), std::strerror(errno));
        return false;
    }
    return true;
}

int render_all(const dsl::DefinitionSet& set, const RenderOptions& o,
               engine::DiagramFormat format) {
    std::error_code ec;
    const fs::path dir(o.output);
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) {
        error("cannot write into '{}': {}", o.output,
              ec ? ec.message() : std::string("not a directory"));
        return exit_usage;
    }
    int code = exit_ok;
    std::set<std::string> taken;
    for (const auto& bp : set.ast.blueprints) {
        const fs::path path =
            dir / (file_stem(bp.name.text, taken) + "." + engine::diagram_extension(format));
        const engine::DiagramResult r = engine::render_blueprint(set.ast, bp.name.text, format);
        if (!r.ok) {
            error("blueprint {}: {}", dsl::quote(bp.name.text), r.error);
            code = exit_failed;
            continue;
        }
        if (!write_file(path, r.data)) {
            return exit_usage;
        }
        fmt::print("wrote {}\n", path.string());
    }
    if (set.ast.blueprints.empty()) {
        fmt::print(stderr, "teamflow: warning: the definition set has no blueprint\n");
    }
    return code;
}

int run_render(const RenderOptions& o) {
    if (o.blueprint.empty() && !o.all) {
        error("render needs --blueprint NAME, or --all -o DIR");
        return exit_usage;
    }
    if (o.all && o.output.empty()) {
        error("render --all needs -o DIR, the folder to write one file per blueprint into");
        return exit_usage;
    }
    const engine::DiagramFormat format = *engine::parse_diagram_format(o.format);
    if (!o.all && o.output.empty() && format == engine::DiagramFormat::Png &&
        isatty(STDOUT_FILENO) != 0) {
        error("refusing to write PNG to a terminal; use -o FILE or redirect the output");
        return exit_usage;
    }

    int code = exit_ok;
    auto set = load_set(o.paths, code);
    if (!set) {
        return code;
    }
    if (!set->ok()) {
        std::cerr << dsl::render_diagnostics(set->sources, set->diagnostics.diagnostics(),
                                             stderr_color(o.color));
        return exit_failed;
    }
    if (o.all) {
        return render_all(*set, o, format);
    }

    std::vector<std::string_view> names;
    for (const auto& bp : set->ast.blueprints) {
        names.emplace_back(bp.name.text);
    }
    if (std::find(names.begin(), names.end(), o.blueprint) == names.end()) {
        const std::string near = dsl::closest_name(o.blueprint, names);
        error("no blueprint {}{}", dsl::quote(o.blueprint),
              near.empty() ? std::string() : "; did you mean " + dsl::quote(near) + "?");
        return exit_failed;
    }
    const engine::DiagramResult r = engine::render_blueprint(set->ast, o.blueprint, format);
    if (!r.ok) {
        error("blueprint {}: {}", dsl::quote(o.blueprint), r.error);
        return exit_failed;
    }
    if (!o.output.empty()) {
        return write_file(o.output, r.data) ? exit_ok : exit_usage;
    }
    std::cout.write(r.data.data(), static_cast<std::streamsize>(r.data.size()));
    std::cout.flush();
    return std::cout ? exit_ok : exit_failed;
}

} // namespace

void register_render(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<RenderOptions>();
    CLI::App* cmd = app.add_subcommand("render", "Draw blueprints as SVG, PNG or DOT diagrams");
    cmd->add_option("PATH", opts->paths, "Folders (searched for .flow files) or files")->required();
    CLI::Option* one = cmd->add_option("-b,--blueprint", opts->blueprint, "The blueprint to draw");
    CLI::Option* all =
        cmd->add_flag("--all", opts->all, "Draw every blueprint, one file each into -o DIR");
    one->excludes(all);
    cmd->add_option("--format", opts->format, "Output format: svg, png or dot (default svg)")
        ->check(CLI::IsMember({"svg", "png", "dot"}));
    cmd->add_option("-o,--output", opts->output,
                    "Output file (default: standard output); with --all, the folder");
    cmd->add_option("--color", opts->color, "Colour diagnostics: auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->callback([opts, &exit_code] { exit_code = run_render(*opts); });
}

} // namespace teamflow::tools
