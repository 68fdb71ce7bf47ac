-- wrk script for bench/http-bench: plain keep-alive GETs of the URL given to wrk; prints the same
-- BENCH line as transition.lua (every 2xx counted ok).
function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    io.write(string.format(
        "BENCH requests=%d ok=%d conflict=0 other=%d errors=%d seconds=%.2f rps=%.1f " ..
        "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n",
        summary.requests, summary.requests - summary.errors.status, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.timeout, secs, summary.requests / secs,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000))
end
