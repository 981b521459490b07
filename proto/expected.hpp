// A value or the error that prevented it: how every decoder in proto/ answers.
// (std::expected is C++23; this is the small part of it the project needs.)
#pragma once

#include <utility>
#include <variant>

#include "proto/contract.hpp"

namespace rmtfs_hil {

template <class E>
struct Unexpected {
    E error;
};

template <class E>
Unexpected<E> unexpected(E error) {
    return Unexpected<E>{std::move(error)};
}

template <class T, class E>
class Expected {
public:
    Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Expected(Unexpected<E> failure) : state_(std::in_place_index<1>, std::move(failure.error)) {}

    bool has_value() const { return state_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        RMTFS_HIL_ASSERT(has_value(), "value() of an Expected that holds an error");
        return std::get<0>(state_);
    }
    const T& value() const& {
        RMTFS_HIL_ASSERT(has_value(), "value() of an Expected that holds an error");
        return std::get<0>(state_);
    }
    T&& value() && {
        RMTFS_HIL_ASSERT(has_value(), "value() of an Expected that holds an error");
        return std::get<0>(std::move(state_));
    }
    const E& error() const {
        RMTFS_HIL_ASSERT(!has_value(), "error() of an Expected that holds a value");
        return std::get<1>(state_);
    }

    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

private:
    std::variant<T, E> state_;
};

}  // namespace rmtfs_hil
