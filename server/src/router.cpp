// Route patterns split into segments; matching prefers literal segments over parameters.

#include "teamflow/server/router.hpp"

#include <algorithm>

namespace teamflow::server {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.empty() || path.front() != '/') {
        return out;
    }
    path.remove_prefix(1);
    while (true) {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return out;
}

} // namespace

bool Router::add(std::string method, std::string pattern, Handler handler, Access access) {
    if (pattern.empty() || pattern.front() != '/' || method.empty() || !handler) {
        return false;
    }
    Compiled c;
    for (std::string_view seg : split_path(pattern)) {
        const bool param = seg.size() >= 3 && seg.front() == '{' && seg.back() == '}';
        if (!param &&
            (seg.find('{') != std::string_view::npos || seg.find('}') != std::string_view::npos)) {
            return false;
        }
        c.segments.emplace_back(param ? seg.substr(1, seg.size() - 2) : seg);
        c.is_param.push_back(param);
    }
    for (std::size_t k = 0; k < routes_.size(); ++k) {
        if (routes_[k].method == method && compiled_[k].segments == c.segments &&
            compiled_[k].is_param == c.is_param) {
            return false;
        }
    }
    routes_.push_back(
        Route{std::move(method), std::move(pattern), access, std::move(handler), FastHandler()});
    compiled_.push_back(std::move(c));
    return true;
}

bool Router::set_fast(std::string_view method, std::string_view pattern, FastHandler fast) {
    for (Route& route : routes_) {
        if (route.method == method && route.pattern == pattern &&
            route.access == Access::Public) {
            route.fast = std::move(fast);
            return true;
        }
    }
    return false;
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
    RouteMatch result;
    const std::vector<std::string_view> raw = split_path(path);
    if (raw.empty()) {
        result.kind = RouteMatch::Kind::BadPath;
        return result;
    }
    std::vector<std::string> decoded;
    decoded.reserve(raw.size());
    for (std::string_view seg : raw) {
        auto d = percent_decode(seg, false);
        if (!d) {
            result.kind = RouteMatch::Kind::BadPath;
            return result;
        }
        decoded.push_back(std::move(*d));
    }

    // The best route is the one whose first differing segment is literal.
    const auto more_specific = [](const Compiled& a, const Compiled& b) {
        for (std::size_t i = 0; i < a.is_param.size(); ++i) {
            if (a.is_param[i] != b.is_param[i]) {
                return !a.is_param[i];
            }
        }
        return false;
    };
    const Compiled* best = nullptr;
    std::size_t best_index = 0;
    const Compiled* best_any = nullptr;
    for (std::size_t k = 0; k < routes_.size(); ++k) {
        const Compiled& c = compiled_[k];
        if (c.segments.size() != decoded.size()) {
            continue;
        }
        bool ok = true;
        for (std::size_t i = 0; i < decoded.size() && ok; ++i) {
            ok = c.is_param[i] ? !decoded[i].empty() : c.segments[i] == decoded[i];
        }
        if (!ok) {
            continue;
        }
        if (best_any == nullptr || more_specific(c, *best_any)) {
            best_any = &c;
        }
        if (routes_[k].method == method && (best == nullptr || more_specific(c, *best))) {
            best = &c;
            best_index = k;
        }
    }
    if (best_any == nullptr) {
        result.kind = RouteMatch::Kind::NotFound;
        return result;
    }
    // A method registered on a less specific pattern does not hide the more specific path's 405.
    if (best == nullptr || more_specific(*best_any, *best)) {
        result.kind = RouteMatch::Kind::MethodNotAllowed;
        for (std::size_t k = 0; k < routes_.size(); ++k) {
            if (compiled_[k].segments == best_any->segments &&
                compiled_[k].is_param == best_any->is_param &&
                std::find(result.allow.begin(), result.allow.end(), routes_[k].method) ==
                    result.allow.end()) {
                result.allow.push_back(routes_[k].method);
            }
        }
        std::sort(result.allow.begin(), result.allow.end());
        return result;
    }
    result.kind = RouteMatch::Kind::Found;
    result.route = &routes_[best_index];
    for (std::size_t i = 0; i < decoded.size(); ++i) {
        if (best->is_param[i]) {
            result.params.emplace_back(best->segments[i], std::move(decoded[i]));
        }
    }
    return result;
}

} // namespace teamflow::server
