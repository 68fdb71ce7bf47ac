// Bearer authentication: the presented token is hashed and compared with every known digest
// (CRYPTO_memcmp, no early exit), so timing says nothing about which token is close.

#include "teamflow/server/auth.hpp"

#include "teamflow/server/http.hpp"

#include <algorithm>
#include <cctype>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace teamflow::server {

namespace {

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view data) {
    Digest d{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
    return d;
}

Digest from_hex(std::string_view hex) {
    Digest d{};
    const auto nibble = [](char c) {
        const int l = std::tolower(static_cast<unsigned char>(c));
        return l <= '9' ? l - '0' : l - 'a' + 10;
    };
    for (std::size_t i = 0; i < d.size() && 2 * i + 1 < hex.size(); ++i) {
        d[i] = static_cast<unsigned char>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
    }
    return d;
}

} // namespace

std::string sha256_hex(std::string_view data) {
    static constexpr char digits[] = "0123456789abcdef";
    const Digest d = sha256(data);
    std::string out;
    out.reserve(64);
    for (unsigned char b : d) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

Authenticator::Authenticator(const AuthConfig& config) : org_admins_(config.org_admins) {
    for (const auto& [user, token] : config.tokens) {
        entries_.push_back(Entry{user, sha256(token)});
    }
    for (const auto& [user, hex] : config.token_hashes) {
        entries_.push_back(Entry{user, from_hex(hex)});
    }
}

std::optional<Identity> Authenticator::authenticate(std::optional<std::string_view> authorization,
                                                    AuthFailure& failure) const {
    if (!authorization || authorization->empty()) {
        failure = AuthFailure::Missing;
        return std::nullopt;
    }
    std::string_view value = *authorization;
    constexpr std::string_view scheme = "bearer";
    if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme) ||
        (value[scheme.size()] != ' ' && value[scheme.size()] != '\t')) {
        failure = AuthFailure::Malformed;
        return std::nullopt;
    }
    value.remove_prefix(scheme.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        failure = AuthFailure::Malformed;
        return std::nullopt;
    }
    const Digest presented = sha256(value);
    const Entry* found = nullptr;
    for (const Entry& e : entries_) {
        const bool same = CRYPTO_memcmp(e.digest.data(), presented.data(), presented.size()) == 0;
        if (same && found == nullptr) {
            found = &e;
        }
    }
    if (found == nullptr) {
        failure = AuthFailure::Unknown;
        return std::nullopt;
    }
    return Identity{found->user, is_org_admin(found->user)};
}

bool Authenticator::is_org_admin(std::string_view user) const {
    return std::find(org_admins_.begin(), org_admins_.end(), user) != org_admins_.end();
}

} // namespace teamflow::server
