// Configuration: defaults, every key, errors naming the key and its line, precedence.

#include "teamflow/server/config.hpp"

#include <gtest/gtest.h>
#include <map>

namespace teamflow::server {
namespace {

EnvLookup no_env() {
    return [](const char*) -> const char* { return nullptr; };
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [shared](const char* name) -> const char* {
        auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
}

Config ok(const ConfigResult& r) {
    if (const auto* e = std::get_if<ConfigError>(&r)) {
        ADD_FAILURE() << e->message;
        return {};
    }
    return std::get<Config>(r);
}

std::string error(const ConfigResult& r) {
    if (const auto* e = std::get_if<ConfigError>(&r)) {
        return e->message;
    }
    ADD_FAILURE() << "expected an error";
    return {};
}

TEST(Config, DefaultsWithoutAFile) {
    const Config c = ok(parse_config("", "", {}, no_env()));
    EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
    EXPECT_EQ(c.server.host, "127.0.0.1");
    EXPECT_EQ(c.server.port, 8080);
    EXPECT_EQ(c.server.threads, 2);
    EXPECT_EQ(c.server.max_body_bytes, 1048576u);
    EXPECT_EQ(c.server.request_timeout_ms, 30000);
    EXPECT_EQ(c.store.url, "sqlite://teamflow.db");
    EXPECT_EQ(c.store.kind(), "sqlite");
    EXPECT_EQ(c.store.pool, 8);
    EXPECT_EQ(c.worker_threads(), 8);
    EXPECT_EQ(c.definitions.dir, "definitions");
    EXPECT_EQ(c.webhooks.timeout_ms, 5000);
    EXPECT_EQ(c.webhooks.max_attempts, 10);
    EXPECT_EQ(c.log.level, "info");
}

TEST(Config, EveryKeyOfTheSpec) {
    const char* text = R"([server]
listen = "0.0.0.0:9090"
threads = 4
max_body_bytes = 2048
request_timeout_ms = 1500
max_connections = 10
header_limit_bytes = 4096
idle_timeout_ms = 2500
workers = 3
max_queued_requests = 7

[store]
url = "postgresql://user:pw@127.0.0.1:5432/teamflow"
pool = 5

[definitions]
dir = "defs"

[auth]
org_admins = ["bruno"]
tokens = { amelie = "dev-token-amelie", bruno = "dev-token-bruno" }
token_hashes = { carla = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" }

[webhooks]
timeout_ms = 100
max_attempts = 3

[log]
level = "debug"
)";
    const Config c = ok(parse_config(text, "conf/teamflow.toml", {}, no_env()));
    EXPECT_EQ(c.server.host, "0.0.0.0");
    EXPECT_EQ(c.server.port, 9090);
    EXPECT_EQ(c.server.threads, 4);
    EXPECT_EQ(c.server.max_body_bytes, 2048u);
    EXPECT_EQ(c.server.request_timeout_ms, 1500);
    EXPECT_EQ(c.server.max_connections, 10u);
    EXPECT_EQ(c.server.header_limit_bytes, 4096u);
    EXPECT_EQ(c.server.idle_timeout_ms, 2500);
    EXPECT_EQ(c.worker_threads(), 3);
    EXPECT_EQ(c.server.max_queued_requests, 7u);
    EXPECT_EQ(c.store.kind(), "postgresql");
    EXPECT_EQ(c.store.pool, 5);
    EXPECT_EQ(c.definitions.dir, "conf/defs"); // relative to the file's folder
    EXPECT_EQ(c.auth.org_admins, std::vector<std::string>{"bruno"});
    EXPECT_EQ(c.auth.tokens.at("amelie"), "dev-token-amelie");
    EXPECT_EQ(c.auth.token_hashes.size(), 1u);
    EXPECT_EQ(c.webhooks.timeout_ms, 100);
    EXPECT_EQ(c.webhooks.max_attempts, 3);
    EXPECT_EQ(c.log.level, "debug");
}

TEST(Config, UnknownKeyNamesTheKeyAndTheLine) {
    const char* text = "# teamflow\n"
                       "\n"
                       "[server]\n"
                       "threads = 2\n"
                       "\n"
                       "# typo below\n"
                       "listn = \"127.0.0.1:8080\"\n";
    EXPECT_EQ(error(parse_config(text, "teamflow.toml", {}, no_env())),
              "teamflow.toml:7: unknown key \"server.listn\"; did you mean \"listen\"?");
}

TEST(Config, UnknownSectionSuggestsTheNearest) {
    EXPECT_EQ(error(parse_config("[sever]\nlisten = \"a:1\"\n", "t.toml", {}, no_env())),
              "t.toml:1: unknown key \"sever\"; did you mean \"server\"?");
    EXPECT_EQ(error(parse_config("verbose = true\n", "t.toml", {}, no_env())),
              "t.toml:1: unknown key \"verbose\"");
}

TEST(Config, WrongTypeNamesTheKeyAndTheLine) {
    EXPECT_EQ(error(parse_config("[server]\nthreads = \"two\"\n", "t.toml", {}, no_env())),
              "t.toml:2: \"server.threads\" must be an integer, not a string");
    EXPECT_EQ(error(parse_config("[auth]\norg_admins = \"bruno\"\n", "t.toml", {}, no_env())),
              "t.toml:2: \"auth.org_admins\" must be an array, not a string");
    EXPECT_EQ(error(parse_config("[auth]\norg_admins = [\"a\", 3]\n", "t.toml", {}, no_env())),
              "t.toml:2: \"auth.org_admins[1]\" must be a string, not an integer");
    EXPECT_EQ(error(parse_config("server = 3\n", "t.toml", {}, no_env())),
              "t.toml:1: \"server\" must be a table, not an integer");
    EXPECT_EQ(error(parse_config("[auth]\ntokens = { amelie = 1 }\n", "t.toml", {}, no_env())),
              "t.toml:2: \"auth.tokens.amelie\" must be a string, not an integer");
}

TEST(Config, ValuesAreValidated) {
    EXPECT_EQ(error(parse_config("[server]\nthreads = 0\n", "t.toml", {}, no_env())),
              "t.toml:2: \"server.threads\" must be between 1 and 256, not 0");
    EXPECT_EQ(error(parse_config("[server]\nmax_body_bytes = -1\n", "t.toml", {}, no_env())),
              "t.toml:2: \"server.max_body_bytes\" must be between 1 and 4294967296, not -1");
    EXPECT_EQ(error(parse_config("[server]\nlisten = \"localhost\"\n", "t.toml", {}, no_env())),
              "t.toml:2: \"server.listen\": \"localhost\" is not HOST:PORT (no port)");
    EXPECT_EQ(error(parse_config("[server]\nlisten = \"h:70000\"\n", "t.toml", {}, no_env())),
              "t.toml:2: \"server.listen\": \"h:70000\" is not HOST:PORT (the port must be a "
              "number from 0 to 65535)");
    EXPECT_EQ(error(parse_config("[store]\nurl = \"mysql://x\"\n", "t.toml", {}, no_env())),
              "t.toml:2: \"store.url\": unsupported scheme \"mysql\" (expected sqlite, postgresql "
              "or postgres)");
    EXPECT_EQ(error(parse_config("[log]\nlevel = \"inof\"\n", "t.toml", {}, no_env())),
              "t.toml:2: \"log.level\": unknown level \"inof\"; did you mean \"info\"?");
    EXPECT_EQ(
        error(parse_config("[auth]\ntoken_hashes = { a = \"abc\" }\n", "t.toml", {}, no_env())),
        "t.toml:2: \"auth.token_hashes.a\": must be a SHA-256 digest: 64 hexadecimal digits");
    EXPECT_EQ(
        error(parse_config("[auth]\ntokens = { a = \"t\", b = \"t\" }\n", "t.toml", {}, no_env())),
        "t.toml: \"auth.tokens.b\": the same token as \"a\"");
}

TEST(Config, SyntaxErrorsHaveLineAndColumn) {
    const std::string e = error(parse_config("[server]\nthreads = = 2\n", "t.toml", {}, no_env()));
    EXPECT_EQ(e.rfind("t.toml:2:", 0), 0u) << e;
}

TEST(Config, ListenForms) {
    std::string host;
    std::uint16_t port = 1;
    std::string why;
    EXPECT_TRUE(parse_listen("[::1]:0", host, port, why));
    EXPECT_EQ(host, "::1");
    EXPECT_EQ(port, 0);
    EXPECT_TRUE(parse_listen("example.org:443", host, port, why));
    EXPECT_FALSE(parse_listen(":80", host, port, why));
    EXPECT_FALSE(parse_listen("a:", host, port, why));
    EXPECT_FALSE(parse_listen("a:8x", host, port, why));
    EXPECT_FALSE(parse_listen("[::1]80", host, port, why));
    EXPECT_FALSE(parse_listen("a b:80", host, port, why));
}

TEST(Config, EnvironmentOverridesTheFileAndFlagsOverrideBoth) {
    const char* text = "[server]\nlisten = \"127.0.0.1:1000\"\n[store]\nurl = \"sqlite://a.db\"\n";
    const EnvLookup env =
        env_of({{"TEAMFLOW_LISTEN", "127.0.0.1:2000"}, {"TEAMFLOW_STORE", "postgres://db/x"}});

    Config c = ok(parse_config(text, "t.toml", {}, no_env()));
    EXPECT_EQ(c.server.port, 1000);
    EXPECT_EQ(c.store.url, "sqlite://a.db");

    c = ok(parse_config(text, "t.toml", {}, env));
    EXPECT_EQ(c.server.port, 2000);
    EXPECT_EQ(c.store.url, "postgres://db/x");
    EXPECT_EQ(c.store.kind(), "postgresql");

    ConfigOverrides flags;
    flags.listen = "127.0.0.1:3000";
    flags.store = "sqlite://flag.db";
    flags.definitions = "here";
    c = ok(parse_config(text, "t.toml", flags, env));
    EXPECT_EQ(c.server.port, 3000);
    EXPECT_EQ(c.store.url, "sqlite://flag.db");
    EXPECT_EQ(c.definitions.dir, "here"); // flags are relative to the working directory
}

TEST(Config, BadOverridesNameTheirSource) {
    EXPECT_EQ(error(parse_config("", "", {}, env_of({{"TEAMFLOW_LISTEN", "nope"}}))),
              "TEAMFLOW_LISTEN: \"nope\" is not HOST:PORT (no port)");
    ConfigOverrides flags;
    flags.store = "redis://x";
    EXPECT_EQ(error(parse_config("", "", flags, no_env())),
              "--store: unsupported scheme \"redis\" (expected sqlite, postgresql or postgres)");
}

TEST(Config, MissingFileIsAnError) {
    EXPECT_EQ(error(load_config("/nonexistent/teamflow.toml", {}, no_env())),
              "--config: \"/nonexistent/teamflow.toml\" is not a readable file");
}

} // namespace
} // namespace teamflow::server
