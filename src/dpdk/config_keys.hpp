// Shared pieces of the INI loader, so each layer can describe its own section as a key table.
#pragma once

#include <functional>
#include <type_traits>
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
// Shows the field's value in the key's own syntax (what the parser would take back).
using Shower = std::function<std::string()>;
// One key of a section: how to read it, and how to show what is in effect (/dtcp/config), so
// one table names every key for both.
struct Key {
  Parser parse;
  Shower show;
  Key() = default;
  template <class F>
    requires std::is_invocable_r_v<std::optional<std::string>, F, std::string_view>
  Key(F f) : parse(std::move(f)) {}  // NOLINT: a lambda converts, its show set separately
  Key(Parser p, Shower s) : parse(std::move(p)), show(std::move(s)) {}
};
using KeyTable = std::map<std::string, Key>;
using Entries = std::vector<std::pair<std::string, std::string>>;
// A section with its keys and effective values.
using ShownSection = std::pair<std::string, Entries>;

std::optional<std::string> parse_u64(std::string_view text, uint64_t min, uint64_t max, uint64_t& out);
std::optional<std::string> parse_fraction(std::string_view text, double& out);
std::optional<std::string> parse_bool(std::string_view text, bool& out);

// A key for an integer field within [min, max].
template <class T>
Key integer(T& field, uint64_t min, uint64_t max) {
  return Key(
      [&field, min, max](std::string_view v) -> std::optional<std::string> {
        uint64_t value = 0;
        if (auto error = parse_u64(v, min, max, value)) return error;
        field = static_cast<T>(value);
        return std::nullopt;
      },
      [&field] { return std::to_string(static_cast<uint64_t>(field)); });
}
// Keys for yes/no and fraction (0..1) fields.
Key boolean(bool& field);
Key fraction(double& field);
// A table's keys with the values its show functions give ("" for a key that has none).
Entries show_section(const KeyTable& table);

// Applies every entry through the table; throws ConfigError naming origin, section and key.
void apply_section(const std::string& origin, const std::string& section, const Entries& entries,
                   const KeyTable& table);

// Sections owned by other layers ([tcp]); returns false when `section` is not one of them.
bool apply_extra_section(const std::string& origin, const std::string& section, const Entries& entries,
                         Config& config);
// The other layers' sections, shown.
void show_extra_sections(Config& config, std::vector<ShownSection>& out);

}  // namespace dtcp::config_keys

namespace dtcp {
// The configuration in effect, section by section, every key with its value (defaults
// included), in the syntax the INI file takes.
std::vector<config_keys::ShownSection> show_config(const Config& config);

}  // namespace dtcp::config_keys
