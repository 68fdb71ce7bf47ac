#pragma once
/// `teamflow test`: runs the `test` blocks of a definition set against an in-memory engine.

#include <iosfwd>
#include <string>

namespace teamflow::dsl {
struct DefinitionSet;
}

namespace teamflow::engine {

/// Options of a test run.
struct TestOptions {
    std::string filter;   ///< run only tests whose name contains this (empty: all)
    bool verbose = false; ///< also print each step as it runs
};

/// Runs every test (each from an empty in-memory store, a test clock at 2026-01-05T09:00:00Z
/// unless `clock`), printing `PASS name` / `FAIL name` (with `file:line:col:` and what the failing
/// step saw) per test and a closing `N passed, M failed` line. Returns 0 when all passed, 1 when a
/// test failed or the set does not compile.
int run_tests(const dsl::DefinitionSet& set, std::ostream& out, const TestOptions& options = {});

} // namespace teamflow::engine
