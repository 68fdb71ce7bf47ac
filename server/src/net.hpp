#pragma once
// Internal: the state shared by the listener and the sessions.

#include "teamflow/server/service.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace teamflow::server::detail {

class Session;

/// What every connection needs; owned by the server, outlives the sessions.
struct Shared {
    Service& service;
    const ServerConfig& limits;
    boost::asio::thread_pool& workers;
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> queued{0};
    std::atomic<bool> draining{false};

    std::mutex mutex;
    std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;

    Shared(Service& s, const ServerConfig& l, boost::asio::thread_pool& w)
        : service(s), limits(l), workers(w) {}

    /// Every live session (for drain and abort).
    std::vector<std::shared_ptr<Session>> live_sessions();
};

/// Starts serving an accepted connection; `reject` answers every request 503 (over the limit).
void start_session(boost::asio::ip::tcp::socket socket, Shared& shared, bool reject);

/// Asks a session to finish its current request and close (posted to its strand).
void drain_session(const std::shared_ptr<Session>& session);

/// Closes a session's socket now.
void abort_session(const std::shared_ptr<Session>& session);

} // namespace teamflow::server::detail
