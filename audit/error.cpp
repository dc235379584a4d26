#include "audit/error.hpp"

#include <string>

namespace sspr::audit {
namespace {

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.audit"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::cannot_open:
            return "the audit file cannot be opened, created or read (the reason is in the log)";
        case error::symlink:
            return "the audit path is a symbolic link; give the file's real path";
        case error::not_regular_file:
            return "the audit path is not a regular file";
        case error::unsafe_permissions:
            return "the audit file is writable by group or others, or owned by another user; "
                   "chown it to ssprd and chmod 640";
        case error::in_use:
            return "the audit file stays locked (flock) by another process; look for what holds it";
        case error::bad_last_line:
            return "the audit file's last line is not an audit chain line; check the file with "
                   "`ssprd audit verify` and move it aside";
        case error::torn_last_line:
            return "the audit file ends in a partial line (a write cut short by a crash?); "
                   "remove the partial line (the log says where it starts) and start again";
        }
        return "unknown sspr.audit error";
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& audit_category() noexcept {
    static const category_impl instance;
    return instance;
}

} // namespace sspr::audit
