#include "audit/audit.hpp"
#include "audit/line.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <istream>
#include <ostream>
#include <string>
#include <system_error>

namespace sspr::audit {
namespace {

/// Splits a stream into lines without ever holding more than one line of at most
/// max_line_bytes (a file without newlines must not fill the memory).
class line_reader {
public:
    enum class status { line, unterminated, too_long, end, read_error };

    explicit line_reader(std::istream& in) : in_(in) {}

    status next(std::string& line) {
        line.clear();
        for (;;) {
            if (pos_ == filled_) {
                if (!refill()) {
                    if (read_failed_) {
                        return status::read_error;
                    }
                    return line.empty() ? status::end : status::unterminated;
                }
            }
            const char* begin = buffer_.data() + pos_;
            const char* end = buffer_.data() + filled_;
            const char* newline = std::find(begin, end, '\n');
            const auto take = static_cast<std::size_t>(newline - begin);
            if (line.size() + take > detail::max_line_bytes) {
                return status::too_long;
            }
            line.append(begin, take);
            pos_ += take;
            if (newline != end) {
                ++pos_;
                return status::line;
            }
        }
    }

private:
    bool refill() {
        pos_ = 0;
        filled_ = 0;
        if (in_.bad() || in_.eof()) {
            read_failed_ = in_.bad();
            return false;
        }
        // istream::read rather than the streambuf: it turns a failing read into badbit.
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        filled_ = static_cast<std::size_t>(in_.gcount());
        if (in_.bad()) {
            read_failed_ = true;
            return false;
        }
        return filled_ > 0;
    }

    std::istream& in_;
    std::array<char, std::size_t{64} * 1024> buffer_{};
    std::size_t pos_ = 0;
    std::size_t filled_ = 0;
    bool read_failed_ = false;
};

verify_report broken_at(verify_report r, std::uint64_t line, std::string why) {
    r.ok = false;
    r.first_broken_line = line;
    r.why = std::move(why);
    return r;
}

} // namespace

verify_report verify(std::istream& in) {
    verify_report report;
    line_reader reader(in);
    std::string line;
    std::string prev_hash;
    std::uint64_t prev_seq = 0;
    for (std::uint64_t number = 1;; ++number) {
        switch (reader.next(line)) {
        case line_reader::status::end:
            report.ok = true;
            return report;
        case line_reader::status::read_error:
            report.why = "read error after line " + std::to_string(number - 1);
            return report;
        case line_reader::status::too_long:
            return broken_at(std::move(report), number,
                             "longer than " + std::to_string(detail::max_line_bytes) + " bytes");
        case line_reader::status::unterminated:
            return broken_at(std::move(report), number,
                             "does not end with a newline (a write cut short?)");
        case line_reader::status::line:
            break;
        }
        const auto c = detail::check_line(line);
        if (!c.ok) {
            return broken_at(std::move(report), number, c.why);
        }
        if (number == 1) {
            if (c.prev == detail::zero_hash) {
                if (c.seq != 1) {
                    return broken_at(std::move(report), number,
                                     "a chain starts with seq 1, this line has seq " +
                                         std::to_string(c.seq));
                }
            } else {
                if (c.seq == 1) {
                    return broken_at(std::move(report), number,
                                     "seq 1 starts a chain, but prev is not zeros");
                }
                report.continued = true;
                report.note = "line 1 (seq " + std::to_string(c.seq) +
                              ") continues a chain from an earlier file (rotated away?); its "
                              "prev " +
                              c.prev + " is not checked here";
            }
        } else {
            if (c.prev != prev_hash) {
                return broken_at(std::move(report), number,
                                 "prev does not match line " + std::to_string(number - 1));
            }
            if (c.seq != prev_seq + 1) {
                return broken_at(std::move(report), number,
                                 "seq " + std::to_string(c.seq) + " does not follow seq " +
                                     std::to_string(prev_seq) + " of line " +
                                     std::to_string(number - 1));
            }
        }
        prev_hash = detail::sha256_hex(line);
        prev_seq = c.seq;
        report.lines = number;
    }
}

int run_audit_verify(const std::string& path, std::ostream& out, std::ostream& err) {
    try {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            err << "ssprd audit verify: cannot read " << path << ": it is a directory\n";
            return 2;
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            const int e = errno;
            err << "ssprd audit verify: cannot read " << path << ": "
                << std::error_code(e, std::generic_category()).message() << '\n';
            return 2;
        }
        const verify_report r = verify(in);
        if (r.ok) {
            out << "ok: " << r.lines << (r.lines == 1 ? " line" : " lines") << '\n';
            if (r.continued) {
                out << "note: " << r.note << '\n';
            }
            return 0;
        }
        if (!r.first_broken_line) {
            err << "ssprd audit verify: cannot read " << path << ": " << r.why << '\n';
            return 2;
        }
        out << "broken at line " << *r.first_broken_line << ": " << r.why << '\n';
        return 1;
    } catch (const std::exception& e) {
        err << "ssprd audit verify: " << path << ": " << e.what() << '\n';
        return 2;
    }
}

} // namespace sspr::audit
