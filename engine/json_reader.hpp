// Reading a JSON document against a format, with every mistake collected at
// once and placed: each error carries the file, line, column and JSON
// pointer of what is wrong ("expected a non-negative integer, found -1").
// The scenario loader and every step and fault kind read their objects
// through this.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/json_positions.hpp"
#include "engine/scenario_error.hpp"
#include "engine/wording.hpp"
#include "proto/names.hpp"

namespace rmtfs_hil::engine {

using Json = nlohmann::json;
using wording::Names;

// A member of an object (or an element of an array) and where it is.
struct Field {
    const Json* value = nullptr;
    std::string pointer;
    explicit operator bool() const { return value != nullptr; }
    const Json& operator*() const { return *value; }
    const Json* operator->() const { return value; }
};

// What a value is, for "expected X, found Y".
std::string found(const Json& value);
// The pointer of an object's member or an array's element.
std::string child(const std::string& pointer, std::string_view key);
std::string child(const std::string& pointer, std::size_t index);

inline constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();

class JsonReader {
public:
    JsonReader(std::string file, json_text::PositionIndex positions)
        : file_(std::move(file)), positions_(std::move(positions)) {}

    const std::string& file() const { return file_; }
    std::vector<ScenarioError>& errors() { return errors_; }
    std::size_t error_count() const { return errors_.size(); }

    // ---- positions and errors
    SourceLocation locate(const std::string& pointer, bool at_key) const;
    void error(const std::string& pointer, std::string message);
    void error_at_key(const std::string& pointer, std::string message);

    // ---- generic checks
    static Field field(const Json& object, const std::string& pointer, std::string_view key);
    static Field field(const Field& object, std::string_view key) { return field(*object, object.pointer, key); }
    bool is_object(const Json& value, const std::string& pointer, std::string_view what = "an object");
    bool is_object(const Field& f, std::string_view what = "an object") { return is_object(*f, f.pointer, what); }
    // Every key must be one of `allowed`.
    void check_keys(const Json& object, const std::string& pointer, const Names& allowed);
    void check_keys(const Field& f, const Names& allowed) { check_keys(*f, f.pointer, allowed); }
    void require(const Field& f, const Names& keys);
    // A key that only applies in some cases, present in another.
    void reject(const Field& f, std::string_view key, const std::string& why);

    std::optional<std::uint64_t> uint_value(const Json& value, const std::string& pointer, std::uint64_t min,
                                            std::uint64_t max);
    template <class T>
    bool get_uint(const Field& f, T& out, std::uint64_t min = 0, std::uint64_t max = std::numeric_limits<T>::max()) {
        if (!f) return false;
        auto number = uint_value(*f, f.pointer, min, max);
        if (!number) return false;
        out = static_cast<T>(*number);
        return true;
    }
    template <class T>
    bool get_uint(const Field& f, std::optional<T>& out, std::uint64_t min = 0,
                  std::uint64_t max = std::numeric_limits<T>::max()) {
        T value{};
        if (!get_uint(f, value, min, max)) return false;
        out = value;
        return true;
    }

    bool get_bool(const Field& f, bool& out);
    bool get_bool(const Field& f, std::optional<bool>& out);

    bool string_value(const Json& value, const std::string& pointer, std::string& out, bool non_empty);
    bool get_string(const Field& f, std::string& out, bool non_empty = false) {
        return f && string_value(*f, f.pointer, out, non_empty);
    }
    bool get_string(const Field& f, std::optional<std::string>& out, bool non_empty = false);
    bool get_strings(const Field& f, std::vector<std::string>& out, bool non_empty_items);

    // A name from a closed list.
    bool name_value(const Json& value, const std::string& pointer, std::string& out, const Names& allowed,
                    std::string_view noun);
    bool get_name(const Field& f, std::string& out, const Names& allowed, std::string_view noun) {
        return f && name_value(*f, f.pointer, out, allowed, noun);
    }
    // A name from an enum's table (proto/names.hpp).
    template <class E>
    bool enum_value(const Json& value, const std::string& pointer, E& out, std::string_view noun) {
        std::string name;
        if (!name_value(value, pointer, name, names_of<E>(), noun)) return false;
        out = *named<E>(name);
        return true;
    }
    template <class E>
    bool get_enum(const Field& f, E& out, std::string_view noun) {
        return f && enum_value(*f, f.pointer, out, noun);
    }
    template <class E>
    bool get_enum(const Field& f, std::optional<E>& out, std::string_view noun) {
        E value{};
        if (!get_enum(f, value, noun)) return false;
        out = value;
        return true;
    }
    // An errno name ("EIO") as its number.
    bool get_errno(const Field& f, int& out);

private:
    std::string file_;
    json_text::PositionIndex positions_;
    std::vector<ScenarioError> errors_;
};

}  // namespace rmtfs_hil::engine
