#pragma once
// The stores the conformance suite runs against. Each instance of the suite gets a factory that
// opens a fresh, empty store and can reopen the same one (durable stores only).
//
// The PostgreSQL store's tests provide `make_pg_store` (a strong definition in any
// `tests/store/*_test.cpp`); until then a weak fallback reports it as not built. The
// `postgresql` instance reads `TEAMFLOW_TEST_PG_URL`; when it is unset the tests FAIL if `CI` is
// set, and are skipped otherwise.

#include "teamflow/engine/result.hpp"
#include "teamflow/engine/store.hpp"

#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace teamflow::testing {

/// Opens a PostgreSQL store on `url`; with `fresh`, every table is emptied (or the schema
/// recreated) first, so the store starts empty; without it, the data is kept (a reopen).
engine::Result<std::unique_ptr<engine::Store>> make_pg_store(const std::string& url, bool fresh);

/// How the suite opens one kind of store.
struct StoreFactory {
    std::string name;     ///< `memory`, `sqlite`, `postgresql`
    bool durable = false; ///< whether `reopen` works (data survives closing the store)
    /// Opens a fresh, empty store; `location` receives what `reopen` needs (a path, a URL).
    std::function<engine::Result<std::unique_ptr<engine::Store>>(std::string& location)> open;
    /// Opens the store at `location` again, keeping its data.
    std::function<engine::Result<std::unique_ptr<engine::Store>>(const std::string& location)>
        reopen;
    /// Why this store cannot be tested here (empty: it can); the test skips or fails with it.
    std::function<std::string()> unavailable;
};

/// Test names and messages show the factory by its name.
inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

} // namespace teamflow::testing
