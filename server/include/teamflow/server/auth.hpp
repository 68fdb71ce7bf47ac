#pragma once
/// Bearer tokens from the configuration: plain tokens (development) and SHA-256 digests
/// (production), compared in constant time.

#include "teamflow/server/config.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace teamflow::server {

/// Who is calling.
struct Identity {
    std::string user;
    bool org_admin = false;
};

/// The SHA-256 digest of `data` as 64 lower-case hexadecimal digits.
std::string sha256_hex(std::string_view data);

/// Why a request is not authenticated.
enum class AuthFailure { Missing, Malformed, Unknown };

/// Maps bearer tokens to users. Immutable after construction; safe to share between threads.
class Authenticator {
public:
    /// Builds the table from `[auth]` (hashes every plain token once).
    explicit Authenticator(const AuthConfig& config);

    /// The identity behind an `Authorization` header value, or why there is none.
    std::optional<Identity> authenticate(std::optional<std::string_view> authorization,
                                         AuthFailure& failure) const;
    /// Whether `user` is an org admin.
    bool is_org_admin(std::string_view user) const;

private:
    struct Entry {
        std::string user;
        std::array<unsigned char, 32> digest{};
    };
    std::vector<Entry> entries_;
    std::vector<std::string> org_admins_;
};

} // namespace teamflow::server
