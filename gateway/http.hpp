// The HTTP message types every part of the gateway speaks: Beast's, with the whole body in a
// string (bodies are small and bounded by server.max_body_bytes).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sspr::gateway {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

} // namespace sspr::gateway
