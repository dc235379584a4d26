// `ssprd doctor -c FILE [--test-user LOGIN] [--protected-user LOGIN] [--canary-user LOGIN]`: the
// admin's troubleshooter. Checks the configuration as check-config does, then everything it
// names, with read-only probes: key and secret files, each directory URI (name, TCP, TLS trust,
// service bind, dialect, policy-hints control, reset rights on a test user, refusal of a
// protected account), SMTP (connect, TLS, AUTH; no mail), the SMS webhook (TCP + TLS; no SMS), the
// store (open, schema version; nothing created or migrated). Nothing in the directory or the store
// changes, except with --canary-user: then, on each directory URI, that one ordinary account's
// password is really reset to a random one and bound with (canary.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sspr::doctor {

/// `args` are the arguments after "doctor". Exit status: the worst result, 0 PASS, 1 WARN,
/// 2 FAIL (an invalid configuration is a FAIL); 64 for a usage error.
int run_doctor(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace sspr::doctor
