#include "challenge/key_file.hpp"

#include "common/secret_file.hpp"

namespace sspr::challenge {

result<common::secret> load_key_file(const std::string& path) {
    auto file = common::read_secret_file(path, {max_key_bytes, true});
    if (!file) {
        switch (file.error().problem) {
        case common::secret_file_problem::not_regular:
        case common::secret_file_problem::symlink:
            return error::key_file_not_regular;
        case common::secret_file_problem::shared:
        case common::secret_file_problem::foreign_owner:
            return error::key_file_permissions;
        case common::secret_file_problem::too_large:
            return error::key_too_long;
        case common::secret_file_problem::unreadable:
        case common::secret_file_problem::invalid:
            break;
        }
        return error::key_file_unreadable;
    }
    if (file->content.reveal().size() < min_key_bytes) {
        return error::key_too_short;
    }
    return std::move(file->content);
}

} // namespace sspr::challenge
