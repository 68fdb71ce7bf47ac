// Values: exact decimals, dates, date-times and durations.

#include "teamflow/engine/value.hpp"

#include <gtest/gtest.h>

using namespace teamflow::engine;

TEST(Decimal, ParsesAndPrintsExactly) {
    EXPECT_EQ(*parse_decimal("12.50"), 12'500'000);
    EXPECT_EQ(format_decimal(*parse_decimal("12.50")), "12.5");
    EXPECT_EQ(format_decimal(*parse_decimal("12.50"), 2), "12.50");
    EXPECT_EQ(format_decimal(*parse_decimal("0.1")), "0.1");
    EXPECT_EQ(format_decimal(*parse_decimal("-0.125")), "-0.125");
    EXPECT_EQ(format_decimal(*parse_decimal("100000")), "100000");
    EXPECT_EQ(format_decimal(*parse_decimal("0.000001")), "0.000001");
    EXPECT_EQ(format_decimal(*parse_decimal("+7")), "7");
    EXPECT_EQ(format_decimal(0, 2), "0.00");
    // 0.1 + 0.2 is exactly 0.3, unlike binary floating point.
    EXPECT_EQ(*parse_decimal("0.1") + *parse_decimal("0.2"), *parse_decimal("0.3"));
}

TEST(Decimal, RefusesMalformedOrInexact) {
    for (const char* bad : {"", "-", ".", "1.2.3", "abc", "1e5", "12,5", "0.0000001",
                            "99999999999999999999"}) {
        EXPECT_FALSE(parse_decimal(bad).has_value()) << bad;
    }
    EXPECT_TRUE(parse_decimal("1.5000000").has_value()); // trailing zeros are exact
}

TEST(Dates, RoundTrip) {
    EXPECT_EQ(*parse_date("1970-01-01"), 0);
    EXPECT_EQ(format_date(*parse_date("2026-03-11")), "2026-03-11");
    EXPECT_EQ(format_date(*parse_date("2024-02-29")), "2024-02-29");
    EXPECT_FALSE(parse_date("2025-02-29").has_value());
    EXPECT_FALSE(parse_date("2025-13-01").has_value());
    EXPECT_EQ(*parse_datetime("2026-01-05T09:00:00Z"), 1767603600);
    EXPECT_EQ(*parse_datetime("2026-01-05T11:00:00+02:00"), 1767603600);
    EXPECT_EQ(format_datetime(1767603600), "2026-01-05T09:00:00Z");
    EXPECT_EQ(format_date(-1), "1969-12-31");
}

TEST(Durations, ParseAndPrint) {
    EXPECT_EQ(*parse_duration("30d"), 30 * 86400);
    EXPECT_EQ(*parse_duration("2w"), 14 * 86400);
    EXPECT_EQ(*parse_duration("4h"), 4 * 3600);
    EXPECT_EQ(*parse_duration("15m"), 900);
    EXPECT_EQ(*parse_duration("20s"), 20);
    EXPECT_FALSE(parse_duration("5").has_value());
    EXPECT_FALSE(parse_duration("d").has_value());
    std::string s;
    append_duration(s, 36 * 3600);
    EXPECT_EQ(s, "36h");
}

TEST(Values, Equality) {
    const std::vector<std::string> users{"jeanne", "paul"};
    EXPECT_TRUE(values_equal(Value::none(), Value::none(), users));
    EXPECT_FALSE(values_equal(Value::none(), Value::integer(0), users));
    EXPECT_TRUE(values_equal(Value::user(1), Value::text("paul"), users));
    EXPECT_FALSE(values_equal(Value::user(0), Value::text("paul"), users));
    EXPECT_TRUE(values_equal(Value::date(1), Value::datetime(86400), users));
}
