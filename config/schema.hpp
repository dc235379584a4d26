// Internal to config/: the object_schema of the whole file, i.e. every key ssprd accepts, its type,
// range and where it goes. key_table() (config/key_table.hpp) is its description.
#pragma once

#include "config/config.hpp"
#include "config/reader.hpp"

namespace sspr::config::detail {

/// Built once; safe from any thread.
const object_schema<config>& root_schema();

/// The names of the throttle buckets the flows count into, in the order of the defaults.
const std::vector<std::string>& throttle_bucket_names();

} // namespace sspr::config::detail
