// The TOML configuration: a schema of sections and keys, each with a reader that checks the type
// and the value, so every error names the key and its line.

#include "teamflow/server/config.hpp"

#include "teamflow/dsl/diagnostics.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>
#include <type_traits>

namespace teamflow::server {

namespace {

std::string_view type_name(toml::node_type t) {
    switch (t) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a floating-point number";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

/// Reads one section; the first error wins.
class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    bool failed() const { return error_.has_value(); }
    const std::string& error() const { return *error_; }

    void fail(const toml::source_region& where, std::string message) {
        if (!error_) {
            error_ = fmt::format("{}:{}: {}", file_, where.begin.line, message);
        }
    }

    const std::string& file() const { return file_; }

private:
    std::string file_;
    std::optional<std::string> error_;
};

using KeyReader = std::function<void(Reader&, const std::string& name, const toml::node&)>;

struct KeySpec {
    std::string_view key;
    KeyReader read;
};

bool expect_type(Reader& r, const std::string& name, const toml::node& n, toml::node_type t) {
    if (n.type() == t) {
        return true;
    }
    r.fail(n.source(),
           fmt::format("\"{}\" must be {}, not {}", name, type_name(t), type_name(n.type())));
    return false;
}

KeyReader integer(auto& target, std::int64_t min, std::int64_t max) {
    return [&target, min, max](Reader& r, const std::string& name, const toml::node& n) {
        if (!expect_type(r, name, n, toml::node_type::integer)) {
            return;
        }
        const std::int64_t v = n.as_integer()->get();
        if (v < min || v > max) {
            r.fail(n.source(),
                   fmt::format("\"{}\" must be between {} and {}, not {}", name, min, max, v));
            return;
        }
        target = static_cast<std::remove_reference_t<decltype(target)>>(v);
    };
}

using Check = std::function<std::string(const std::string&)>;

KeyReader string(std::string& target, Check check = nullptr) {
    return [&target, check](Reader& r, const std::string& name, const toml::node& n) {
        if (!expect_type(r, name, n, toml::node_type::string)) {
            return;
        }
        std::string v = n.as_string()->get();
        if (check) {
            if (std::string why = check(v); !why.empty()) {
                r.fail(n.source(), fmt::format("\"{}\": {}", name, why));
                return;
            }
        }
        target = std::move(v);
    };
}

KeyReader string_array(std::vector<std::string>& target) {
    return [&target](Reader& r, const std::string& name, const toml::node& n) {
        if (!expect_type(r, name, n, toml::node_type::array)) {
            return;
        }
        std::vector<std::string> out;
        std::size_t i = 0;
        for (const toml::node& e : *n.as_array()) {
            const std::string element = fmt::format("{}[{}]", name, i++);
            if (!expect_type(r, element, e, toml::node_type::string)) {
                return;
            }
            if (e.as_string()->get().empty()) {
                r.fail(e.source(), fmt::format("\"{}\" must not be empty", element));
                return;
            }
            out.push_back(e.as_string()->get());
        }
        target = std::move(out);
    };
}

KeyReader string_map(std::map<std::string, std::string>& target, Check check) {
    return [&target, check](Reader& r, const std::string& name, const toml::node& n) {
        if (!expect_type(r, name, n, toml::node_type::table)) {
            return;
        }
        std::map<std::string, std::string> out;
        for (auto&& [k, v] : *n.as_table()) {
            const std::string entry = fmt::format("{}.{}", name, k.str());
            if (!expect_type(r, entry, v, toml::node_type::string)) {
                return;
            }
            std::string value = v.as_string()->get();
            if (std::string why = check(value); !why.empty()) {
                r.fail(v.source(), fmt::format("\"{}\": {}", entry, why));
                return;
            }
            out.emplace(std::string(k.str()), std::move(value));
        }
        target = std::move(out);
    };
}

std::string check_listen(const std::string& v) {
    std::string host;
    std::uint16_t port = 0;
    std::string error;
    return parse_listen(v, host, port, error) ? std::string() : error;
}

std::string check_store_url(const std::string& v) {
    const auto scheme_end = v.find("://");
    if (scheme_end == std::string::npos) {
        return fmt::format("\"{}\" is not a store URL (sqlite://PATH or postgresql://…)", v);
    }
    const std::string scheme = v.substr(0, scheme_end);
    if (scheme != "sqlite" && scheme != "postgresql" && scheme != "postgres") {
        return fmt::format("unsupported scheme \"{}\" (expected sqlite, postgresql or postgres)",
                           scheme);
    }
    if (scheme_end + 3 == v.size()) {
        return fmt::format("\"{}\" names no database", v);
    }
    return {};
}

std::string check_level(const std::string& v) {
    static const std::vector<std::string_view> levels = {"trace", "debug", "info",
                                                         "warn",  "error", "off"};
    if (std::find(levels.begin(), levels.end(), v) != levels.end()) {
        return {};
    }
    std::string hint = dsl::closest_name(v, levels);
    return fmt::format("unknown level \"{}\"{}", v,
                       hint.empty() ? "; expected trace, debug, info, warn, error or off"
                                    : fmt::format("; did you mean \"{}\"?", hint));
}

std::string check_token(const std::string& v) {
    return v.empty() ? std::string("a token must not be empty") : std::string();
}

std::string check_hash(const std::string& v) {
    const bool hex = v.size() == 64 && std::all_of(v.begin(), v.end(), [](char c) {
                         return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                     });
    return hex ? std::string() : std::string("must be a SHA-256 digest: 64 hexadecimal digits");
}

constexpr std::int64_t max_ms = 24LL * 3600 * 1000;
constexpr std::int64_t max_bytes = 1LL << 32;

struct SectionSpec {
    std::string_view name;
    std::vector<KeySpec> keys;
};

std::vector<SectionSpec> schema(Config& c) {
    ServerConfig& s = c.server;
    return {
        {"server",
         {{"listen", string(s.listen, check_listen)},
          {"threads", integer(s.threads, 1, 256)},
          {"max_body_bytes", integer(s.max_body_bytes, 1, max_bytes)},
          {"request_timeout_ms", integer(s.request_timeout_ms, 1, max_ms)},
          {"max_connections", integer(s.max_connections, 1, 1000000)},
          {"header_limit_bytes", integer(s.header_limit_bytes, 256, 1 << 20)},
          {"idle_timeout_ms", integer(s.idle_timeout_ms, 1, max_ms)},
          {"workers", integer(s.workers, 1, 1024)},
          {"max_queued_requests", integer(s.max_queued_requests, 1, 1000000)}}},
        {"store",
         {{"url", string(c.store.url, check_store_url)}, {"pool", integer(c.store.pool, 1, 1024)}}},
        {"definitions",
         {{"dir", string(c.definitions.dir,
                         [](const std::string& v) {
                             return v.empty() ? std::string("must not be empty") : std::string();
                         })}}},
        {"auth",
         {{"org_admins", string_array(c.auth.org_admins)},
          {"tokens", string_map(c.auth.tokens, check_token)},
          {"token_hashes", string_map(c.auth.token_hashes, check_hash)}}},
        {"webhooks",
         {{"timeout_ms", integer(c.webhooks.timeout_ms, 1, max_ms)},
          {"max_attempts", integer(c.webhooks.max_attempts, 1, 1000)}}},
        {"log", {{"level", string(c.log.level, check_level)}}},
    };
}

void read_document(Reader& r, const toml::table& doc, Config& c) {
    const std::vector<SectionSpec> sections = schema(c);
    std::vector<std::string_view> section_names;
    for (const SectionSpec& s : sections) {
        section_names.push_back(s.name);
    }
    for (auto&& [section_key, section_node] : doc) {
        const std::string section_name(section_key.str());
        auto spec = std::find_if(sections.begin(), sections.end(),
                                 [&](const SectionSpec& s) { return s.name == section_name; });
        if (spec == sections.end()) {
            const std::string hint = dsl::closest_name(section_name, section_names);
            r.fail(section_key.source(),
                   fmt::format("unknown key \"{}\"{}", section_name,
                               hint.empty() ? "" : fmt::format("; did you mean \"{}\"?", hint)));
            return;
        }
        if (!expect_type(r, section_name, section_node, toml::node_type::table)) {
            return;
        }
        std::vector<std::string_view> key_names;
        for (const KeySpec& k : spec->keys) {
            key_names.push_back(k.key);
        }
        for (auto&& [key, node] : *section_node.as_table()) {
            const std::string full = fmt::format("{}.{}", section_name, key.str());
            auto ks = std::find_if(spec->keys.begin(), spec->keys.end(),
                                   [&](const KeySpec& k) { return k.key == key.str(); });
            if (ks == spec->keys.end()) {
                const std::string hint = dsl::closest_name(key.str(), key_names);
                r.fail(
                    key.source(),
                    fmt::format("unknown key \"{}\"{}", full,
                                hint.empty() ? "" : fmt::format("; did you mean \"{}\"?", hint)));
                return;
            }
            ks->read(r, full, node);
            if (r.failed()) {
                return;
            }
        }
    }
}

/// Checks what the file cannot check key by key.
std::string check_whole(const Config& c) {
    std::map<std::string, std::string> seen; // token → user
    for (const auto& [user, token] : c.auth.tokens) {
        auto [it, inserted] = seen.emplace(token, user);
        if (!inserted) {
            return fmt::format("\"auth.tokens.{}\": the same token as \"{}\"", user, it->second);
        }
    }
    return {};
}

} // namespace

std::string StoreConfig::kind() const {
    return url.rfind("sqlite://", 0) == 0 ? "sqlite" : "postgresql";
}

int Config::worker_threads() const {
    return server.workers > 0 ? server.workers : store.pool;
}

bool parse_listen(std::string_view listen, std::string& host, std::uint16_t& port,
                  std::string& error) {
    const auto fail = [&](std::string_view why) {
        error = fmt::format("\"{}\" is not HOST:PORT ({})", listen, why);
        return false;
    };
    std::string_view h;
    std::string_view p;
    if (!listen.empty() && listen.front() == '[') {
        const auto close = listen.find(']');
        if (close == std::string_view::npos || close + 1 >= listen.size() ||
            listen[close + 1] != ':') {
            return fail("an IPv6 address is written [ADDRESS]:PORT");
        }
        h = listen.substr(1, close - 1);
        p = listen.substr(close + 2);
        if (h.empty() ||
            h.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
            return fail("bad IPv6 address");
        }
    } else {
        const auto colon = listen.rfind(':');
        if (colon == std::string_view::npos) {
            return fail("no port");
        }
        h = listen.substr(0, colon);
        p = listen.substr(colon + 1);
        if (h.empty()) {
            return fail("no host");
        }
        if (h.find_first_not_of(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            std::string_view::npos) {
            return fail("bad host name");
        }
    }
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail("the port must be a number from 0 to 65535");
    }
    const unsigned long n = std::stoul(std::string(p));
    if (n > 65535) {
        return fail("the port must be a number from 0 to 65535");
    }
    host = std::string(h);
    port = static_cast<std::uint16_t>(n);
    return true;
}

ConfigResult parse_config(std::string_view text, std::string_view file_name,
                          const ConfigOverrides& overrides, const EnvLookup& env) {
    Config c;
    c.file = std::string(file_name);
    std::string definitions_from_file;
    if (!text.empty() || !file_name.empty()) {
        toml::table doc;
        try {
            doc = toml::parse(text, file_name);
        } catch (const toml::parse_error& e) {
            return ConfigError{fmt::format("{}:{}:{}: {}", file_name, e.source().begin.line,
                                           e.source().begin.column, e.description())};
        }
        Reader reader{std::string(file_name)};
        read_document(reader, doc, c);
        if (reader.failed()) {
            return ConfigError{reader.error()};
        }
        if (doc.at_path("definitions.dir").is_string()) {
            definitions_from_file = c.definitions.dir;
        }
    }
    if (!definitions_from_file.empty() && !file_name.empty()) {
        const std::filesystem::path dir(definitions_from_file);
        if (dir.is_relative()) {
            const std::filesystem::path base = std::filesystem::path(file_name).parent_path();
            c.definitions.dir = (base / dir).lexically_normal().string();
        }
    }

    // The environment overrides the file, the flags override both.
    const EnvLookup lookup = env ? env : EnvLookup([](const char* n) { return std::getenv(n); });
    struct Source {
        std::string label;
        std::string value;
    };
    std::optional<Source> listen;
    std::optional<Source> store;
    if (const char* v = lookup("TEAMFLOW_LISTEN"); v != nullptr && *v != '\0') {
        listen = Source{"TEAMFLOW_LISTEN", v};
    }
    if (const char* v = lookup("TEAMFLOW_STORE"); v != nullptr && *v != '\0') {
        store = Source{"TEAMFLOW_STORE", v};
    }
    if (overrides.listen) {
        listen = Source{"--listen", *overrides.listen};
    }
    if (overrides.store) {
        store = Source{"--store", *overrides.store};
    }
    if (listen) {
        if (std::string why = check_listen(listen->value); !why.empty()) {
            return ConfigError{fmt::format("{}: {}", listen->label, why)};
        }
        c.server.listen = listen->value;
    }
    if (store) {
        if (std::string why = check_store_url(store->value); !why.empty()) {
            return ConfigError{fmt::format("{}: {}", store->label, why)};
        }
        c.store.url = store->value;
    }
    if (overrides.definitions) {
        if (overrides.definitions->empty()) {
            return ConfigError{"--definitions: must not be empty"};
        }
        c.definitions.dir = *overrides.definitions;
    }
    std::string error;
    if (!parse_listen(c.server.listen, c.server.host, c.server.port, error)) {
        return ConfigError{fmt::format("server.listen: {}", error)};
    }
    if (std::string why = check_whole(c); !why.empty()) {
        return ConfigError{fmt::format("{}: {}", file_name, why)};
    }
    return c;
}

ConfigResult load_config(const std::string& path, const ConfigOverrides& overrides,
                         const EnvLookup& env) {
    if (path.empty()) {
        return parse_config("", "", overrides, env);
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        return ConfigError{fmt::format("--config: \"{}\" is not a readable file", path)};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return ConfigError{fmt::format("--config: cannot read \"{}\"", path)};
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path, overrides, env);
}

} // namespace teamflow::server
