#include "store/enrollment_codec.hpp"

#include "common/wipe.hpp"

#include <functional>
#include <limits>

namespace sspr::store::detail {
namespace {

constexpr char layout_version = 1;
// Far above any real enrollment; a larger count can only come from a damaged row.
constexpr std::uint32_t max_items = 1000;

void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xffU));
    }
}

void put_i64(std::string& out, std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((u >> shift) & 0xffU));
    }
}

void put_string(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

// Reads the layout back; every read checks the remaining length, so a damaged or truncated
// plaintext is reported, never read past.
class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}

    bool byte(unsigned char& v) {
        if (in_.empty()) {
            return false;
        }
        v = static_cast<unsigned char>(in_.front());
        in_.remove_prefix(1);
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (in_.size() < 4) {
            return false;
        }
        v = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            v = (v << 8U) | static_cast<unsigned char>(in_[i]);
        }
        in_.remove_prefix(4);
        return true;
    }
    bool i64(std::int64_t& v) {
        if (in_.size() < 8) {
            return false;
        }
        std::uint64_t u = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            u = (u << 8U) | static_cast<unsigned char>(in_[i]);
        }
        in_.remove_prefix(8);
        v = static_cast<std::int64_t>(u);
        return true;
    }
    bool string(std::string& v) {
        std::uint32_t len = 0;
        if (!u32(len) || in_.size() < len) {
            return false;
        }
        v.assign(in_.substr(0, len));
        in_.remove_prefix(len);
        return true;
    }
    bool version() {
        unsigned char v = 0;
        return byte(v) && v == layout_version;
    }
    [[nodiscard]] bool done() const noexcept { return in_.empty(); }

private:
    std::string_view in_;
};

/// A confirmation time at the end of a plaintext: absent in rows written before it was kept, so
/// a reader takes "no bytes left" as "not known" and older rows stay readable without a migration.
void put_optional_time(std::string& out, const std::optional<timestamp>& t) {
    out.push_back(t ? '\1' : '\0');
    put_i64(out, t ? t->time_since_epoch().count() : 0);
}

bool read_optional_time(reader& r, std::optional<timestamp>& t) {
    t.reset();
    if (r.done()) {
        return true;
    }
    unsigned char has_time = 0;
    std::int64_t ms = 0;
    if (!r.byte(has_time) || !r.i64(ms) || has_time > 1) {
        return false;
    }
    if (has_time == 1) {
        t = timestamp(std::chrono::milliseconds(ms));
    }
    return true;
}

} // namespace

std::string encode_contacts(const std::vector<contact>& contacts) {
    std::string out;
    out.push_back(layout_version);
    put_u32(out, static_cast<std::uint32_t>(contacts.size()));
    for (const auto& c : contacts) {
        put_string(out, c.address);
        out.push_back(c.confirmed_at ? '\1' : '\0');
        put_i64(out, c.confirmed_at ? c.confirmed_at->time_since_epoch().count() : 0);
    }
    return out;
}

result<std::vector<contact>> decode_contacts(std::string_view plain) {
    reader r(plain);
    std::uint32_t count = 0;
    if (!r.version() || !r.u32(count) || count > max_items) {
        return error::corrupt;
    }
    std::vector<contact> out;
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        contact c;
        unsigned char has_time = 0;
        std::int64_t ms = 0;
        if (!r.string(c.address) || !r.byte(has_time) || !r.i64(ms) || has_time > 1) {
            return error::corrupt;
        }
        if (has_time == 1) {
            c.confirmed_at = timestamp(std::chrono::milliseconds(ms));
        }
        out.push_back(std::move(c));
    }
    if (!r.done()) {
        return error::corrupt;
    }
    return out;
}

std::string encode_totp(const std::optional<totp_enrollment>& totp) {
    std::string out;
    out.push_back(layout_version);
    if (!totp) {
        out.push_back('\0');
        return out;
    }
    out.push_back('\1');
    put_string(out, totp->secret.reveal());
    out.push_back(totp->confirmed ? '\1' : '\0');
    put_optional_time(out, totp->confirmed_at);
    return out;
}

result<std::optional<totp_enrollment>> decode_totp(std::string_view plain) {
    reader r(plain);
    unsigned char present = 0;
    if (!r.version() || !r.byte(present) || present > 1) {
        return error::corrupt;
    }
    if (present == 0) {
        if (!r.done()) {
            return error::corrupt;
        }
        return std::optional<totp_enrollment>();
    }
    common::wiping_string secret;
    unsigned char confirmed = 0;
    std::optional<timestamp> confirmed_at;
    if (!r.string(secret.get()) || !r.byte(confirmed) || confirmed > 1 ||
        !read_optional_time(r, confirmed_at) || !r.done()) {
        return error::corrupt;
    }
    totp_enrollment t;
    t.secret = common::secret(std::move(secret.get()));
    t.confirmed = confirmed == 1;
    t.confirmed_at = confirmed_at;
    return std::optional<totp_enrollment>(std::move(t));
}

