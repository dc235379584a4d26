#include "store/state_store.hpp"

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace sspr::store {

result<std::unique_ptr<state_store>> make_state_store(const config::store_config& cfg,
                                                      std::shared_ptr<const crypto::keyring> keys,
                                                      const common::secret& row_mac_key,
                                                      std::shared_ptr<common::random> random) {
    switch (cfg.backend) {
    case config::store_backend::sqlite: {
        sqlite_options options;
        options.path = cfg.sqlite_path;
        return make_sqlite_store(options, std::move(keys), row_mac_key, std::move(random));
    }
    case config::store_backend::postgres:
        return make_postgres_store(postgres_options_from(cfg.postgres), std::move(keys),
                                   row_mac_key, std::move(random));
    case config::store_backend::invalid:
        break;
    }
    return error::invalid_argument;
}

} // namespace sspr::store
