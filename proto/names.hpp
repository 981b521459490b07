// Closed sets of names: each enum's names are one table beside the enum, and
// everything that reads or writes those names (scenario files, reports, the
// Python module, the schema's enums) goes through the table:
//
//   enum class Colour { red, green };
//   template <> struct NameTable<Colour> {
//       static constexpr std::array entries{Named{Colour::red, "red"}, Named{Colour::green, "green"}};
//   };
//   name_of(Colour::green) == "green";  named<Colour>("red") == Colour::red;
//
// A value missing from its table is a harness bug: name_of asserts, it never
// makes up a name.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/contract.hpp"

namespace rmtfs_hil {

template <class E>
struct Named {
    E value;
    std::string_view name;
};
// Spelt out for compilers without deduction for aggregates (clang 14).
template <class E>
Named(E, const char*) -> Named<E>;

// Specialised beside each enum with `static constexpr std::array entries`.
template <class E>
struct NameTable;

template <class E>
constexpr std::string_view name_of(E value) {
    for (const auto& entry : NameTable<E>::entries)
        if (entry.value == value) return entry.name;
    RMTFS_HIL_ASSERT(false, "an enum value without a name in its table");
    return {};
}

// The name of a value that may have none: one read off the wire, say.
template <class E>
constexpr std::optional<std::string_view> name_if(E value) {
    for (const auto& entry : NameTable<E>::entries)
        if (entry.value == value) return entry.name;
    return std::nullopt;
}

template <class E>
constexpr std::optional<E> named(std::string_view name) {
    for (const auto& entry : NameTable<E>::entries)
        if (entry.name == name) return entry.value;
    return std::nullopt;
}

// Every name, in the table's order (the order documentation lists them in).
template <class E>
std::vector<std::string> names_of() {
    std::vector<std::string> names;
    for (const auto& entry : NameTable<E>::entries) names.emplace_back(entry.name);
    return names;
}

template <class E>
constexpr auto values_of() {
    std::array<E, NameTable<E>::entries.size()> values{};
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = NameTable<E>::entries[i].value;
    return values;
}

}  // namespace rmtfs_hil
