#include "engine/json_reader.hpp"

#include <cmath>

#include "proto/errno_names.hpp"

namespace rmtfs_hil::engine {

using wording::alternatives;
using wording::contains;
using wording::in_quotes;
using wording::suggestion;
using wording::unknown_name;

std::string SourceLocation::describe() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ScenarioError::describe() const {
    std::string out = where.file;
    if (where.line != 0) out += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
    out += ": ";
    if (!where.pointer.empty()) out += where.pointer + ": ";
    return out + message;
}

std::string found(const Json& value) {
    switch (value.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
        case Json::value_t::string: return "a string";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return value.dump();
        case Json::value_t::number_float:
            return std::isfinite(value.get<double>()) ? value.dump() : std::string("a number too large to represent");
        case Json::value_t::object: return "an object";
        case Json::value_t::array: return "an array";
        default: return "a value";
    }
}

std::string child(const std::string& pointer, std::string_view key) {
    return pointer + "/" + json_text::escape_pointer_token(key);
}
std::string child(const std::string& pointer, std::size_t index) { return pointer + "/" + std::to_string(index); }

SourceLocation JsonReader::locate(const std::string& pointer, bool at_key) const {
    std::string at = pointer;
    for (;;) {
        if (const json_text::ValuePosition* position = positions_.find(at)) {
            json_text::TextPosition p = at_key && at == pointer && position->key.known() ? position->key : position->value;
            return SourceLocation{file_, p.line, p.column, pointer};
        }
        if (at.empty()) return SourceLocation{file_, 0, 0, pointer};
        at.erase(at.rfind('/'));
    }
}

void JsonReader::error(const std::string& pointer, std::string message) {
    errors_.push_back(ScenarioError{locate(pointer, false), std::move(message)});
}

void JsonReader::error_at_key(const std::string& pointer, std::string message) {
    errors_.push_back(ScenarioError{locate(pointer, true), std::move(message)});
}

Field JsonReader::field(const Json& object, const std::string& pointer, std::string_view key) {
    auto member = object.find(std::string(key));
    if (member == object.end()) return {};
    return Field{&*member, child(pointer, key)};
}

bool JsonReader::is_object(const Json& value, const std::string& pointer, std::string_view what) {
    if (value.is_object()) return true;
    error(pointer, "expected " + std::string(what) + ", found " + found(value));
    return false;
}

void JsonReader::check_keys(const Json& object, const std::string& pointer, const Names& allowed) {
    for (const auto& [key, value] : object.items()) {
        if (contains(allowed, key)) continue;
        std::string message = "unknown key " + in_quotes(key);
        if (auto close = suggestion(key, allowed))
            message += "; did you mean '" + *close + "'?";
        else if (allowed.empty())
            message += " (expected no keys: {})";
        else if (allowed.size() <= 12)
            message += " (expected " + alternatives(allowed) + ")";
        error_at_key(child(pointer, key), message);
    }
}

void JsonReader::require(const Field& f, const Names& keys) {
    for (const std::string& key : keys)
        if (!f->contains(key)) error(f.pointer, "missing required key '" + key + "'");
}

void JsonReader::reject(const Field& f, std::string_view key, const std::string& why) {
    if (f->contains(std::string(key))) error_at_key(child(f.pointer, key), why);
}

std::optional<std::uint64_t> JsonReader::uint_value(const Json& value, const std::string& pointer, std::uint64_t min,
                                                    std::uint64_t max) {
    std::uint64_t number = 0;
    if (value.is_number_unsigned()) {
        number = value.get<std::uint64_t>();
    } else if (value.is_number_float()) {
        double d = value.get<double>();
        if (!std::isfinite(d)) {
            error(pointer, "out of range: the number is too large");
            return std::nullopt;
        }
        if (d < 0 || std::floor(d) != d) {
            error(pointer, "expected a non-negative integer, found " + found(value));
            return std::nullopt;
        }
        if (d >= 18446744073709551616.0) {
            error(pointer, "out of range: the number is above the maximum " + std::to_string(max));
            return std::nullopt;
        }
        number = static_cast<std::uint64_t>(d);
    } else {
        error(pointer, "expected a non-negative integer, found " + found(value));
        return std::nullopt;
    }
    if (number < min) {
        error(pointer, "out of range: " + std::to_string(number) + " is below the minimum " + std::to_string(min));
        return std::nullopt;
    }
    if (number > max) {
        error(pointer, "out of range: " + std::to_string(number) + " is above the maximum " + std::to_string(max));
        return std::nullopt;
    }
    return number;
}

bool JsonReader::get_bool(const Field& f, bool& out) {
    if (!f) return false;
    if (!f->is_boolean()) {
        error(f.pointer, "expected true or false, found " + found(*f));
        return false;
    }
    out = f->get<bool>();
    return true;
}

bool JsonReader::get_bool(const Field& f, std::optional<bool>& out) {
    bool value = false;
    if (!get_bool(f, value)) return false;
    out = value;
    return true;
}

bool JsonReader::string_value(const Json& value, const std::string& pointer, std::string& out, bool non_empty) {
    if (!value.is_string()) {
        error(pointer, "expected a string, found " + found(value));
        return false;
    }
    const auto& s = value.get_ref<const std::string&>();
    if (non_empty && s.empty()) {
        error(pointer, "must not be empty");
        return false;
    }
    out = s;
    return true;
}

bool JsonReader::get_string(const Field& f, std::optional<std::string>& out, bool non_empty) {
    std::string value;
    if (!get_string(f, value, non_empty)) return false;
    out = std::move(value);
    return true;
}

bool JsonReader::get_strings(const Field& f, std::vector<std::string>& out, bool non_empty_items) {
    if (!f) return false;
    if (!f->is_array()) {
        error(f.pointer, "expected an array of strings, found " + found(*f));
        return false;
    }
    std::vector<std::string> values;
    bool ok = true;
    for (std::size_t i = 0; i < f->size(); ++i) {
        std::string s;
        if (string_value((*f)[i], child(f.pointer, i), s, non_empty_items))
            values.push_back(std::move(s));
        else
            ok = false;
    }
    if (ok) out = std::move(values);
    return ok;
}

bool JsonReader::name_value(const Json& value, const std::string& pointer, std::string& out, const Names& allowed,
                            std::string_view noun) {
    if (!value.is_string()) {
        error(pointer, "expected " +
                           (allowed.size() <= 12 ? "one of " + alternatives(allowed) : "a " + std::string(noun)) +
                           ", found " + found(value));
        return false;
    }
    const auto& s = value.get_ref<const std::string&>();
    if (!contains(allowed, s)) {
        error(pointer, unknown_name(noun, s, allowed));
        return false;
    }
    out = s;
    return true;
}

bool JsonReader::get_errno(const Field& f, int& out) {
    if (!f) return false;
    if (!f->is_string()) {
        error(f.pointer, "expected an errno name such as 'EIO', found " + found(*f));
        return false;
    }
    const auto& name = f->get_ref<const std::string&>();
    auto number = errno_named(name);
    if (!number) {
        error(f.pointer, unknown_name("errno name", name, errno_names()));
        return false;
    }
    out = *number;
    return true;
}

}  // namespace rmtfs_hil::engine
