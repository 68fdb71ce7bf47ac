-- wrk script for bench/http-bench: creates Tickets records through the API until each wrk thread
-- has made its share (BENCH_PER_THREAD), writing the new records' ids to BENCH_IDS.<thread>.
local token = os.getenv("BENCH_TOKEN")
local per_thread = tonumber(os.getenv("BENCH_PER_THREAD"))
local prefix = os.getenv("BENCH_IDS")
local counter = 0
local threads = {}

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    table.insert(threads, thread)
end

created = 0
failed = 0
local out = nil

function init(args)
    out = io.open(prefix .. "." .. tid, "w")
    wrk.method = "POST"
    wrk.path = "/v1/modules/Tickets/records"
    wrk.body = '{"fields": {"title": "bench ticket"}}'
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. token
end

function response(status, headers, body)
    if status == 201 then
        local id = string.match(body, '"id"%s*:%s*"([^"]+)"')
        if id then
            out:write(id, "\n")
            out:flush()
            created = created + 1
        end
    else
        failed = failed + 1
    end
    if created >= per_thread then
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local c, f = 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("created")
        f = f + t:get("failed")
    end
    io.write(string.format("BENCH seeded=%d failed=%d\n", c, f))
end
