#include "config/loader.hpp"

#include "common/secret_file.hpp"

#include "config/reader.hpp"
#include "config/schema.hpp"
#include "config/validate.hpp"

#include <openssl/crypto.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace sspr::config {

std::string to_string(const diagnostic& d) {
    std::string s = d.file;
    if (d.line > 0) {
        s += ':' + std::to_string(d.line) + ':' + std::to_string(d.column);
    }
    s += ": ";
    s += d.path;
    s += ": ";
    if (d.level == severity::warning) {
        s += "warning: ";
    }
    s += d.message;
    return s;
}

void throw_exception_from_error(const load_failure& failure, const boost::source_location&) {
    throw std::runtime_error(failure.errors.empty() ? std::string("configuration not loaded")
                                                    : to_string(failure.errors.front()));
}

std::ostream& operator<<(std::ostream& os, const load_failure& failure) {
    os << failure.errors.size() << " configuration error(s)";
    for (const auto& e : failure.errors) {
        os << "\n  " << to_string(e);
    }
    return os;
}

std::ostream& operator<<(std::ostream& os, const loaded_config& loaded) {
    return os << "configuration loaded with " << loaded.warnings.size() << " warning(s)";
}

namespace {

constexpr std::size_t max_config_bytes = std::size_t{1024} * 1024;
constexpr std::size_t max_secret_bytes = std::size_t{64} * 1024;

std::string errno_text(int e) {
    return std::error_code(e, std::generic_category()).message();
}

/// An open file descriptor, closed on every path out.
class fd_guard {
public:
    fd_guard() = default;
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() { reset(-1); }
    void reset(int fd) noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

struct opened {
    file_status status;
    struct stat st {};
};

/// Opens without blocking on a FIFO and without handing the descriptor to children.
opened open_regular(const std::string& path, fd_guard& guard) {
    opened o;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        o.status.error = errno_text(errno);
        return o;
    }
    guard.reset(fd);
    if (::fstat(fd, &o.st) != 0) {
        o.status.error = errno_text(errno);
        return o;
    }
    if (!S_ISREG(o.st.st_mode)) {
        o.status.error = "not a regular file";
        return o;
    }
    o.status.permissions = static_cast<unsigned>(o.st.st_mode) & 07777U;
    return o;
}

/// Reads at most `limit` bytes; error when the file is larger.
std::string read_all(int fd, std::size_t limit, std::string& error) {
    std::string data;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = errno_text(errno);
            return {};
        }
        if (n == 0) {
            break;
        }
        data.append(buffer, static_cast<std::size_t>(n));
        if (data.size() > limit) {
            error = "larger than " + std::to_string(limit / 1024) + " KiB";
            return {};
        }
    }
    return data;
}

file_content read_secret_from_disk(const std::string& path) {
    // The one reader of secret files (common/secret_file.hpp); the loader judges the permissions
    // itself (a readable password file is a warning, a readable key file an error).
    file_content result;
    auto file = common::read_secret_file(path, {max_secret_bytes, false});
    if (!file) {
        result.status.error = common::describe(file.error());
        result.status.permissions = file.error().permissions;
        return result;
    }
    result.status.permissions = file->permissions;
    result.content = std::move(file->content);
    return result;
}

file_content read_file_from_disk(const std::string& path, std::size_t limit) {
    file_content result;
    fd_guard guard;
    const opened o = open_regular(path, guard);
    result.status = o.status;
    if (result.status.error.empty()) {
        std::string data = read_all(guard.get(), limit, result.status.error);
        result.content = common::secret(std::move(data));
    }
    return result;
}

file_status check_file_on_disk(const std::string& path) {
    fd_guard guard;
    return open_regular(path, guard).status;
}

std::optional<std::string> getenv_real(const std::string& name) {
    // Read once at load time, on the thread that loads; nothing here calls setenv.
    const char* v = std::getenv(name.c_str()); // NOLINT(concurrency-mt-unsafe)
    if (v == nullptr) {
        return std::nullopt;
    }
    return std::string(v);
}

load_options with_defaults(const load_options& options) {
    load_options o = options;
    if (!o.read_secret) {
        o.read_secret = read_secret_from_disk;
    }
    if (!o.check_file) {
        o.check_file = check_file_on_disk;
    }
    if (!o.read_file) {
        o.read_file = read_file_from_disk;
    }
    if (!o.getenv) {
        o.getenv = getenv_real;
    }
    return o;
}

/// Records where documents start, building nothing.
class document_starts final : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> starts;

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

