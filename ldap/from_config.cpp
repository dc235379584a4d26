#include "ldap/from_config.hpp"

#include <stdexcept>

namespace sspr::ldap {
namespace {

dialect_choice map_dialect(sspr::config::dialect d) {
    switch (d) {
    case sspr::config::dialect::detect:
        return dialect_choice::detect;
    case sspr::config::dialect::active_directory:
        return dialect_choice::active_directory;
    case sspr::config::dialect::openldap:
        return dialect_choice::openldap;
    case sspr::config::dialect::invalid:
        break;
    }
    throw std::invalid_argument("directory.dialect: no dialect set");
}

openldap_reset_mode map_reset(sspr::config::openldap_reset r) {
    switch (r) {
    case sspr::config::openldap_reset::password_modify:
        return openldap_reset_mode::password_modify_exop;
    case sspr::config::openldap_reset::replace_user_password:
        return openldap_reset_mode::replace_user_password;
    case sspr::config::openldap_reset::invalid:
        break;
    }
    throw std::invalid_argument("directory.openldap_reset: no reset mode set");
}

} // namespace

config directory_options_from(const sspr::config::directory_config& cfg) {
    config out;
    out.uris = cfg.uris;
    out.dialect = map_dialect(cfg.dialect);
    out.bind_dn = cfg.bind_dn;
    out.bind_password = cfg.bind_password;
    out.base_dn = cfg.base_dn;
    out.user_base = cfg.user_base;
    out.group_base = cfg.group_base;
    out.user_filter = cfg.user_filter;
    out.mail_attributes = cfg.mail_attributes;
    out.mobile_attributes = cfg.mobile_attributes;
    out.max_group_depth = cfg.max_group_depth;
    out.max_groups = cfg.max_groups;
    out.ca_file = cfg.ca_file;
    out.tls_verify = cfg.tls_verify;
    out.start_tls = cfg.start_tls;
    out.connect_timeout = cfg.connect_timeout;
    out.operation_timeout = cfg.operation_timeout;
    out.pool_size = cfg.pool_size;
    out.pipeline_window = cfg.pipeline_window;
    out.max_waiting = cfg.max_waiting;
    out.acquire_timeout = cfg.acquire_timeout;
    out.backoff_min = cfg.backoff_min;
    out.backoff_max = cfg.backoff_max;
    out.must_change_after_reset = cfg.must_change_after_reset;
    out.openldap_reset = map_reset(cfg.openldap_reset);
    return out;
}

} // namespace sspr::ldap
