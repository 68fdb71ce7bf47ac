#pragma once
// The conformance fixture: a store from a factory, a small definition set and an engine.

#include "store_factory.hpp"
#include "teamflow/engine/engine.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace teamflow::testing {

/// Every factory the suite runs with (`memory`, `sqlite`, `postgresql`).
std::vector<StoreFactory> store_factories();

/// Removes what a test left behind at a location (temp files); no-op for other stores.
void discard_store(const StoreFactory& factory, const std::string& location);

/// Version 1 of the conformance definitions: one file.
std::vector<std::pair<std::string, std::string>> conformance_files();

/// Compiles a set of files as a definitions version (fails the test when it does not compile).
std::shared_ptr<const engine::Definitions>
compile_files(const std::vector<std::pair<std::string, std::string>>& files,
              std::int64_t version = 1);

class StoreTest : public ::testing::TestWithParam<StoreFactory> {
protected:
    void SetUp() override;
    void TearDown() override;

    /// Closes the store (and its engine) and opens the same one again.
    void reopen();
    /// Builds the engine on the current store with `defs` (default: the conformance set).
    void start_engine(std::shared_ptr<const engine::Definitions> defs = nullptr);

    engine::UserId user(const std::string& id) const { return defs_->find_user(id); }
    std::uint32_t module(const std::string& name) const { return defs_->find_module(name); }
    std::uint32_t field(std::uint32_t m, const std::string& name) const {
        return defs_->modules[m].find_assignable(name);
    }
    /// Creates an account (named) through the engine.
    engine::RecordId account(const std::string& name);
    /// Creates a deal through the engine.
    engine::RecordId deal(const std::string& name, const char* amount = "100",
                          const std::string& who = "ann");
    /// A transition by name.
    engine::Result<engine::TransitionOutcome> go(engine::RecordId id, const std::string& name,
                                                 const std::string& who = "ann");
    /// The record as the store has it (fails the test when missing).
    engine::Record rec(engine::RecordId id);
    /// The text of a record's field.
    std::string text(engine::RecordId id, const std::string& f);

    std::string location_;
    std::unique_ptr<engine::Store> store_;
    std::shared_ptr<const engine::Definitions> defs_;
    engine::TestClock clock_;
    std::unique_ptr<engine::Engine> engine_;
};

} // namespace teamflow::testing
