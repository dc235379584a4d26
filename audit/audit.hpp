// The audit trail: one JSON line per thing that happened in a flow (start, challenge, verification,
// success, refusal, throttle block), appended to audit.path. Each line carries the SHA-256 of the
// previous line ("prev"), so a line removed, changed or inserted afterwards breaks the chain and
// `ssprd audit verify FILE` names the first broken line.
//
// An event never holds a password, code, answer, token or full contact address: the fields below
// are all it can carry, and callers put masked hints and reason codes in them.
//
// One line (members in this order; an empty string field is left out, except step and outcome):
//
//   {"time":"2026-12-06T21:00:00.123Z","request_id":"r-1","client_ip":"192.0.2.7",
//    "username":"alice","user_dn":"uid=alice,ou=people,dc=example,dc=org","flow":"9f2c...",
//    "step":"reset.verify","method":"email","outcome":"ok","hint":"a***@example.org","seq":42,
//    "prev":"<64 lower-case hex digits>"}
//
// (shown wrapped; a line never contains a newline; reason, diagnostic and actor were empty).
// - time: UTC, milliseconds, always 24 characters.
// - seq: 1 on the first line of a new chain, +1 on every line.
// - prev: SHA-256 of the previous line's exact bytes without its '\n'; 64 zeros on seq 1. A file
//   started while a trail was running (trail::reopen after a rename, logrotate copytruncate)
//   carries on its first line the hash of the old file's last line instead; verify says so.
// - Strings are serialized by Boost.JSON (quotes, backslash and control characters escaped).
//   Ill-formed UTF-8 is replaced by U+FFFD first (Boost.JSON would copy it through), and the
//   characters that viewers take for line breaks or use to reorder text are escaped as \uXXXX
//   as well: U+007F..U+009F (DEL, C1 controls, NEL), U+200E/U+200F, U+2028..U+202E and
//   U+2066..U+2069. So whatever a user types, a line stays one line and no field can be faked.
// - Each field is cut to at most 1024 bytes of UTF-8 (at a character boundary, marked with
//   U+2026 "…"), so one request cannot write an unbounded line.
//
// What the chain cannot show: the last lines removed or rewritten, or the whole file rewritten
// by someone who may write it (there is no key). Hence the file's permissions (open refuses a file
// others may write), and for more, shipping the lines off the host as they are written.
#pragma once

#include "audit/error.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
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
    /// the chain. Fails (with the reason, never a secret; the path and the system's reason are
    /// logged) when the file cannot be opened, is a symbolic link or not a regular file, may be
    /// written by group or others or is owned by another user, stays locked by another process
    /// (in_use: the flock is held over 250 ms), does not end with a newline (torn_last_line:
    /// a write cut short; never silently continued), or its last line is not a chain line
    /// (bad_last_line). Only the last line is read: `ssprd audit verify` checks the rest.
    [[nodiscard]] static boost::system::result<std::unique_ptr<trail>>
    open(const std::filesystem::path& path);

    /// Appends one line with one write(2) under a mutex and the file's flock (lines never
    /// interleave; a write cut short by a signal is resumed), so it is in the kernel when record
    /// returns (no fsync). Several trails, in this process or others (the gateway and the
    /// `ssprd helpdesk` commands), may write one file: each holds the flock only for its line and
    /// first reads the chain's end again when another wrote since, so all their lines form one
    /// chain. A flock held by someone else for over 250 ms is logged and the line written anyway.
    /// Fills in `time` when it is the epoch. Thread-safe; never throws. A failed write is counted
    /// (failed_writes) and logged, without the event's content, once per burst of failures. When
    /// nothing of the line reached the file, the event is lost and the next line follows the one
    /// before; when a part did, the next record finishes that line before its own, so the file
    /// keeps no torn line while the trail lives.
    void record(event e) noexcept;

    /// After the file was moved away (logrotate's create mode): opens the path again, with the
    /// checks of open. A new, empty file continues the chain of the old one (its first line's
    /// prev is the hash of the old file's last line); a non-empty file continues its own chain.
    /// Does nothing when the path still names the open file. On failure the trail keeps
    /// writing to the file it had. Thread-safe.
    [[nodiscard]] result<void> reopen();

    /// Lines completely written by this trail.
    [[nodiscard]] std::uint64_t written() const;
    /// Records whose line could not be (completely) written when they were made.
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
    /// Lines that passed, i.e. every line when ok, the lines before the broken one otherwise.
    std::uint64_t lines = 0;
    /// 1-based number of the first line that is not valid JSON, lacks a field, or whose "prev"
    /// is not the SHA-256 of the line before it. Empty when ok, or when reading failed.
    std::optional<std::uint64_t> first_broken_line;
    /// Why that line is broken ("prev does not match line 41", "not JSON"), or why reading
    /// failed.
    std::string why;
    /// Line 1 does not start a chain (prev is not zeros): the file continues one whose earlier
    /// lines are elsewhere (rotated away). Its prev cannot be checked here; `note` says so.
    bool continued = false;
    std::string note;
};

/// Walks every line: valid JSON in the form the trail writes it (the required fields time,
/// step, outcome, seq and prev; the others strings when present), prev = SHA-256 of the line
/// before (line 1: zeros with seq 1, or any prev for a continued file), seq +1 on each line,
/// and a newline at the end of every line. Stops at the first broken line.
[[nodiscard]] verify_report verify(std::istream& in);

/// `ssprd audit verify FILE`: prints "ok: N lines" (exit 0; a continued file gets a second line
/// "note: ...") or "broken at line N: why" (exit 1) on `out`; exit 2 with a message naming the
/// path on `err` when the file cannot be read.
int run_audit_verify(const std::string& path, std::ostream& out, std::ostream& err);

} // namespace sspr::audit
