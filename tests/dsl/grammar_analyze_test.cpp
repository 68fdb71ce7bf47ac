// Grammar analysis: no rule may loop without consuming input or recurse without progress.

#include "../../dsl/src/grammar.hpp"

#include <gtest/gtest.h>
#include <tao/pegtl/contrib/analyze.hpp>

namespace teamflow::dsl {
namespace {

TEST(Grammar, AnalyzesWithoutIssues) {
    EXPECT_EQ(tao::pegtl::analyze<grammar::file>(1), 0u);
    EXPECT_EQ(tao::pegtl::analyze<grammar::next_declaration>(1), 0u);
    EXPECT_EQ(tao::pegtl::analyze<grammar::expression_only>(1), 0u);
}

} // namespace
} // namespace teamflow::dsl
