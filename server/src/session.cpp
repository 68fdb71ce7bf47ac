// One HTTP/1.1 connection: read a request, hand it to a worker, write the answer, repeat. One
// request at a time, so pipelined requests are answered in order; bytes that arrive early wait in
// the buffer for the next read.

#include "net.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/problem.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fmt/format.h>
#include <optional>

namespace teamflow::server::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::vector<std::shared_ptr<Session>> Shared::live_sessions() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lock(mutex);
    for (auto& [key, weak] : sessions) {
        if (auto s = weak.lock()) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, Shared& shared, bool reject)
        : stream_(std::move(socket)), shared_(shared), reject_(reject) {
        ++shared_.connections;
    }

    ~Session() {
        {
            std::lock_guard lock(shared_.mutex);
            shared_.sessions.erase(this);
        }
        --shared_.connections;
    }

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() {
        {
            std::lock_guard lock(shared_.mutex);
            shared_.sessions.emplace(this, weak_from_this());
        }
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->next(); });
    }

    void drain() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            self->drain_ = true;
            if (self->state_ == State::Idle) {
                beast::error_code ec;
                self->stream_.socket().cancel(ec);
            }
        });
    }

    void abort() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
            self->stream_.socket().close(ec);
        });
    }

private:
    enum class State { Idle, Reading, Handling, Writing, Closing };
    using Clock = std::chrono::steady_clock;

    const ServerConfig& limits() const { return shared_.limits; }

    /// Waits for the first byte of the next request (idle timeout), unless one is buffered.
    void next() {
        if (drain_ || shared_.draining) {
            close();
            return;
        }
        if (buffer_.size() > 0) {
            read_request();
            return;
        }
        state_ = State::Idle;
        stream_.expires_after(std::chrono::milliseconds(limits().idle_timeout_ms));
        stream_.async_read_some(buffer_.prepare(4096),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->on_first_bytes(ec, n);
                                });
    }

    void on_first_bytes(beast::error_code ec, std::size_t n) {
        if (ec) {
            close();
            return;
        }
        buffer_.commit(n);
        read_request();
    }

    /// Reads one whole request within `request_timeout_ms`, under the header and body limits.
    void read_request() {
        state_ = State::Reading;
        start_ = Clock::now();
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits().header_limit_bytes));
        parser_->body_limit(limits().max_body_bytes);
        // The deadline is armed only before an asynchronous read (arming a timer is not free).
        read_deadline_ = start_ + std::chrono::milliseconds(limits().request_timeout_ms);
        // A keep-alive client's request has usually arrived whole with its first bytes: parse
        // what is buffered here, and read asynchronously only what is still missing.
        beast::error_code ec;
        parse_buffered(ec);
        if (ec) {
            on_read(ec);
            return;
        }
        if (parser_->is_done()) {
            on_read(ec);
            return;
        }
        if (parser_->is_header_done()) {
            on_header(ec);
            return;
        }
        stream_.expires_at(read_deadline_);
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code rec, std::size_t) {
                                    self->on_header(rec);
                                });
    }

    /// Feeds the buffered bytes to the parser (which enforces the header and body limits);
    /// leaves in the buffer what it has not consumed. Running out of bytes is not an error.
    void parse_buffered(beast::error_code& ec) {
        while (buffer_.size() > 0 && !parser_->is_done()) {
            const std::size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec == http::error::need_more) {
                ec = {};
                return;
            }
            if (ec || used == 0) {
                return;
            }
        }
    }

    /// Answers `Expect: 100-continue` (curl waits for it before sending a larger body).
    void on_header(beast::error_code ec) {
        if (ec) {
            on_read(ec);
            return;
        }
        if (iequals(parser_->get()[http::field::expect], "100-continue")) {
            interim_.emplace(http::status::continue_, 11);
            stream_.expires_at(read_deadline_);
            http::async_write(stream_, *interim_,
                              [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                  self->interim_.reset();
                                  if (wec) {
                                      self->close();
                                      return;
                                  }
                                  self->read_body();
                              });
            return;
        }
        read_body();
    }

    void read_body() {
        beast::error_code ec;
        parse_buffered(ec);
        if (ec || parser_->is_done()) {
            on_read(ec);
            return;
        }
        stream_.expires_at(read_deadline_);
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code rec, std::size_t) { self->on_read(rec); });
    }

    Request partial_request() const {
        Request r;
        if (parser_ && parser_->is_header_done()) {
            const auto& h = parser_->get();
            r.method = std::string(h.method_string());
            r.target = std::string(h.target());
            for (const auto& field : h) {
                r.headers.emplace_back(std::string(field.name_string()),
                                       std::string(field.value()));
            }
            std::string ignored;
            split_target(r, ignored);
        }
        return r;
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == net::error::operation_aborted || ec == net::error::eof) {
            close();
            return;
        }
        if (ec == http::error::body_limit) {
            respond_now(payload_too_large(limits().max_body_bytes));
            return;
        }
        if (ec == http::error::header_limit) {
            Response r = problem(431, "header-too-large", "Request header fields too large",
                                 fmt::format("the request line and headers exceed {} bytes",
                                             limits().header_limit_bytes));
            r.close = true;
            respond_now(std::move(r));
            return;
        }
        if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
            Response r = bad_request(fmt::format("malformed HTTP request: {}", ec.message()));
            r.close = true;
            respond_now(std::move(r));
            return;
        }
        if (ec) {
            close();
            return;
        }

        http::request<http::string_body> message = parser_->release();
        parser_.reset();
        keep_alive_ = message.keep_alive();
        head_ = message.method() == http::verb::head;
        Request request;
        request.method = std::string(message.method_string());
        request.target = std::string(message.target());
        request.headers.reserve(
            static_cast<std::size_t>(std::distance(message.begin(), message.end())));
        for (const auto& field : message) {
            request.headers.emplace_back(std::string(field.name_string()),
                                         std::string(field.value()));
        }
        request.body = std::move(message.body());
        state_ = State::Handling;

        if (reject_) {
            Response r = service_unavailable("the server has too many open connections", 1);
            r.close = true;
            write(shared_.service.finish(request, std::move(r), start_));
            return;
        }
        // Cheap public routes (GET /healthz) answer here, without a round trip to a worker.
        if (std::optional<Response> fast = shared_.service.handle_fast(request)) {
            write(std::move(*fast));
            return;
        }
        if (shared_.queued.fetch_add(1) >= limits().max_queued_requests) {
            --shared_.queued;
            write(shared_.service.finish(
                request, too_many_requests("the server is busy; retry shortly", 1), start_));
            return;
        }
        // The work guard keeps the io_context running while the handler runs elsewhere.
        net::post(shared_.workers,
                  [self = shared_from_this(), request = std::move(request),
                   guard = net::make_work_guard(stream_.get_executor())]() mutable {
                      Response response;
                      try {
                          response = self->shared_.service.handle(std::move(request));
                      } catch (...) {
                          response = internal_error("unknown");
                      }
                      --self->shared_.queued;
                      net::post(self->stream_.get_executor(),
                                [self, response = std::move(response)]() mutable {
                                    self->write(std::move(response));
                                });
                  });
    }

    /// Answers a request that could not be read whole, then closes.
    void respond_now(Response response) {
        state_ = State::Handling;
        keep_alive_ = false;
        head_ = false;
        write(shared_.service.finish(partial_request(), std::move(response), start_));
    }

    void write(Response r) {
        state_ = State::Writing;
        const bool keep = keep_alive_ && !r.close && !drain_ && !shared_.draining;
        response_.emplace();
        response_->version(11);
        response_->result(static_cast<unsigned>(r.status));
        if (!r.content_type.empty()) { // 204 has no body, so no type
            response_->set(http::field::content_type, r.content_type);
        }
        for (auto& [name, value] : r.headers) {
            response_->set(name, value);
        }
        response_->keep_alive(keep);
        if (head_) {
            // HEAD: the headers GET would send (Content-Length included), no body.
            response_->content_length(r.body.size());
        } else {
            response_->body() = std::move(r.body);
            response_->prepare_payload();
        }
        stream_.expires_after(std::chrono::milliseconds(limits().request_timeout_ms));
        http::async_write(stream_, *response_,
                          [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
                              self->on_write(ec, keep);
                          });
    }

    void on_write(beast::error_code ec, bool keep) {
        response_.reset();
        if (ec) {
            close();
            return;
        }
        if (!keep) {
            linger();
            return;
        }
        next();
    }

    /// Closes politely: stop sending, then read and discard what the client is still sending (up
    /// to a second) so it sees the response rather than a reset.
    void linger() {
        state_ = State::Closing;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) {
            close();
            return;
        }
        buffer_.clear();
        stream_.expires_after(std::chrono::seconds(1));
        discard();
    }

    void discard() {
        stream_.async_read_some(buffer_.prepare(65536),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) {
                                        self->close();
                                        return;
                                    }
                                    self->discard();
                                });
    }

    void close() {
        state_ = State::Closing;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::response<http::string_body>> response_;
    std::optional<http::response<http::empty_body>> interim_;
    Shared& shared_;
    bool reject_ = false;
    bool keep_alive_ = true;
    bool head_ = false; ///< the request being answered is HEAD: no body
    bool drain_ = false;
    State state_ = State::Idle;
    Clock::time_point start_ = Clock::now();
    Clock::time_point read_deadline_ = start_;
};

void start_session(tcp::socket socket, Shared& shared, bool reject) {
    std::make_shared<Session>(std::move(socket), shared, reject)->start();
}

void drain_session(const std::shared_ptr<Session>& session) {
    session->drain();
}

void abort_session(const std::shared_ptr<Session>& session) {
    session->abort();
}

} // namespace teamflow::server::detail
