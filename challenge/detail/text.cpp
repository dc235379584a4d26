#include "challenge/detail/text.hpp"

#include <openssl/crypto.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sspr::challenge::detail {
namespace {

/// A buffer of text (UTF-16 or UTF-8) that is wiped when it dies: answers are secrets, and ICU
/// needs them in plain buffers of its own.
template <class T> class wiped_buffer {
public:
    explicit wiped_buffer(std::size_t n) : data_(n) {}
    ~wiped_buffer() { wipe(); }
    wiped_buffer(const wiped_buffer&) = delete;
    wiped_buffer& operator=(const wiped_buffer&) = delete;

    void resize(std::size_t n) {
        // A reallocation would leave the old bytes behind in freed memory; wipe them first.
        wipe();
        data_.assign(n, T{});
    }
    [[nodiscard]] T* data() noexcept { return data_.data(); }
    [[nodiscard]] const T* data() const noexcept { return data_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
    [[nodiscard]] std::int32_t isize() const noexcept {
        return static_cast<std::int32_t>(data_.size());
    }

private:
    void wipe() noexcept {
        if (!data_.empty()) {
            OPENSSL_cleanse(data_.data(), data_.size() * sizeof(T));
        }
    }
    std::vector<T> data_;
};

} // namespace

result<normalised_text> normalise_text(std::string_view input, std::size_t max_bytes) {
    if (input.size() > max_bytes) {
        return error::answer_too_long;
    }
    if (input.find('\0') != std::string_view::npos) {
        return error::invalid_text;
    }

    // UTF-8 -> UTF-16; ICU reports ill-formed input (it does not substitute U+FFFD here).
    UErrorCode status = U_ZERO_ERROR;
    wiped_buffer<UChar> utf16(input.size() + 1);
    std::int32_t utf16_len = 0;
    u_strFromUTF8(utf16.data(), utf16.isize(), &utf16_len, input.data(),
                  static_cast<std::int32_t>(input.size()), &status);
    if (status == U_INVALID_CHAR_FOUND || status == U_ILLEGAL_CHAR_FOUND) {
        return error::invalid_text;
    }
    if (U_FAILURE(status)) {
        return error::normalisation_failed;
    }

    // NFKC_Casefold: compatibility forms (fullwidth, ligatures, ideographic space) and case in
    // one step, as UTS #46 and RFC 8264 do for identifiers.
    status = U_ZERO_ERROR;
    const UNormalizer2* nfkc_cf = unorm2_getNFKCCasefoldInstance(&status);
    if (U_FAILURE(status)) {
        return error::normalisation_failed;
    }
    wiped_buffer<UChar> folded(static_cast<std::size_t>(utf16_len) * 2 + 16);
    std::int32_t folded_len =
        unorm2_normalize(nfkc_cf, utf16.data(), utf16_len, folded.data(), folded.isize(), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        // Some characters expand a lot under NFKC (U+FDFA becomes 18); retry at the size asked.
        status = U_ZERO_ERROR;
        folded.resize(static_cast<std::size_t>(folded_len) + 1);
        folded_len = unorm2_normalize(nfkc_cf, utf16.data(), utf16_len, folded.data(),
                                      folded.isize(), &status);
    }
    if (U_FAILURE(status)) {
        return error::normalisation_failed;
    }

    // Collapse white space runs to one space and trim, counting code points on the way.
    wiped_buffer<UChar> collapsed(static_cast<std::size_t>(folded_len) + 1);
    std::int32_t out_len = 0;
    std::size_t code_points = 0;
    bool pending_space = false;
    for (std::int32_t i = 0; i < folded_len;) {
        UChar32 c = 0;
// ICU's macro mixes signed and unsigned arithmetic internally; the values are code units.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
        U16_NEXT(folded.data(), i, folded_len, c);
#pragma GCC diagnostic pop
        if (u_isUWhiteSpace(c)) {
            pending_space = out_len > 0;
            continue;
        }
        if (pending_space) {
            collapsed.data()[out_len++] = u' ';
            ++code_points;
            pending_space = false;
        }
        UBool error_flag = false;
        U16_APPEND(collapsed.data(), out_len, collapsed.isize(), c, error_flag);
        if (error_flag) {
            return error::normalisation_failed;
        }
        ++code_points;
    }

    // UTF-16 -> UTF-8. Lone surrogates cannot appear: the input was well-formed UTF-8.
    status = U_ZERO_ERROR;
    wiped_buffer<char> utf8(static_cast<std::size_t>(out_len) * 3 + 1);
    std::int32_t utf8_len = 0;
    u_strToUTF8(utf8.data(), utf8.isize(), &utf8_len, collapsed.data(), out_len, &status);
    if (U_FAILURE(status)) {
        return error::normalisation_failed;
    }
    normalised_text out;
    out.text = common::secret(std::string(utf8.data(), static_cast<std::size_t>(utf8_len)));
    out.code_points = code_points;
    return out;
}

} // namespace sspr::challenge::detail
