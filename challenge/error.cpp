#include "challenge/error.hpp"

#include <string>

namespace sspr::challenge {
namespace {

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.challenge"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::key_file_unreadable:
            return "key file cannot be read";
        case error::key_file_not_regular:
            return "key file is not a regular file";
        case error::key_file_permissions:
            return "key file is accessible by group or others (make it mode 0600 or 0400)";
        case error::key_too_short:
            return "key file holds fewer than 32 bytes";
        case error::key_too_long:
            return "key file is larger than a key (wrong file?)";
        case error::invalid_parameters:
            return "invalid challenge parameters";
        case error::invalid_base32:
            return "invalid base32 text";
        case error::invalid_text:
            return "text is not valid UTF-8";
        case error::answer_too_short:
            return "answer is too short";
        case error::answer_too_long:
            return "answer is too long";
        case error::normalisation_failed:
            return "text could not be normalised";
        case error::hash_failed:
            return "argon2id hashing failed";
        case error::malformed_hash:
            return "stored answer hash is malformed";
        case error::not_enough_questions:
            return "not enough distinct questions registered";
        case error::qr_failed:
            return "QR code could not be made";
        case error::invalid_email:
            return "invalid email address";
        case error::invalid_phone:
            return "invalid phone number";
        }
        return "unknown sspr.challenge error";
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& challenge_category() noexcept {
    static const category_impl instance;
    return instance;
}

} // namespace sspr::challenge
