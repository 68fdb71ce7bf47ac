#include "teamflow/dsl/frontend.hpp"

#include "teamflow/dsl/checker.hpp"
#include "teamflow/dsl/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace teamflow::dsl {

namespace fs = std::filesystem;

namespace {

/// Adds a file to the set after checking its encoding; returns whether it may be parsed.
bool admit(DefinitionSet& set, std::string path, std::string text, bool too_large) {
    if (too_large) {
        const FileId id = set.sources.add(std::move(path), std::string());
        set.diagnostics.error("file-too-large", SourceRange{id, 0, 0},
                              fmt::format("file is larger than the limit of {} MiB",
                                          max_file_bytes / (1024 * 1024)));
        return false;
    }
    std::size_t bad = 0;
    if (!is_valid_utf8(text, &bad)) {
        // Keep offsets stable for the caret but never echo invalid bytes.
        for (char& c : text) {
            if (static_cast<unsigned char>(c) >= 0x80) {
                c = '?';
            }
        }
        const FileId id = set.sources.add(std::move(path), std::move(text));
        const auto at = static_cast<std::uint32_t>(bad);
        set.diagnostics.error("invalid-utf8", SourceRange{id, at, at + 1},
                              fmt::format("file is not valid UTF-8 (bad byte at offset {})", bad));
        return false;
    }
    set.sources.add(std::move(path), std::move(text));
    return true;
}

void finish(DefinitionSet& set, const std::vector<bool>& parse_it) {
    for (FileId id = 0; id < set.sources.size(); ++id) {
        if (parse_it[id]) {
            parse_file(set.sources, id, set.ast, set.diagnostics);
        }
    }
    check(set.ast, set.sources, set.diagnostics);
    set.diagnostics.sort();
}

} // namespace

std::unique_ptr<DefinitionSet>
compile_sources(std::vector<std::pair<std::string, std::string>> files) {
    auto set = std::make_unique<DefinitionSet>();
    std::vector<bool> parse_it;
    parse_it.reserve(files.size());
    for (auto& [path, text] : files) {
        const bool too_large = text.size() > max_file_bytes;
        parse_it.push_back(admit(*set, std::move(path), std::move(text), too_large));
    }
    finish(*set, parse_it);
    return set;
}

std::unique_ptr<DefinitionSet> load_definition_set(const std::vector<std::string>& paths,
                                                   LoadError& error) {
    std::vector<std::string> files;
    for (const std::string& p : paths) {
        std::error_code ec;
        const fs::file_status st = fs::status(p, ec);
        if (ec || !fs::exists(st)) {
            error.message = fmt::format("cannot read '{}': no such file or directory", p);
            return nullptr;
        }
        if (fs::is_directory(st)) {
            std::vector<std::string> found;
            fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec);
            if (ec) {
                error.message = fmt::format("cannot read folder '{}': {}", p, ec.message());
                return nullptr;
            }
            for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
                if (ec) {
                    error.message = fmt::format("cannot read folder '{}': {}", p, ec.message());
                    return nullptr;
                }
                if (it->is_regular_file(ec) && it->path().extension() == ".flow") {
                    found.push_back(it->path().generic_string());
                }
            }
            if (found.empty()) {
                error.message = fmt::format("no .flow files in '{}'", p);
                return nullptr;
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(st)) {
            files.push_back(p);
        } else {
            error.message = fmt::format("cannot read '{}': not a file or folder", p);
            return nullptr;
        }
    }
    if (files.empty()) {
        error.message = "no definition files given";
        return nullptr;
    }
    // The same file named twice (e.g. a folder and a file in it) is read once.
    std::vector<std::string> unique;
    for (const std::string& f : files) {
        std::error_code ec;
        const fs::path canon = fs::weakly_canonical(f, ec);
        const bool seen = std::any_of(unique.begin(), unique.end(), [&](const std::string& u) {
            std::error_code ec2;
            return fs::weakly_canonical(u, ec2) == canon;
        });
        if (!seen) {
            unique.push_back(f);
        }
    }

    auto set = std::make_unique<DefinitionSet>();
    std::vector<bool> parse_it;
    for (const std::string& f : unique) {
        std::error_code ec;
        const auto size = fs::file_size(f, ec);
        if (ec) {
            error.message = fmt::format("cannot read '{}': {}", f, ec.message());
            return nullptr;
        }
        if (size > max_file_bytes) {
            parse_it.push_back(admit(*set, f, std::string(), true));
            continue;
        }
        std::ifstream in(f, std::ios::binary);
        if (!in) {
            error.message = fmt::format("cannot read '{}': permission denied or unreadable", f);
            return nullptr;
        }
        std::string text;
        text.resize(static_cast<std::size_t>(size));
        in.read(text.data(), static_cast<std::streamsize>(size));
        if (in.gcount() != static_cast<std::streamsize>(size)) {
            error.message = fmt::format("cannot read '{}': short read", f);
            return nullptr;
        }
        parse_it.push_back(admit(*set, f, std::move(text), false));
    }
    finish(*set, parse_it);
    return set;
}

} // namespace teamflow::dsl