std::string encode_questions(const std::vector<question_answer>& questions,
                             const std::optional<timestamp>& confirmed_at) {
    std::string out;
    out.push_back(layout_version);
    put_u32(out, static_cast<std::uint32_t>(questions.size()));
    for (const auto& q : questions) {
        put_string(out, q.id);
        put_string(out, q.answer_hash);
    }
    put_optional_time(out, confirmed_at);
    return out;
}

result<std::vector<question_answer>> decode_questions(std::string_view plain,
                                                      std::optional<timestamp>* confirmed_at) {
    reader r(plain);
    std::uint32_t count = 0;
    if (!r.version() || !r.u32(count) || count > max_items) {
        return error::corrupt;
    }
    std::vector<question_answer> out;
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        question_answer q;
        if (!r.string(q.id) || !r.string(q.answer_hash)) {
            return error::corrupt;
        }
        out.push_back(std::move(q));
    }
    std::optional<timestamp> when;
    if (!read_optional_time(r, when) || !r.done()) {
        return error::corrupt;
    }
    if (confirmed_at != nullptr) {
        *confirmed_at = when;
    }
    return out;
}

result<sealed_enrollment> seal_enrollment(const enrollment& e, std::uint64_t version,
                                          const crypto::keyring& keys, common::random& random) {
    sealed_enrollment row;
    row.key_id = keys.active().id();
    const auto seal_one = [&](std::string plain, std::string_view field,
                              std::string& out) -> result<void> {
        const common::wiping_string p(std::move(plain));
        auto sealed = crypto::seal(keys, random, p.view(), e.user_dn, field, version);
        if (!sealed) {
            return sealed.error();
        }
        out = std::move(*sealed);
        return {};
    };
    if (auto r = seal_one(encode_contacts(e.emails), field_emails, row.emails); !r) {
        return r.error();
    }
    if (auto r = seal_one(encode_contacts(e.phones), field_phones, row.phones); !r) {
        return r.error();
    }
    if (auto r = seal_one(encode_totp(e.totp), field_totp, row.totp); !r) {
        return r.error();
    }
    if (auto r = seal_one(encode_questions(e.questions, e.questions_confirmed_at), field_questions,
                          row.questions);
        !r) {
        return r.error();
    }
    return row;
}

namespace {

using open_fn =
    std::function<result<common::secret>(std::string_view sealed, std::string_view field)>;

result<void> open_fields(const sealed_enrollment& row, std::string_view user_dn,
                         const open_fn& open_one, enrollment& out) {
    out.user_dn = std::string(user_dn);
    auto emails = open_one(row.emails, field_emails);
    if (!emails) {
        return emails.error();
    }
    auto decoded_emails = decode_contacts(emails->reveal());
    if (!decoded_emails) {
        return decoded_emails.error();
    }
    out.emails = std::move(*decoded_emails);

    auto phones = open_one(row.phones, field_phones);
    if (!phones) {
        return phones.error();
    }
    auto decoded_phones = decode_contacts(phones->reveal());
    if (!decoded_phones) {
        return decoded_phones.error();
    }
    out.phones = std::move(*decoded_phones);

    auto totp = open_one(row.totp, field_totp);
    if (!totp) {
        return totp.error();
    }
    auto decoded_totp = decode_totp(totp->reveal());
    if (!decoded_totp) {
        return decoded_totp.error();
    }
    out.totp = std::move(*decoded_totp);

    auto questions = open_one(row.questions, field_questions);
    if (!questions) {
        return questions.error();
    }
    auto decoded_questions = decode_questions(questions->reveal(), &out.questions_confirmed_at);
    if (!decoded_questions) {
        return decoded_questions.error();
    }
    out.questions = std::move(*decoded_questions);
    return {};
}

} // namespace

result<void> open_enrollment(const sealed_enrollment& row, std::string_view user_dn,
                             std::uint64_t version, const crypto::keyring& keys, enrollment& out) {
    return open_fields(
        row, user_dn,
        [&](std::string_view sealed, std::string_view field) {
            return crypto::open(keys, sealed, user_dn, field, version);
        },
        out);
}

result<void> open_legacy_enrollment(const sealed_enrollment& row, std::string_view user_dn,
                                    const crypto::keyring& keys, enrollment& out) {
    return open_fields(
        row, user_dn,
        [&](std::string_view sealed, std::string_view field) {
            return crypto::open_legacy(keys, sealed, user_dn, field);
        },
        out);
}

} // namespace sspr::store::detail
