-- wrk script for bench/http-bench: POSTs the Cycle transition (a transition every state has) on a
-- random record of BENCH_IDS, on keep-alive connections, with the bearer token. Counts 2xx, 409
-- (two requests raced for one record: expected, reported apart) and anything else.
local token = os.getenv("BENCH_TOKEN")
local ids_file = os.getenv("BENCH_IDS")
local counter = 0
local threads = {}

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    table.insert(threads, thread)
end

local ids = {}
local headers = {}
ok = 0
conflict = 0
other = 0
other_status = ""

function init(args)
    for line in io.lines(ids_file) do
        if line ~= "" then
            ids[#ids + 1] = line
        end
    end
    math.randomseed(os.time() * 1000 + tid * 7919)
    headers["Content-Type"] = "application/json"
    headers["Authorization"] = "Bearer " .. token
end

function request()
    local id = ids[math.random(#ids)]
    return wrk.format("POST", "/v1/modules/Tickets/records/" .. id .. "/transitions/Cycle",
                      headers, "{}")
end

function response(status, hdrs, body)
    if status >= 200 and status < 300 then
        ok = ok + 1
    elseif status == 409 then
        conflict = conflict + 1
    else
        other = other + 1
        if other_status == "" then
            other_status = tostring(status) .. " " .. string.sub(body, 1, 200)
        end
    end
end

function done(summary, latency, requests)
    local o, c, x, first = 0, 0, 0, ""
    for _, t in ipairs(threads) do
        o = o + t:get("ok")
        c = c + t:get("conflict")
        x = x + t:get("other")
        if first == "" then
            first = t:get("other_status")
        end
    end
    local secs = summary.duration / 1e6
    io.write(string.format(
        "BENCH requests=%d ok=%d conflict=%d other=%d errors=%d seconds=%.2f rps=%.1f " ..
        "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n",
        summary.requests, o, c, x,
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.timeout, secs, summary.requests / secs,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000))
    if first ~= "" then
        io.write("BENCH first_other=" .. first .. "\n")
    end
end
