#pragma once
/// The HTTP/1.1 server (Boost.Beast): `threads` I/O threads run one io_context; handlers run on a
/// separate pool of `worker_threads()` so they may block; SIGTERM/SIGINT drain and stop.

#include "teamflow/server/service.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace teamflow::server {

/// Listens on `config().server.listen` and serves `service` until stopped.
class Server {
public:
    /// The service must outlive the server.
    explicit Server(Service& service);
    /// Stops (draining) and joins every thread.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds, listens and starts the threads; the error (naming `server.listen`) on failure.
    std::optional<std::string> start();
    /// The bound port (useful with port 0).
    std::uint16_t port() const;
    /// Stops SIGINT and SIGTERM from killing the process: they start a graceful stop instead.
    void stop_on_signals();
    /// Graceful stop: stop accepting, close idle connections, finish in-flight requests (up to
    /// `request_timeout_ms`, then close what is left). Thread-safe, idempotent, returns at once.
    void stop();
    /// Blocks until the server has stopped and every thread has finished.
    void wait();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace teamflow::server
