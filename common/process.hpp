// Process-wide settings that only main() makes, once, before any library is used: libraries never
// change a process's signal dispositions behind its back.
#pragma once

namespace sspr::common {

/// Ignores SIGPIPE. libldap writes to sockets without MSG_NOSIGNAL and libcurl with NOSIGNAL
/// leaves SIGPIPE alone, so a peer that vanishes mid-write (a directory restarted, an SMTP server
/// gone) would otherwise end the whole process instead of failing one operation. Every
/// executable that uses sspr::ldap or sspr::delivery calls this first: ssprd's main, the test
/// main, the benchmarks.
void ignore_sigpipe() noexcept;

} // namespace sspr::common
