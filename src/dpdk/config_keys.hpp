// Shared pieces of the INI loader, so each layer can describe its own section as a key table.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dtcp/config.hpp"

namespace dtcp::config_keys {

// A parser stores the value and returns nothing, or returns what was expected.
using Parser = std::function<std::optional<std::string>(std::string_view)>;
using KeyTable = std::map<std::string, Parser>;
using Entries = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> parse_u64(std::string_view text, uint64_t min, uint64_t max, uint64_t& out);
std::optional<std::string> parse_fraction(std::string_view text, double& out);
std::optional<std::string> parse_bool(std::string_view text, bool& out);

// A parser for an integer field within [min, max].
template <class T>
Parser integer(T& field, uint64_t min, uint64_t max) {
  return [&field, min, max](std::string_view v) -> std::optional<std::string> {
    uint64_t value = 0;
    if (auto error = parse_u64(v, min, max, value)) return error;
    field = static_cast<T>(value);
    return std::nullopt;
  };
}

// Applies every entry through the table; throws ConfigError naming origin, section and key.
void apply_section(const std::string& origin, const std::string& section, const Entries& entries,
                   const KeyTable& table);

// Sections owned by other layers ([tcp]); returns false when `section` is not one of them.
bool apply_extra_section(const std::string& origin, const std::string& section, const Entries& entries,
                         Config& config);

}  // namespace dtcp::config_keys
