// A writer process for the store tests: opens a store and writes in a loop, printing one line on
// stdout after each write the store acknowledged. The tests kill it with SIGKILL mid-loop and then
// check that every acknowledged write is in the database, or run two of it at once to check that
// no increment is lost between processes.
//
//   sspr_store_writer sqlite PATH MODE COUNT
//   sspr_store_writer postgres SCHEMA MODE COUNT    (server from SSPR_TESTENV_FILE)
//
// MODE increment: COUNT increments of the key "writer-key" (window 1 h, at a fixed time); prints
//                 "count N" with the count the store returned.
// MODE mixed:     COUNT rounds of one increment ("count N") and one new flow "flow-<i>"
//                 ("flow <i>").
// Prints "ready" once the store is open. On a store failure prints "error <message>", exits 1.
#include "tests/integration/store/backends.hpp"

#include "common/random.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;
namespace st = sspr::store;

constexpr st::timestamp t0{std::chrono::milliseconds(1'700'000'000'000)};

// write(2), not stdio: a line is in the pipe the moment the store acknowledged, whatever buffer
// a SIGKILL would otherwise have thrown away.
void say(const std::string& line) {
    const std::string out = line + "\n";
    std::size_t done = 0;
    while (done < out.size()) {
        const auto n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            std::_Exit(3);
        }
        done += static_cast<std::size_t>(n);
    }
}

int fail(const boost::system::error_code& ec) {
    say("error " + ec.message());
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        (void)std::fprintf(stderr, "usage: %s sqlite|postgres PATH|SCHEMA increment|mixed COUNT\n",
                           argv[0]);
        return 2;
    }
    const std::string_view backend = argv[1];
    const std::string target = argv[2];
    const std::string_view mode = argv[3];
    const long count = std::strtol(argv[4], nullptr, 10);
    if ((mode != "increment" && mode != "mixed") || count <= 0) {
        (void)std::fprintf(stderr, "bad mode or count\n");
        return 2;
    }

    st::result<std::unique_ptr<st::state_store>> opened = st::error::invalid_argument;
    try {
        if (backend == "sqlite") {
            st::sqlite_options options;
            options.path = target;
            options.connections = 2;
            opened = st::make_sqlite_store(options, sspr::testing::store_support::default_keys(),
                                           sspr::testing::store_support::default_mac_key(),
                                           sspr::common::make_system_random());
        } else if (backend == "postgres") {
            auto options = sspr::testing::store_support::postgres_server_options();
            options.schema = target;
            options.pool_size = 2;
            opened = st::make_postgres_store(options, sspr::testing::store_support::default_keys(),
                                             sspr::testing::store_support::default_mac_key(),
                                             sspr::common::make_system_random());
        }
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    if (!opened) {
        return fail(opened.error());
    }
    auto& store = **opened;
    say("ready");
    for (long i = 0; i < count; ++i) {
        auto n = store.increment("writer-key", 1h, t0);
        if (!n) {
            return fail(n.error());
        }
        say("count " + std::to_string(n->count));
        if (mode == "mixed") {
            st::flow_record f;
            f.id = "flow-" + std::to_string(i);
            f.user_dn = "uid=writer,dc=example,dc=org";
            f.kind = st::flow_kind::reset;
            f.state = st::flow_state::started;
            f.created_at = t0;
            f.expires_at = t0 + 1h;
            auto created = store.create_flow(f);
            if (!created) {
                return fail(created.error());
            }
            say("flow " + std::to_string(i));
        }
    }
    return 0;
}
