#pragma once
/// Time sources: the system clock, and a test clock that only moves when told.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace teamflow::engine {

/// A source of the current time, in seconds since the epoch (UTC).
class Clock {
public:
    virtual ~Clock() = default;
    /// Now, in seconds since the epoch.
    virtual std::int64_t now() const = 0;
};

/// The system's clock.
class SystemClock final : public Clock {
public:
    std::int64_t now() const override {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

/// A clock for tests: starts where told and moves only with `set`/`advance`.
class TestClock final : public Clock {
public:
    /// 2026-01-05T09:00:00Z, the default start of `teamflow test`.
    static constexpr std::int64_t default_start = 1767603600;

    explicit TestClock(std::int64_t start = default_start) : now_(start) {}
    std::int64_t now() const override { return now_.load(std::memory_order_relaxed); }
    /// Sets the time.
    void set(std::int64_t t) { now_.store(t, std::memory_order_relaxed); }
    /// Moves the time on by `seconds`.
    void advance(std::int64_t seconds) { now_.fetch_add(seconds, std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> now_;
};

} // namespace teamflow::engine
