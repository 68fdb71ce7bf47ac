#pragma once
/// Refusals as values: a stable code, human-readable messages, and a small `Result<T>`.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace teamflow::engine {

/// Why an operation was refused; each code is stable and maps to one HTTP status.
enum class ErrorCode {
    NotOwner,           ///< the caller is not among the transition's owners (403)
    NotAllowed,         ///< the caller may not do this at all, e.g. file a request there (403)
    NotVisible,         ///< the record exists but the caller may not see it (404)
    NotFound,           ///< no such record, module or user (404)
    NoSuchTransition,   ///< no transition of that name from the record's state (404)
    Conflict,           ///< the record changed meanwhile (version mismatch) (409)
    AlreadyDone,        ///< a parallel sub-transition that was already done (409)
    CriteriaFailed,     ///< a `when` of the transition (or the blueprint) is false (422)
    RequiredMissing,    ///< a required field has no value (422)
    ValidationFailed,   ///< one or more `validate` rules failed (422)
    ChecklistIncomplete,///< checklist items were not ticked (422)
    NoteRequired,       ///< the transition needs a note (422)
    GovernedByBlueprint,///< a direct update of a governed state field (422)
    UnknownField,       ///< a field the module lacks (422)
    WrongType,          ///< a value that does not fit the field (422)
    NotUnique,          ///< a unique field's value is taken (422)
    NotRequestable,     ///< a request fills a field that is not a request field (422)
    UnknownState,       ///< a state that is not one of the blueprint's (422)
    Invalid,            ///< any other well-formed but refused input (422)
    Internal,           ///< a broken invariant or a store failure (500/503)
    StoreUnavailable,   ///< the store cannot be reached (connection refused or lost) (503)
    Constraint,         ///< the store refused a write that breaks one of its constraints (409)
};

/// The stable code text (`not-owner`, `criteria-failed`, …).
std::string_view code_name(ErrorCode code);
/// The HTTP status the code becomes.
int http_status(ErrorCode code);

/// One message of a refusal; `field` names the field concerned, when there is one.
struct ErrorItem {
    std::string field;
    std::string message;
};

/// A refusal: its code, a one-line summary and every message.
struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string detail;
    std::vector<ErrorItem> items;

    /// Adds one message.
    Error& add(std::string field, std::string message) {
        items.push_back({std::move(field), std::move(message)});
        return *this;
    }
    /// The summary followed by every message, `; `-separated.
    std::string to_string() const;
};

/// Makes an error with a summary.
inline Error make_error(ErrorCode code, std::string detail) {
    Error e;
    e.code = code;
    e.detail = std::move(detail);
    return e;
}

/// A value or an `Error`; no exceptions cross the engine's API.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { assert(ok()); return std::get<0>(v_); }
    const T& value() const { assert(ok()); return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { assert(!ok()); return std::get<1>(v_); }
    Error& error() { assert(!ok()); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

/// The result of an operation without a value.
struct Ok {};
/// `Result<Ok>`: success or a refusal.
using Status = Result<Ok>;

} // namespace teamflow::engine