struct stream_shape {
    /// Where the second document starts, if there is one.
    std::optional<YAML::Mark> second;
    /// Where the parser stopped making progress (a token that cannot start a value).
    std::optional<YAML::Mark> stuck;
};

/// Looks at no more than two documents. yaml-cpp 0.7's LoadAll loops forever, allocating, when a
/// document cannot consume its first token (a stream that is just ","): jbeder/yaml-cpp#1040,
/// fixed upstream by #1319. So the loader never calls LoadAll: it asks for two documents at
/// most, and two documents that start at the same place mean the parser is stuck there.
stream_shape shape_of(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    document_starts handler;
    for (int i = 0; i < 2 && parser.HandleNextDocument(handler); ++i) {
    }
    stream_shape shape;
    if (handler.starts.size() == 2) {
        if (handler.starts[0].pos == handler.starts[1].pos) {
            shape.stuck = handler.starts[0];
        } else {
            shape.second = handler.starts[1];
        }
    }
    return shape;
}

load_result finish(detail::context& ctx, config&& c) {
    if (ctx.has_errors()) {
        return load_failure{ctx.take_errors(), ctx.take_warnings()};
    }
    return loaded_config{std::move(c), ctx.take_warnings()};
}

load_result load_text(std::string_view yaml, const std::string& file_name,
                      const load_options& options, std::vector<diagnostic> early_warnings) {
    detail::context ctx(file_name, options);
    for (auto& w : early_warnings) {
        ctx.warning(YAML::Mark::null_mark(), w.path, std::move(w.message));
    }
    config c;
    if (yaml.size() > max_config_bytes) {
        ctx.error(YAML::Mark::null_mark(), "(file)", "larger than 1 MiB");
        return finish(ctx, std::move(c));
    }
    const std::string text(yaml);
    YAML::Node root;
    stream_shape shape;
    try {
        shape = shape_of(text);
        if (!shape.stuck) {
            root = YAML::Load(text);
        }
    } catch (const YAML::Exception& e) {
        // Syntax errors (and yaml-cpp's nesting limit) stop here: what follows is not a tree.
        ctx.error(e.mark, "yaml", e.msg);
        return finish(ctx, std::move(c));
    }
    if (shape.stuck) {
        ctx.error(*shape.stuck, "yaml", "no YAML value can start here");
        return finish(ctx, std::move(c));
    }
    if (!root.IsDefined() || root.IsNull()) {
        ctx.error(YAML::Mark::null_mark(), "(top level)",
                  "the file holds no settings; expected the sections server, directory, store, "
                  "policy and ui at least");
        return finish(ctx, std::move(c));
    }
    if (shape.second) {
        ctx.error(*shape.second, "yaml", "only one YAML document (---) is allowed");
    }
    try {
        const detail::place where{YAML::Mark{}, root.Mark()};
        detail::root_schema().read(root, where, "", c, ctx);
        if (root.IsMap()) {
            detail::check_relations(c, ctx);
        }
        if (root.IsMap() && !ctx.has_errors() && options.semantic_checks) {
            for (const auto& p : options.semantic_checks(c)) {
                ctx.error(ctx.position_of(p.path), p.path, p.message, false);
            }
        }
    } catch (const YAML::Exception& e) {
        // Every access above checks the node's type first; this is a last line, not a path.
        ctx.error(e.mark, "yaml", e.msg);
    }
    return finish(ctx, std::move(c));
}

} // namespace

load_options system_options() {
    return with_defaults({});
}

load_result load_string(std::string_view yaml, const std::string& file_name,
                        const load_options& options) {
    return load_text(yaml, file_name, with_defaults(options), {});
}

load_result load_file(const std::string& path, const load_options& options) {
    fd_guard guard;
    opened o = open_regular(path, guard);
    std::string error = o.status.error;
    std::string text;
    if (error.empty()) {
        text = read_all(guard.get(), max_config_bytes, error);
    }
    if (!error.empty()) {
        diagnostic d;
        d.file = path;
        d.path = "(file)";
        d.message = "cannot read the configuration file: " + error;
        return load_failure{{std::move(d)}, {}};
    }
    std::vector<diagnostic> warnings;
    if ((o.st.st_mode & S_IWOTH) != 0) {
        diagnostic d;
        d.level = severity::warning;
        d.path = "(file)";
        d.message = "every local user can write this file, and with it decide who may reset "
                    "passwords; chmod o-w";
        warnings.push_back(std::move(d));
    }
    return load_text(text, path, with_defaults(options), std::move(warnings));
}

} // namespace sspr::config
