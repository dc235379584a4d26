#include "challenge/qr.hpp"

#include <openssl/crypto.h>
#include <qrencode.h>

#include <memory>
#include <string>

namespace sspr::challenge {
namespace {

struct qrcode_deleter {
    void operator()(QRcode* code) const noexcept {
        // The modules spell out the secret the code carries.
        if (code->data != nullptr && code->width > 0) {
            OPENSSL_cleanse(code->data, static_cast<std::size_t>(code->width) *
                                            static_cast<std::size_t>(code->width));
        }
        QRcode_free(code);
    }
};
using qrcode_ptr = std::unique_ptr<QRcode, qrcode_deleter>;

class wiped_string {
public:
    explicit wiped_string(std::string_view v) : value_(v) {}
    wiped_string() = default;
    ~wiped_string() { OPENSSL_cleanse(value_.data(), value_.size()); }
    wiped_string(const wiped_string&) = delete;
    wiped_string& operator=(const wiped_string&) = delete;
    std::string& get() noexcept { return value_; }

private:
    std::string value_;
};

constexpr int quiet_zone = 4; // modules of light border the standard asks for
constexpr int pixels_per_module = 4;

} // namespace

result<qr_image> qr_svg(std::string_view text) {
    if (text.empty() || text.find('\0') != std::string_view::npos) {
        return error::qr_failed;
    }
    wiped_string input(text); // libqrencode wants a NUL-terminated string
    // Version 0 = the smallest that fits; QR_MODE_8 with case sensitivity lets libqrencode pick
    // numeric/alphanumeric segments where they are shorter and bytes elsewhere.
    const qrcode_ptr code(QRcode_encodeString(input.get().c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
    if (!code || code->width <= 0) {
        return error::qr_failed;
    }

    const int width = code->width;
    const int side = width + 2 * quiet_zone;
    wiped_string svg;
    auto& out = svg.get();
    out.reserve(static_cast<std::size_t>(width) * static_cast<std::size_t>(width) * 4U + 256U);
    out += R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 )";
    out += std::to_string(side) + " " + std::to_string(side);
    out += R"(" width=")" + std::to_string(side * pixels_per_module);
    out += R"(" height=")" + std::to_string(side * pixels_per_module);
    out += R"(" shape-rendering="crispEdges">)";
    out += R"(<rect width="100%" height="100%" fill="#ffffff"/>)";
    out += R"(<path fill="#000000" d=")";
    // One rectangle per horizontal run of dark modules keeps the path a fraction of one per module.
    for (int y = 0; y < width; ++y) {
        int x = 0;
        while (x < width) {
            const auto at = [&](int col) {
                return (code->data[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                                   static_cast<std::size_t>(col)] &
                        1U) != 0;
            };
            if (!at(x)) {
                ++x;
                continue;
            }
            int run = 1;
            while (x + run < width && at(x + run)) {
                ++run;
            }
            out += "M" + std::to_string(x + quiet_zone) + " " + std::to_string(y + quiet_zone) +
                   "h" + std::to_string(run) + "v1h-" + std::to_string(run) + "z";
            x += run;
        }
    }
    out += R"("/></svg>)";

    qr_image image;
    image.version = code->version;
    image.modules = width;
    image.svg = common::secret(out);
    return image;
}

} // namespace sspr::challenge
