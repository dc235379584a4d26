// Test support for the config tests: a fake file system and environment for load_options, and a
// YAML document assembled from sections so that each test changes only what it is about.
#pragma once

#include "config/diagnostic.hpp"
#include "config/loader.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sspr::config::testing {

/// Files and variables the loader sees instead of the real ones.
class fake_system {
public:
    fake_system();

    /// A file with its content and permission bits.
    fake_system& file(const std::string& path, std::string content, unsigned permissions = 0600);
    fake_system& remove(const std::string& path);
    fake_system& env(const std::string& name, std::string value);

    /// Options that read this fake; they share its state (later changes are seen).
    [[nodiscard]] load_options options() const;

    /// Every path the loader read as a secret, in order.
    [[nodiscard]] std::vector<std::string> secrets_read() const;

    /// The files the minimal document and the example name, with valid contents.
    static fake_system with_standard_files();

private:
    struct state;
    std::shared_ptr<state> state_;
};

/// A configuration document as named top-level sections, rendered in the usual order.
class document {
public:
    /// The smallest valid configuration.
    static document minimal();

    /// Replaces (or adds) a whole section; `body` is the indented YAML under `name:`.
    document& set(const std::string& name, const std::string& body);
    document& remove(const std::string& name);
    [[nodiscard]] std::string text() const;

private:
    std::vector<std::pair<std::string, std::string>> sections_;
};

/// Loads `yaml` as file "test.yaml" against `files`.
load_result load(const std::string& yaml,
                 const fake_system& files = fake_system::with_standard_files());

/// All errors (or none) of a load, as printed lines.
std::vector<std::string> error_lines(const load_result& r);
std::vector<std::string> warning_lines(const load_result& r);

/// The errors of a load whose key path is `path`.
std::vector<diagnostic> errors_at(const load_result& r, const std::string& path);

/// The text of the file at `path` below the source tree.
std::string read_source_file(const std::string& relative_path);

} // namespace sspr::config::testing
