// The server's HMAC key (store.hmac_key_file): it keys the hashes of one-time codes and the fake
// hints of unknown users, so whoever reads it can test guesses against stolen code records and tell
// fake hints from real ones. Loading refuses anything that is not clearly a private random key.
#pragma once

#include "challenge/error.hpp"
#include "common/secret.hpp"

#include <cstddef>
#include <string>

namespace sspr::challenge {

inline constexpr std::size_t min_key_bytes = 32;
inline constexpr std::size_t max_key_bytes = 4096;

/// Reads the key file: its bytes, exactly as stored (no newline stripping, so a binary key made by
/// `openssl rand -out hmac.key 32` and a text key are both taken as they are), are the key.
/// Refuses a file that is not regular, that grants any permission to group or others, that holds
/// fewer than 32 bytes or more than 4096. The checks are made on the opened descriptor, so the file
/// checked is the file read. Errors carry no path: the caller (the config loader) adds it.
result<common::secret> load_key_file(const std::string& path);

} // namespace sspr::challenge
