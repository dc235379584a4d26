#include "flows/methods.hpp"

#include "challenge/hints.hpp"

#include <algorithm>
#include <string>

namespace sspr::flows {

using time_point = std::chrono::system_clock::time_point;

std::vector<enrolled_method_view>
describe_methods(const store::enrollment& e, std::chrono::seconds reconfirm_after, time_point now) {
    const auto due = [&](std::optional<time_point> at) {
        return at && reconfirm_after.count() > 0 && now - *at > reconfirm_after;
    };
    std::vector<enrolled_method_view> out;
    const auto contacts = [&](const std::vector<store::contact>& v, const char* kind, bool email) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            auto hint =
                email ? challenge::mask_email(v[i].address) : challenge::mask_phone(v[i].address);
            std::optional<time_point> at;
            if (v[i].confirmed_at) {
                at = *v[i].confirmed_at;
            }
            out.push_back({std::string(kind) + "-" + std::to_string(i), kind, hint ? *hint : "",
                           at.has_value(), at, due(at)});
        }
    };
    contacts(e.emails, "email", true);
    contacts(e.phones, "sms", false);
    if (e.totp) {
        std::optional<time_point> at;
        if (e.totp->confirmed) {
            at = e.totp->confirmed_at.value_or(e.updated_at);
        }
        out.push_back({"totp", "totp", "", e.totp->confirmed, at, due(at)});
    }
    if (!e.questions.empty()) {
        const std::optional<time_point> at = e.questions_confirmed_at.value_or(e.updated_at);
        out.push_back({"questions", "questions", "", true, at, due(at)});
    }
    return out;
}

bool remove_method(store::enrollment& e, std::string_view id) {
    const auto remove_indexed = [&](std::vector<store::contact>& v, std::string_view prefix) {
        if (!id.starts_with(prefix)) {
            return false;
        }
        const auto digits = id.substr(prefix.size());
        if (digits.empty() || digits.size() > 2 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        const auto i = static_cast<std::size_t>(std::stoul(std::string(digits)));
        if (i >= v.size()) {
            return false;
        }
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
    };
    if (remove_indexed(e.emails, "email-") || remove_indexed(e.phones, "sms-")) {
        return true;
    }
    if (id == "totp" && e.totp) {
        e.totp.reset();
        return true;
    }
    if (id == "questions" && !e.questions.empty()) {
        e.questions.clear();
        e.questions_confirmed_at.reset();
        return true;
    }
    return false;
}

} // namespace sspr::flows
