// The audit trail: one JSON line per thing that happened in a flow (start, challenge, verification,
// success, refusal, throttle block), appended to audit.path. Each line carries the SHA-256 of the
// previous line ("prev"), so a line removed, changed or inserted afterwards breaks the chain and
// `ssprd audit verify FILE` names the first broken line.
//
// An event never holds a password, code, answer, token or full contact address: the fields below
// are all it can carry, and callers put masked hints and reason codes in them.
#pragma once

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace sspr::audit {

struct event {
    std::chrono::system_clock::time_point time{}; // epoch: the trail fills in now
    std::string request_id;
    std::string client_ip;
    std::string username;   // as typed (escaped in JSON; control characters escaped)
    std::string user_dn;    // as resolved; empty when nobody matched
    std::string flow;       // the flow's store id (a hash of the token), never the token
    std::string step;       // "reset.start", "reset.verify", "enroll.email", "helpdesk.clear", ...
    std::string method;     // "email", "sms", "totp", "questions" or empty
    std::string outcome;    // "ok", "refused", "throttled", "failed", "error"
    std::string reason;     // stable reason code ("scope.disabled", "ldap.password_in_history")
    std::string diagnostic; // the directory's own text, for admins
    std::string actor;      // the operator's name for helpdesk commands; empty otherwise
    std::string hint;       // a masked destination ("a***@example.org"), never the full value
};

class trail {
public:
    /// Opens (creating, mode 0640) the file for appending and reads its last line to continue
    /// the chain. Fails (with the reason, never a secret) when the file cannot be opened or its
    /// last line is not a chain line.
    [[nodiscard]] static boost::system::result<std::unique_ptr<trail>>
    open(const std::filesystem::path& path);

    /// Appends one line and flushes it to the kernel (write(2)); thread-safe; never throws.
    /// A failed write is counted (failed_writes) and logged once per burst.
    void record(event e);

    [[nodiscard]] std::uint64_t written() const;
    [[nodiscard]] std::uint64_t failed_writes() const;
    ~trail();
    trail(const trail&) = delete;
    trail& operator=(const trail&) = delete;

private:
    trail() = default;
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Result of checking a file's chain.
struct verify_report {
    bool ok = false;
    std::uint64_t lines = 0;
    /// 1-based number of the first line that is not valid JSON, lacks a field, or whose "prev"
    /// is not the SHA-256 of the line before it.
    std::optional<std::uint64_t> first_broken_line;
    std::string why;
};

[[nodiscard]] verify_report verify(std::istream& in);

/// `ssprd audit verify FILE`: prints "ok: N lines" (exit 0) or "broken at line N: why" (exit 1);
/// exit 2 when the file cannot be read.
int run_audit_verify(const std::string& path, std::ostream& out, std::ostream& err);

} // namespace sspr::audit
