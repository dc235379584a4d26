#include "challenge/base32.hpp"

#include <openssl/crypto.h>

#include <cstdint>

namespace sspr::challenge {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a';
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

} // namespace

std::string base32_encode(std::string_view bytes, bool pad) {
    std::string out;
    out.reserve((bytes.size() + 4) / 5 * 8);
    std::uint32_t buffer = 0;
    unsigned bits = 0;
    for (const char c : bytes) {
        buffer = (buffer << 8U) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(alphabet[(buffer >> bits) & 0x1fU]);
        }
        buffer &= (1U << bits) - 1U; // keep only the bits not yet written
    }
    if (bits > 0) {
        out.push_back(alphabet[(buffer << (5 - bits)) & 0x1fU]);
    }
    if (pad) {
        while (out.size() % 8 != 0) {
            out.push_back('=');
        }
    }
    return out;
}

result<std::string> base32_decode(std::string_view text) {
    std::string out;
    std::uint32_t buffer = 0;
    unsigned bits = 0;
    std::size_t symbols = 0;
    std::size_t padding = 0;
    for (const char c : text) {
        if (c == ' ' || c == '-') {
            continue;
        }
        if (c == '=') {
            ++padding;
            continue;
        }
        const int v = decode_char(c);
        if (v < 0 || padding > 0) {
            OPENSSL_cleanse(out.data(), out.size());
            return error::invalid_base32;
        }
        ++symbols;
        buffer = (buffer << 5U) | static_cast<std::uint32_t>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xffU));
            buffer &= (1U << bits) - 1U;
        }
    }
    // A final group of 8 symbols encodes 5 bytes; partial groups of 2, 4, 5 or 7 symbols encode 1
    // to 4 bytes. 1, 3 or 6 symbols cannot come from any input, and padding, when present, must
    // complete the last group.
    const std::size_t rest = symbols % 8;
    const bool impossible = rest == 1 || rest == 3 || rest == 6;
    const bool bad_padding = padding > 0 && (rest == 0 || (symbols + padding) % 8 != 0);
    if (impossible || bad_padding) {
        OPENSSL_cleanse(out.data(), out.size());
        return error::invalid_base32;
    }
    return out;
}

} // namespace sspr::challenge
