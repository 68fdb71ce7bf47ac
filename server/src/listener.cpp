// The acceptor and the server's lifecycle: threads, signals, graceful drain.

#include "net.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fmt/format.h>
#include <thread>

namespace teamflow::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// Accepts connections until closed; connections over `max_connections` are served 503.
class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(net::io_context& ioc, detail::Shared& shared)
        : ioc_(ioc), acceptor_(net::make_strand(ioc)), shared_(shared) {}

    std::optional<std::string> bind(const std::string& host, std::uint16_t port) {
        boost::system::error_code ec;
        tcp::resolver resolver(ioc_);
        const auto results =
            resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
        if (ec || results.empty()) {
            return fmt::format("server.listen: cannot resolve \"{}\": {}", host,
                               ec ? ec.message() : "no address");
        }
        const tcp::endpoint endpoint = results.begin()->endpoint();
        const auto fail = [&](const char* what) {
            return fmt::format("server.listen: cannot {} {}:{}: {}", what, host, port,
                               ec.message());
        };
        acceptor_.open(endpoint.protocol(), ec);
        if (ec) {
            return fail("open a socket for");
        }
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (ec) {
            return fail("configure");
        }
        acceptor_.bind(endpoint, ec);
        if (ec) {
            return fail("bind");
        }
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (ec) {
            return fail("listen on");
        }
        port_ = acceptor_.local_endpoint(ec).port();
        return std::nullopt;
    }

    std::uint16_t port() const { return port_; }

    void run() {
        net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->accept(); });
    }

    void close() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ec;
            self->acceptor_.close(ec);
        });
    }

private:
    void accept() {
        auto on_accept = [self = shared_from_this()](boost::system::error_code ec,
                                                     tcp::socket socket) {
            self->on_accept(ec, std::move(socket));
        };
        // With one I/O thread every handler already runs in turn: connections need no strand
        // (a strand costs an executor copy and a lock on every operation).
        if (shared_.limits.threads == 1) {
            acceptor_.async_accept(net::any_io_executor(ioc_.get_executor()),
                                   std::move(on_accept));
        } else {
            acceptor_.async_accept(net::make_strand(ioc_), std::move(on_accept));
        }
    }

    void on_accept(boost::system::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
            return;
        }
        if (ec) {
            // E.g. out of file descriptors: log, and keep accepting.
            log_event(LogLevel::Warn, "accept failed", {{"error", ec.message()}});
        } else if (shared_.draining) {
            boost::system::error_code ignored;
            socket.close(ignored);
        } else {
            const bool reject = shared_.connections.load() >= shared_.limits.max_connections;
            detail::start_session(std::move(socket), shared_, reject);
        }
        accept();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    detail::Shared& shared_;
    std::uint16_t port_ = 0;
};

} // namespace

struct Server::Impl {
    // Declaration order matters: sessions (held by handlers queued in `ioc` or `workers`) use
    // `shared` when destroyed, so `shared` is declared before them and outlives them.
    Service& service;
    ServerConfig limits;
    detail::Shared shared;
    net::thread_pool workers;
    net::io_context ioc;
    std::shared_ptr<Listener> listener;
    std::optional<net::signal_set> signals;
    net::steady_timer drain_timer;
    std::chrono::steady_clock::time_point drain_deadline;
    std::vector<std::thread> threads;
    std::mutex start_mutex;
    std::mutex join_mutex;
    std::atomic<bool> started{false};
    std::atomic<bool> stopping{false};
    bool joined = false;

    explicit Impl(Service& s)
        : service(s), limits(s.config().server), shared(s, limits, workers),
          workers(static_cast<std::size_t>(s.config().worker_threads())), ioc(limits.threads),
          drain_timer(ioc) {}

    void begin_stop() {
        if (stopping.exchange(true)) {
            return;
        }
        shared.draining = true;
        log_event(LogLevel::Info, "draining",
                  {{"connections", static_cast<std::uint64_t>(shared.connections.load())}});
        if (signals) {
            boost::system::error_code ec;
            signals->cancel(ec);
        }
        if (listener) {
            listener->close();
        }
        for (const auto& session : shared.live_sessions()) {
            detail::drain_session(session);
        }
        drain_deadline = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(limits.request_timeout_ms) +
                         std::chrono::seconds(1);
        watch_drain();
    }

    /// Polls until every connection is gone; past the deadline, closes what is left.
    void watch_drain() {
        if (shared.connections.load() == 0) {
            return;
        }
        if (std::chrono::steady_clock::now() >= drain_deadline) {
            for (const auto& session : shared.live_sessions()) {
                detail::abort_session(session);
            }
        }
        drain_timer.expires_after(std::chrono::milliseconds(20));
        drain_timer.async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                watch_drain();
            }
        });
    }
};

Server::Server(Service& service) : impl_(std::make_unique<Impl>(service)) {}

Server::~Server() {
    stop();
    wait();
}

std::optional<std::string> Server::start() {
    std::lock_guard lock(impl_->start_mutex);
    if (impl_->started) {
        return std::string("the server is already started");
    }
    auto listener = std::make_shared<Listener>(impl_->ioc, impl_->shared);
    if (auto error = listener->bind(impl_->limits.host, impl_->limits.port)) {
        return error;
    }
    impl_->listener = listener;
    impl_->started = true;
    listener->run();
    for (int i = 0; i < impl_->limits.threads; ++i) {
        impl_->threads.emplace_back([this] { impl_->ioc.run(); });
    }
    log_event(LogLevel::Info, "listening",
              {{"host", impl_->limits.host},
               {"port", listener->port()},
               {"threads", impl_->limits.threads},
               {"workers", impl_->service.config().worker_threads()}});
    return std::nullopt;
}

std::uint16_t Server::port() const {
    return impl_->listener ? impl_->listener->port() : std::uint16_t{0};
}

void Server::stop_on_signals() {
    impl_->signals.emplace(impl_->ioc, SIGINT, SIGTERM);
    impl_->signals->async_wait([this](boost::system::error_code ec, int signal) {
        if (!ec) {
            log_event(LogLevel::Info, "signal", {{"signal", signal}});
            impl_->begin_stop();
        }
    });
}

void Server::stop() {
    // Runs on an I/O thread; when the server never started, there is nothing to drain.
    std::lock_guard lock(impl_->start_mutex);
    if (!impl_->started) {
        return;
    }
    net::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

void Server::wait() {
    std::lock_guard lock(impl_->join_mutex);
    if (impl_->joined) {
        return;
    }
    for (std::thread& t : impl_->threads) {
        t.join();
    }
    impl_->workers.join();
    impl_->joined = true;
}

} // namespace teamflow::server
