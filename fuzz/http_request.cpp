// Fuzzes the whole request path of the JSON API: the input is the bytes a client sends on one
// connection. Beast's request parser, with the server's limits (8 KiB of headers, 64 KiB of body),
// reads up to 4 pipelined requests from them; each goes, as the server hands it over (a request
// it could not read with its transport_problem), to the app with every API route (api_harness.hpp,
// whose check() holds the invariants).
#include "fuzz/api_harness.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace sspr;
using namespace sspr::gateway;
using sspr::fuzz::harness;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    harness h;
    for (int n = 0; n < 4 && !rest.empty(); ++n) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(8 * 1024);
        parser.body_limit(std::uint64_t{64} * 1024);
        parser.eager(true);
        boost::system::error_code ec;
        std::size_t used = 0;
        // Stops when the bytes run out before the request is whole (the rest never arrives: the
        // server would time out): in a body, put() takes an empty buffer without need_more.
        while (!parser.is_done() && used < rest.size()) {
            const std::size_t got =
                parser.put(boost::asio::buffer(rest.data() + used, rest.size() - used), ec);
            used += got;
            if (ec == http::error::need_more) {
                ec = {};
                if (got == 0) {
                    break;
                }
                continue;
            }
            if (ec || got == 0) {
                break;
            }
        }
        transport_problem problem = transport_problem::none;
        if (ec == http::error::body_limit) {
            problem = transport_problem::payload_too_large;
        } else if (ec) {
            problem = transport_problem::bad_request;
        } else if (!parser.is_done()) {
            return 0;
        }
        request req = parser.release();
        const response res = h.send(req, problem);
        fuzz::check(req, res, problem);
        if (problem != transport_problem::none || !req.keep_alive()) {
            return 0; // the server closes the connection after this answer
        }
        rest.remove_prefix(used);
    }
    return 0;
}
