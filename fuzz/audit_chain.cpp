// Fuzzes the audit-chain verifier (audit::verify) two ways, by the input's first byte:
//   even: the rest is an audit file; verify must not throw, and its report must agree with itself
//         (ok: no broken line, every line counted, no reason; not ok: the lines counted are the
//         ones before the broken line, and there is a reason);
//   odd:  the rest gives up to 4 events (split at 0x1e, their fields at 0x1f: username, user_dn,
//         step, outcome, reason, diagnostic, hint) that audit::trail writes to a fresh file; that
//         file must verify ok with one line per event, each line must be one line whatever the
//         fields held, and flipping one bit of any line but the last must break the chain.
#include "audit/audit.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

using namespace sspr;

namespace {

[[noreturn]] void broken(const char* what) {
    (void)std::fprintf(stderr, "audit_chain: invariant broken: %s\n", what);
    std::abort();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) {
            return out;
        }
        s.remove_prefix(at + 1);
    }
}

void check_report(const audit::verify_report& r, std::string_view file) {
    if (r.ok) {
        if (r.first_broken_line || !r.why.empty()) {
            broken("ok with a broken line or a reason");
        }
        const auto newlines =
            static_cast<std::uint64_t>(std::count(file.begin(), file.end(), '\n'));
        if (r.lines != newlines) {
            broken("ok, but not every line counted");
        }
    } else {
        if (r.why.empty()) {
            broken("not ok without a reason");
        }
        if (r.first_broken_line && r.lines + 1 != *r.first_broken_line) {
            broken("the lines counted are not those before the broken one");
        }
    }
}

audit::verify_report verify_text(const std::string& text) {
    std::istringstream in(text);
    return audit::verify(in);
}

const std::filesystem::path& scratch() {
    static const std::filesystem::path dir = [] {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "ssprd-fuzz-audit.XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            broken("no scratch folder");
        }
        return std::filesystem::path(tmpl);
    }();
    return dir;
}

void round_trip(std::string_view rest, std::size_t flip_at) {
    const auto path = scratch() / "audit.jsonl";
    std::filesystem::remove(path);
    std::size_t events = 0;
    {
        auto t = audit::trail::open(path);
        if (!t) {
            broken("the trail does not open a fresh file");
        }
        for (const auto one : split(rest, '\x1e')) {
            if (events == 4) {
                break;
            }
            auto f = split(one, '\x1f');
            f.resize(7);
            audit::event e;
            e.request_id = "req-fuzz";
            e.username = std::string(f[0]);
            e.user_dn = std::string(f[1]);
            e.step = f[2].empty() ? "reset.start" : std::string(f[2]);
            e.outcome = f[3].empty() ? "ok" : std::string(f[3]);
            e.reason = std::string(f[4]);
            e.diagnostic = std::string(f[5]);
            e.hint = std::string(f[6]);
            (*t)->record(std::move(e));
            ++events;
        }
        if ((*t)->written() != events || (*t)->failed_writes() != 0) {
            broken("the trail did not write every event");
        }
    }
    std::ifstream in(path, std::ios::binary);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto r = verify_text(text);
    check_report(r, text);
    if (!r.ok || r.lines != events) {
        (void)std::fprintf(stderr, "audit_chain: %s\n", r.why.c_str());
        broken("a chain the trail wrote does not verify");
    }
    const auto last_line = text.rfind('\n', text.size() - 2);
    if (events < 2 || last_line == std::string::npos) {
        return;
    }
    // Any byte before the last line, except the line ends themselves.
    std::size_t at = flip_at % last_line;
    if (text[at] == '\n') {
        return;
    }
    text[at] = static_cast<char>(text[at] ^ 0x01);
    const auto flipped = verify_text(text);
    check_report(flipped, text);
    if (flipped.ok) {
        broken("a flipped bit went unnoticed");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1U) == 0) {
        const std::string text(rest);
        check_report(verify_text(text), text);
    } else {
        round_trip(rest, std::size_t{data[0]} * 131U + size);
    }
    return 0;
}
