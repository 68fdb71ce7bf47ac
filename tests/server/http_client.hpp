#pragma once
// A small blocking HTTP/1.1 client for loopback tests (Beast), with socket timeouts so a broken
// server fails the test instead of hanging it.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <utility>
#include <vector>

namespace teamflow::server::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

using HttpResponse = http::response<http::string_body>;

/// One connection to 127.0.0.1:port.
class Client {
public:
    explicit Client(std::uint16_t port) : socket_(ioc_) {
        socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        timeval tv{};
        tv.tv_sec = 10;
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }

    /// Sends raw bytes.
    void send_raw(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }

    /// Sends one request.
    void send(const std::string& method, const std::string& target, const std::string& body = {},
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        http::request<http::string_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        req.set(http::field::host, "127.0.0.1");
        for (const auto& [name, value] : headers) {
            req.set(name, value);
        }
        if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
            req.body() = body;
            req.prepare_payload();
        }
        http::write(socket_, req);
    }

    /// Reads one response (error set when the connection failed or closed).
    HttpResponse read(beast::error_code& ec) {
        HttpResponse res;
        http::response_parser<http::string_body> parser;
        parser.body_limit(64u * 1024u * 1024u);
        http::read(socket_, buffer_, parser, ec);
        if (!ec) {
            res = parser.release();
        }
        return res;
    }

    /// Reads one response; fails the test on a transport error.
    HttpResponse read() {
        beast::error_code ec;
        HttpResponse res = read(ec);
        if (ec) {
            ADD_FAILURE() << "read failed: " << ec.message();
        }
        return res;
    }

    /// Sends a request and reads its response.
    HttpResponse request(const std::string& method, const std::string& target,
                         const std::string& body = {},
                         const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        send(method, target, body, headers);
        return read();
    }

    /// Whether the server closed the connection (a read sees end of stream).
    bool closed_by_peer() {
        beast::error_code ec;
        char byte = 0;
        if (buffer_.size() > 0) {
            return false;
        }
        socket_.read_some(net::buffer(&byte, 1), ec);
        return ec == net::error::eof || ec == net::error::connection_reset;
    }

private:
    net::io_context ioc_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

} // namespace teamflow::server::testing
